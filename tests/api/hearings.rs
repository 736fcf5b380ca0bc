//! Hearings and invitations: validation, the hearing's states and their audit entries,
//! invitation links and their QR codes.

use axum::http::{header, StatusCode};
use serde_json::json;

use crate::support::{TestApp, Who};

#[tokio::test]
async fn hearings_are_created_validated_invited_opened_and_closed() {
    let app = TestApp::start().await;
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    assert_eq!(
        app.hearings(Who::Stranger).await.status,
        StatusCode::UNAUTHORIZED
    );
    for (body, code) in [
        (
            json!({ "case_number": "", "title": "t" }),
            "bad_case_number",
        ),
        (
            json!({ "case_number": "c", "title": "t", "locale": "fr" }),
            "bad_locale",
        ),
        (
            json!({ "case_number": "c", "title": "t", "layout": "../../etc" }),
            "bad_layout",
        ),
        (
            json!({ "case_number": "c", "title": "t", "scheduled_at": "tomorrow" }),
            "bad_time",
        ),
        (json!({ "title": "t" }), "bad_json"),
    ] {
        let r = app.post_hearing(clerk, body.clone()).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, code.to_owned()),
            "{body}"
        );
    }
    let id = app.create_hearing(&cookie).await;
    let list = app.hearings(clerk).await.json();
    assert_eq!(list["hearings"][0]["id"], id.as_str());
    assert_eq!(list["hearings"][0]["state"], "scheduled");
    assert_eq!(list["hearings"][0]["locale"], "zh");

    let inv = app
        .post_invitation(
            &cookie,
            &id,
            json!({ "role": "plaintiff", "name": "Plaintiff Sun" }),
        )
        .await;
    assert_eq!(inv.status, StatusCode::CREATED);
    let inv = inv.json();
    let token = inv["token"].as_str().unwrap().to_owned();
    assert_eq!(
        inv["url"],
        format!("{}/join?t={token}", app.state.settings().public_url())
    );
    assert_eq!(inv["invitation"]["seat"], "plaintiff");
    let claims = app.state.check_token(&token).await.unwrap();
    assert_eq!(
        (claims.hearing.as_str(), claims.role.as_str()),
        (id.as_str(), "plaintiff")
    );

    let bad_seat = app
        .post_invitation(
            &cookie,
            &id,
            json!({ "role": "witness", "name": "W", "seat": "presiding_judge" }),
        )
        .await;
    assert_eq!(bad_seat.code(), "bad_seat");
    let bad_role = app
        .post_invitation(&cookie, &id, json!({ "role": "judge", "name": "W" }))
        .await;
    assert_eq!(bad_role.code(), "bad_json");

    let r = app.set_state(&cookie, &id, "paused").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "bad_transition".to_owned())
    );
    assert_eq!(
        app.set_state(&cookie, &id, "open").await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.set_state(&cookie, &id, "paused").await.status,
        StatusCode::OK
    );
    let closed = app.set_state(&cookie, &id, "closed").await;
    assert_eq!(closed.json()["state"], "closed");
    assert_eq!(
        app.set_state(&cookie, &id, "open").await.code(),
        "bad_transition"
    );
    // A closed hearing's links no longer admit anyone.
    assert!(app.state.check_token(&token).await.is_err());
    let late = app
        .post_invitation(&cookie, &id, json!({ "role": "witness", "name": "W" }))
        .await;
    assert_eq!(late.code(), "hearing_closed");

    assert_eq!(
        app.audit_details("hearing_state").await,
        vec![
            json!({"from": "scheduled", "to": "open"}),
            json!({"from": "open", "to": "paused"}),
            json!({"from": "paused", "to": "closed"})
        ]
    );
    assert_eq!(
        app.state.store().verify_audit_chain().await.unwrap() as usize,
        app.audit_actions().await.len()
    );
}

/// Draws the QR SVG the server made (`<rect>` background, one `<path>` of
/// `M{x} {y}h{w}v{h}H{x}V{y}` dark rectangles, as the `qrcode` crate writes it) into a
/// greyscale picture, one pixel per SVG unit.
fn rasterise_qr_svg(svg: &str) -> (usize, usize, Vec<u8>) {
    let attr = |name: &str| -> usize {
        let at = svg.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap()
    };
    let (w, h) = (attr("width"), attr("height"));
    let mut luma = vec![255u8; w * h];
    let d_at = svg.find(" d=\"").expect("a path") + 4;
    let d = &svg[d_at..d_at + svg[d_at..].find('"').unwrap()];
    let mut rects = 0;
    for cmd in d.split('M').filter(|c| !c.is_empty()) {
        // "X Y" "hW" "vH" "HX" "VY"
        let (xy, rest) = cmd.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (rw, rest) = rest.split_once('v').unwrap();
        let (rh, _) = rest.split_once('H').unwrap();
        let [x, y, rw, rh]: [usize; 4] = [x, y, rw, rh].map(|n| n.parse().unwrap());
        for row in y..y + rh {
            luma[row * w + x..row * w + x + rw].fill(0);
        }
        rects += 1;
    }
    assert!(
        rects > 100,
        "a QR code has many dark modules, found {rects}"
    );
    (w, h, luma)
}

#[tokio::test]
async fn invitation_links_come_as_qr_codes_that_scan_back_to_the_link() {
    let app = TestApp::start().await;
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    let id = app.create_hearing(&cookie).await;
    let inv = app.invite(&cookie, &id, "plaintiff", "Plaintiff Sun").await;
    let (url, token) = (inv.url.as_str(), inv.token.as_str());
    let inv_id = inv.id.as_str();
    let qr_path = format!("/api/hearings/{id}/invitations/{inv_id}/qr.svg");
    assert_eq!(inv.json["qr"], qr_path.as_str());

    let qr = app.invitation_qr(clerk, &id, inv_id).await;
    assert_eq!(qr.status, StatusCode::OK, "{}", qr.json());
    assert_eq!(qr.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert_eq!(qr.headers[header::CACHE_CONTROL], "no-store");
    let svg = String::from_utf8(qr.body.clone()).unwrap();
    assert!(
        !svg.contains(token),
        "the picture, not the text, carries the link"
    );
    let (w, h, luma) = rasterise_qr_svg(&svg);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    let (_, scanned) = grids[0].decode().unwrap();
    assert_eq!(
        scanned, url,
        "the QR code scans back to the invitation link"
    );

    // Only a portal session may ask: not a party's invitation, not a stranger.
    let party = app.invitation_qr(Who::Invitation(token), &id, inv_id).await;
    assert_eq!(
        (party.status, party.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated".to_owned())
    );
    let stranger = app.invitation_qr(Who::Stranger, &id, inv_id).await;
    assert_eq!(
        (stranger.status, stranger.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated".to_owned())
    );
    // Not through another hearing, and not once revoked.
    let other = app.create_hearing(&cookie).await;
    assert_eq!(
        app.invitation_qr(clerk, &other, inv_id).await.code(),
        "not_found"
    );
    app.revoke(&cookie, &id, inv_id).await;
    let revoked = app.invitation_qr(clerk, &id, inv_id).await;
    assert_eq!(
        (revoked.status, revoked.code()),
        (StatusCode::CONFLICT, "invitation_inactive".to_owned())
    );
}

//! The server's outer surface: the portal's pages, the permission table, the OpenAPI document
//! against the routes, and the same API on PostgreSQL.

use axum::http::{header, Method, StatusCode};
use serde_json::json;

use crate::support::{TestApp, Who};

#[tokio::test]
async fn portal_pages_are_served_and_nothing_else_is() {
    let app = TestApp::start().await;
    let index = app.get("/portal/", Who::Stranger).await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.text().contains("portal.js"));
    assert!(index.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    assert_eq!(
        app.get("/portal/i18n.js", Who::Stranger).await.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        app.get("/portal/..%2FCargo.toml", Who::Stranger)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let table = app.permissions().await.json();
    assert_eq!(
        table["rows"].as_array().unwrap().len(),
        courtroom::permissions::TABLE.len()
    );
}

#[tokio::test]
async fn every_documented_endpoint_exists_and_refuses_strangers() {
    use courtroom::api::routes::openapi::{Auth, ENDPOINTS};
    let app = TestApp::start().await;
    let doc = app.openapi().await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for e in ENDPOINTS {
        assert!(
            doc["paths"][e.path][e.method].is_object(),
            "{} {} undocumented",
            e.method,
            e.path
        );
        let uri = e
            .path
            .replace("{pid}", "1")
            .replace('{', "x")
            .replace('}', "");
        let method = Method::from_bytes(e.method.to_uppercase().as_bytes()).unwrap();
        let body = e.body.map(|_| json!({}));
        let r = app.call(method, &uri, Who::Stranger, body, &[]).await;
        let expected = match e.auth {
            Auth::Session | Auth::Invitation => StatusCode::UNAUTHORIZED,
            Auth::None if e.body.is_some() => StatusCode::BAD_REQUEST,
            // A public hearing's broadcast: no hearing `xid`, nothing to show.
            Auth::None if e.path.contains("{id}") => StatusCode::NOT_FOUND,
            Auth::None => StatusCode::OK,
        };
        assert_eq!(r.status, expected, "{} {uri}: {}", e.method, r.text());
    }
}

#[tokio::test]
async fn the_api_runs_on_postgresql_too() {
    let app = TestApp::builder().postgres().start().await;
    let cookie = app.login_clerk().await;
    let id = app.create_hearing(&cookie).await;
    assert_eq!(
        app.set_state(&cookie, &id, "open").await.status,
        StatusCode::OK
    );
    let list = app.hearings(Who::Session(&cookie)).await.json();
    assert_eq!(list["hearings"][0]["state"], "open");
    let audit = app.verify_audit(Who::Session(&cookie)).await.json();
    assert_eq!(audit["ok"], true);
    assert_eq!(audit["entries"], 3, "login, hearing created, state");
}

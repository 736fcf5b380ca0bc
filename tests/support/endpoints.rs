//! One [`TestApp`] method per endpoint the tests call, grouped as the routes are (accounts,
//! hearings and invitations, monitor and scene, recordings, audit and documents). Each returns
//! the [`Reply`] as it is, except the few that make something for the test and check it worked
//! (`login_clerk`, `create_hearing`, `invite`).

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::app::{session_cookie, Invitation, Reply, TestApp, Who, CLERK, PASSWORD};

impl TestApp {
    // --- Accounts ---------------------------------------------------------------------------

    /// `POST /api/login`.
    pub async fn login(&self, user: &str, password: &str) -> Reply {
        self.post(
            "/api/login",
            Who::Stranger,
            json!({ "username": user, "password": password }),
        )
        .await
    }

    /// Logs in as the clerk; returns the `Cookie` header value for [`Who::Session`].
    pub async fn login_clerk(&self) -> String {
        let r = self.login(CLERK, PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        session_cookie(&r)
    }

    /// `POST /api/logout`.
    pub async fn logout(&self, who: Who<'_>) -> Reply {
        self.post("/api/logout", who, json!({})).await
    }

    /// `GET /api/me`.
    pub async fn me(&self, who: Who<'_>) -> Reply {
        self.get("/api/me", who).await
    }

    // --- Hearings and invitations -----------------------------------------------------------

    /// `GET /api/hearings`.
    pub async fn hearings(&self, who: Who<'_>) -> Reply {
        self.get("/api/hearings", who).await
    }

    /// `POST /api/hearings` with this body.
    pub async fn post_hearing(&self, who: Who<'_>, body: Value) -> Reply {
        self.post("/api/hearings", who, body).await
    }

    /// Creates a scheduled hearing as the session `cookie`; returns its id.
    pub async fn create_hearing(&self, cookie: &str) -> String {
        let r = self
            .post_hearing(
                Who::Session(cookie),
                json!({ "case_number": "(2026) Test 1", "title": "Test hearing", "locale": "zh",
                        "scheduled_at": "2026-03-01T09:30:00+08:00" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()["hearing"]["id"].as_str().unwrap().to_owned()
    }

    /// `POST /api/hearings/{id}/state`.
    pub async fn set_state(&self, cookie: &str, id: &str, to: &str) -> Reply {
        self.post(
            &format!("/api/hearings/{id}/state"),
            Who::Session(cookie),
            json!({ "state": to }),
        )
        .await
    }

    /// `POST /api/hearings/{id}/invitations` with this body.
    pub async fn post_invitation(&self, cookie: &str, id: &str, body: Value) -> Reply {
        self.post(
            &format!("/api/hearings/{id}/invitations"),
            Who::Session(cookie),
            body,
        )
        .await
    }

    /// Invites `name` as `role` to hearing `id`; the clerk must get `201 Created`.
    pub async fn invite(&self, cookie: &str, id: &str, role: &str, name: &str) -> Invitation {
        let r = self
            .post_invitation(cookie, id, json!({ "role": role, "name": name }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let json = r.json();
        Invitation {
            token: json["token"].as_str().unwrap().to_owned(),
            url: json["url"].as_str().unwrap().to_owned(),
            id: json["invitation"]["id"].as_str().unwrap().to_owned(),
            json,
        }
    }

    /// `DELETE /api/hearings/{id}/invitations/{invitation}`: revokes it.
    pub async fn revoke(&self, cookie: &str, id: &str, invitation: &str) -> Reply {
        self.delete(
            &format!("/api/hearings/{id}/invitations/{invitation}"),
            Who::Session(cookie),
        )
        .await
    }

    /// `GET /api/hearings/{id}/invitations/{invitation}/qr.svg`.
    pub async fn invitation_qr(&self, who: Who<'_>, id: &str, invitation: &str) -> Reply {
        self.get(
            &format!("/api/hearings/{id}/invitations/{invitation}/qr.svg"),
            who,
        )
        .await
    }

    // --- Monitor and scene ------------------------------------------------------------------

    /// `GET /api/hearings/{id}/monitor` (portal).
    pub async fn monitor(&self, who: Who<'_>, id: &str) -> Reply {
        self.get(&format!("/api/hearings/{id}/monitor"), who).await
    }

    /// `GET /api/hearing/monitor` (an invitee's own hearing).
    pub async fn invitee_monitor(&self, who: Who<'_>) -> Reply {
        self.get("/api/hearing/monitor", who).await
    }

    /// `GET /api/hearings/{id}/monitor/composite.jpg` (portal).
    pub async fn composite(&self, who: Who<'_>, id: &str) -> Reply {
        self.get(&format!("/api/hearings/{id}/monitor/composite.jpg"), who)
            .await
    }

    /// `GET /api/hearing/monitor/composite.jpg` (an invitee's own hearing).
    pub async fn invitee_composite(&self, who: Who<'_>) -> Reply {
        self.get("/api/hearing/monitor/composite.jpg", who).await
    }

    /// `GET /api/hearings/{id}/view`.
    pub async fn view(&self, who: Who<'_>, id: &str) -> Reply {
        self.get(&format!("/api/hearings/{id}/view"), who).await
    }

    /// `PUT /api/hearings/{id}/view` with `{"view": view}` (`null` unlocks).
    pub async fn lock_view(&self, who: Who<'_>, id: &str, view: Option<&str>) -> Reply {
        self.put(
            &format!("/api/hearings/{id}/view"),
            who,
            json!({ "view": view }),
        )
        .await
    }

    /// `GET /api/hearings/{id}/seats/{seat}/key`.
    pub async fn seat_key(&self, who: Who<'_>, id: &str, seat: &str) -> Reply {
        self.get(&format!("/api/hearings/{id}/seats/{seat}/key"), who)
            .await
    }

    /// `PUT /api/hearings/{id}/seats/{seat}/key` with these key settings.
    pub async fn adjust_key(&self, who: Who<'_>, id: &str, seat: &str, params: Value) -> Reply {
        self.put(&format!("/api/hearings/{id}/seats/{seat}/key"), who, params)
            .await
    }

    /// `POST /api/hearings/{id}/participants/{participant}/mute`.
    pub async fn mute(&self, who: Who<'_>, id: &str, participant: &str, muted: bool) -> Reply {
        self.post(
            &format!("/api/hearings/{id}/participants/{participant}/mute"),
            who,
            json!({ "muted": muted }),
        )
        .await
    }

    /// `POST /api/hearings/{id}/participants/{participant}/remove`.
    pub async fn remove(&self, who: Who<'_>, id: &str, participant: &str) -> Reply {
        self.post(
            &format!("/api/hearings/{id}/participants/{participant}/remove"),
            who,
            json!({}),
        )
        .await
    }

    // --- Recordings -------------------------------------------------------------------------

    /// `POST /api/hearings/{id}/recording/start`.
    pub async fn start_recording(&self, who: Who<'_>, id: &str) -> Reply {
        self.post(
            &format!("/api/hearings/{id}/recording/start"),
            who,
            json!({}),
        )
        .await
    }

    /// `POST /api/hearings/{id}/recording/stop`.
    pub async fn stop_recording(&self, who: Who<'_>, id: &str) -> Reply {
        self.post(
            &format!("/api/hearings/{id}/recording/stop"),
            who,
            json!({}),
        )
        .await
    }

    /// `GET /api/hearings/{id}/recordings`.
    pub async fn recordings(&self, who: Who<'_>, id: &str) -> Reply {
        self.get(&format!("/api/hearings/{id}/recordings"), who)
            .await
    }

    /// `GET /api/recordings/{recording}/files`.
    pub async fn recording_files(&self, who: Who<'_>, recording: &str) -> Reply {
        self.get(&format!("/api/recordings/{recording}/files"), who)
            .await
    }

    /// `GET /api/recordings/{recording}/files/{name}`, with a `Range` header if given. `name`
    /// goes into the URI as written.
    pub async fn download(
        &self,
        who: Who<'_>,
        recording: &str,
        name: &str,
        range: Option<&str>,
    ) -> Reply {
        let uri = format!("/api/recordings/{recording}/files/{name}");
        let headers: Vec<(&str, &str)> = range.map(|r| vec![("range", r)]).unwrap_or_default();
        self.call(Method::GET, &uri, who, None, &headers).await
    }

    /// `GET /api/recordings/{recording}/bundle.zip`.
    pub async fn bundle(&self, who: Who<'_>, recording: &str) -> Reply {
        self.get(&format!("/api/recordings/{recording}/bundle.zip"), who)
            .await
    }

    /// `GET /api/recordings/{recording}/evidence.zip`.
    pub async fn evidence(&self, who: Who<'_>, recording: &str) -> Reply {
        self.get(&format!("/api/recordings/{recording}/evidence.zip"), who)
            .await
    }

    /// `GET /api/recordings/{recording}/verify`.
    pub async fn verify_recording(&self, who: Who<'_>, recording: &str) -> Reply {
        self.get(&format!("/api/recordings/{recording}/verify"), who)
            .await
    }

    // --- Audit, documents, pages ------------------------------------------------------------

    /// `GET /api/audit/verify`.
    pub async fn verify_audit(&self, who: Who<'_>) -> Reply {
        self.get("/api/audit/verify", who).await
    }

    /// `GET /api/openapi.json`.
    pub async fn openapi(&self) -> Reply {
        self.get("/api/openapi.json", Who::Stranger).await
    }

    /// `GET /api/permissions`.
    pub async fn permissions(&self) -> Reply {
        self.get("/api/permissions", Who::Stranger).await
    }
}

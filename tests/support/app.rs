//! [`TestApp`]: the server in this process, as the API and signalling tests see it.
//!
//! It listens on a free loopback port (for WebSockets) with a fresh data folder and its own
//! database, has a clerk account (`li`, [`PASSWORD`]), and answers HTTP through the router
//! itself (`tower::ServiceExt::oneshot`), so a test's URI reaches the routes exactly as written,
//! odd escapes and `..` included.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use courtroom::api::auth::unix_now;
use courtroom::api::{router, AppState};
use courtroom::config::{Settings, Sources};
use courtroom::hearing::{Admission, Hearing, Joined};
use courtroom::store::testing::TestDatabase;
use courtroom::store::{AccountRole, Backend, HearingState};
use serde_json::Value;
use tower::ServiceExt;

use super::signalling::Signalling;

/// The clerk account's user name.
pub const CLERK: &str = "li";
/// The clerk account's password.
pub const PASSWORD: &str = "correct horse battery";

/// Who makes a request.
#[derive(Clone, Copy, Debug)]
pub enum Who<'a> {
    /// Nobody in particular: no cookie, no token.
    Stranger,
    /// A portal session: the `Cookie` header's value (`courtroom_session=...`).
    Session(&'a str),
    /// An invitee: the invitation token, sent as `Authorization: Bearer`.
    Invitation(&'a str),
}

/// One HTTP answer.
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON; panics with the body if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.text()))
    }

    /// The error code of a JSON error body (`error.code`), or "".
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The body as text (lossy), for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An invitation the clerk made: its token, link and record.
pub struct Invitation {
    /// The signed token (the link's `t`).
    pub token: String,
    /// The link to send.
    pub url: String,
    /// The invitation's id.
    pub id: String,
    /// The whole answer.
    pub json: Value,
}

/// How to start a [`TestApp`].
pub struct TestAppBuilder {
    sets: Vec<String>,
    backend: Backend,
    demo: bool,
}

impl TestAppBuilder {
    /// One more `--set key=value` setting.
    pub fn set(mut self, setting: &str) -> Self {
        self.sets.push(setting.to_owned());
        self
    }

    /// Stores in a private PostgreSQL cluster instead of SQLite.
    pub fn postgres(mut self) -> Self {
        self.backend = Backend::Postgres;
        self
    }

    /// Also creates the demo hearing (open, one invitation per seat), as `courtroom demo` does.
    pub fn demo(mut self) -> Self {
        self.demo = true;
        self
    }

    /// Starts the server.
    pub async fn start(self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db = match self.backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::postgres().await),
        };
        let mut sets = vec![
            format!("data_dir=\"{}\"", dir.path().display()),
            "video.fps=10".into(),
        ];
        if let Some(db) = &db {
            sets.push(format!("database_url=\"{}\"", db.url));
        }
        sets.extend(self.sets);
        let settings =
            Arc::new(Settings::load_with_env(&Sources { file: None, sets }, Vec::new()).unwrap());
        let state = courtroom::server::prepare(settings).await.unwrap();
        courtroom::api::session::create_user(
            state.store(),
            CLERK,
            "Clerk Li",
            AccountRole::Clerk,
            PASSWORD,
        )
        .await
        .unwrap();
        let demo_tokens = if self.demo {
            let (_, invitations) = courtroom::server::create_demo(&state).await.unwrap();
            invitations
                .iter()
                .filter(|i| i.role != "public")
                .map(|i| (i.seat.clone(), i.url.split("t=").nth(1).unwrap().to_owned()))
                .collect()
        } else {
            Vec::new()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = router(state.clone());
        let app = router.clone();
        // Served as the binary serves it (timeouts, connect info); stops when dropped.
        let limits = courtroom::api::serve::Limits::from_settings(state.settings());
        let serving = tokio::spawn(courtroom::api::serve::serve(
            listener,
            app,
            limits,
            std::future::pending(),
        ));
        TestApp {
            state,
            addr,
            router,
            dir,
            demo_tokens,
            serving,
            _db: db,
        }
    }
}

/// The server under test, in this process. Stops serving, and stops its hearings, when dropped.
pub struct TestApp {
    /// Its state (settings, store, key, hearings).
    pub state: AppState,
    /// Where it listens.
    pub addr: SocketAddr,
    router: Router,
    dir: tempfile::TempDir,
    demo_tokens: Vec<(String, String)>,
    serving: tokio::task::JoinHandle<()>,
    _db: Option<TestDatabase>,
}

impl Drop for TestApp {
    /// Stops serving, then stops every running hearing and waits for its threads, so no
    /// render or encoder thread is still at work when the test binary exits (lavapipe compiling
    /// a shader while `exit` tears down LLVM's statics crashes the process after the tests).
    fn drop(&mut self) {
        self.serving.abort();
        for hearing in self.state.docket().drain() {
            let _ = hearing.shutdown();
        }
    }
}

impl TestApp {
    /// How to start one with other settings, on PostgreSQL, or with the demo hearing.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            sets: Vec::new(),
            backend: Backend::Sqlite,
            demo: false,
        }
    }

    /// Starts one with the test defaults: SQLite, 10 fps, no hearing yet.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// Starts one with the demo hearing and its invitations.
    pub async fn demo() -> Self {
        Self::builder().demo().start().await
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    // --- HTTP, any route --------------------------------------------------------------------

    /// Any request, with extra headers (`Range`, ...).
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        who: Who<'_>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        match who {
            Who::Stranger => {}
            Who::Session(cookie) => req = req.header(header::COOKIE, cookie),
            Who::Invitation(token) => {
                req = req.header(header::AUTHORIZATION, format!("Bearer {token}"))
            }
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Any request with a raw body of `content_type` (an SDP offer, ...).
    pub async fn call_raw(
        &self,
        method: Method,
        uri: &str,
        who: Who<'_>,
        content_type: &str,
        body: &str,
    ) -> Reply {
        self.call_bytes(method, uri, who, content_type, body.as_bytes().to_vec())
            .await
    }

    /// Any request with a body of bytes of `content_type` (an uploaded file, ...).
    pub async fn call_bytes(
        &self,
        method: Method,
        uri: &str,
        who: Who<'_>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, content_type);
        if let Who::Invitation(token) = who {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Who::Session(cookie) = who {
            req = req.header(header::COOKIE, cookie);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &str, who: Who<'_>) -> Reply {
        self.call(Method::GET, uri, who, None, &[]).await
    }

    /// `POST uri` with a JSON body.
    pub async fn post(&self, uri: &str, who: Who<'_>, body: Value) -> Reply {
        self.call(Method::POST, uri, who, Some(body), &[]).await
    }

    /// `PUT uri` with a JSON body.
    pub async fn put(&self, uri: &str, who: Who<'_>, body: Value) -> Reply {
        self.call(Method::PUT, uri, who, Some(body), &[]).await
    }

    /// `DELETE uri`.
    pub async fn delete(&self, uri: &str, who: Who<'_>) -> Reply {
        self.call(Method::DELETE, uri, who, None, &[]).await
    }

    // --- The audit trail, from the store ------------------------------------------------
    /// Every audit entry, oldest first: (action, detail).
    pub async fn audit_actions(&self) -> Vec<(String, Value)> {
        self.state
            .store()
            .audit_entries(None, None, 1000)
            .await
            .unwrap()
            .into_iter()
            .rev()
            .map(|e| (e.action, serde_json::from_str(&e.detail).unwrap()))
            .collect()
    }

    /// The actions of the audit trail, oldest first.
    pub async fn audit_action_names(&self) -> Vec<String> {
        self.audit_actions()
            .await
            .into_iter()
            .map(|(a, _)| a)
            .collect()
    }

    /// The details of the audit entries with this action, oldest first.
    pub async fn audit_details(&self, action: &str) -> Vec<Value> {
        self.audit_actions()
            .await
            .into_iter()
            .filter(|(a, _)| a == action)
            .map(|(_, d)| d)
            .collect()
    }

    // --- Live hearings ----------------------------------------------------------------------

    /// Seats the holder of `token` in its (open) hearing as the signalling session would,
    /// without a socket or media.
    pub async fn seat_invitee(&self, live: &Hearing, token: &str, name: &str) -> Joined {
        let claims = self.state.check_token(token).await.unwrap();
        live.join(Admission {
            invitation_id: claims.inv.clone(),
            role: claims.role,
            seat: live.layout().seat_index(&claims.seat).unwrap(),
            seat_id: claims.seat.clone(),
            name: name.into(),
        })
        .unwrap()
    }

    // --- The demo hearing and signalling ----------------------------------------------------

    /// The demo invitation token of `seat` (started with [`TestAppBuilder::demo`]).
    pub fn token(&self, seat: &str) -> String {
        self.demo_tokens
            .iter()
            .find(|(s, _)| s == seat)
            .unwrap_or_else(|| panic!("no demo invitation for {seat}"))
            .1
            .clone()
    }

    /// The demo hearing's id.
    pub fn demo_hearing_id(&self) -> String {
        self.hearing_of(&self.token("clerk"))
    }

    /// The hearing an invitation token is for.
    pub fn hearing_of(&self, token: &str) -> String {
        self.state.key().verify(token, unix_now()).unwrap().hearing
    }

    /// Moves the demo hearing from `from` to `to` (the store, and the sockets waiting on it).
    pub async fn force_demo_state(&self, from: HearingState, to: HearingState) {
        assert!(self
            .state
            .set_hearing_state(&self.demo_hearing_id(), from, to)
            .await
            .unwrap());
    }

    /// A new WebSocket to `/ws`.
    pub async fn signalling(&self) -> Signalling {
        Signalling::connect(self.addr).await
    }

    /// `GET /healthz` over a real TCP connection answers 200.
    pub async fn healthy(&self) -> bool {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out.starts_with("HTTP/1.1 200")
    }
}

/// The `name=value` part of a reply's `Set-Cookie`, for a `Cookie` header.
pub fn session_cookie(reply: &Reply) -> String {
    let set = reply.headers[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

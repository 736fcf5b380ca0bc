//! The HTTP surface: the participant's page, the signalling WebSocket ([`ws`]), health, the
//! clerk portal and its REST API ([`routes`]). Handlers are thin; invitees authenticate with
//! the [`session::Invitee`] extractor, portal accounts with [`session::Clerk`]; what either may do
//! is decided by [`crate::permissions`] through [`AppState::authorize`]; every failure is an
//! [`error::ApiError`].

pub mod admin;
mod admission;
pub mod auth;
mod capacity;
pub mod csrf;
pub mod error;
pub mod forward;
pub mod headers;
pub mod keys;
pub mod metrics;
pub mod node;
mod placement;
pub mod public_cache;
pub mod routes;
pub mod serve;
pub mod session;
pub mod signalling;
pub mod sockets;
pub mod throttle;
pub mod whip;
pub mod ws;

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde_json::json;

use self::auth::{unix_now, Claims, TokenError, TokenKey};
use self::error::ApiError;
use self::session::LoginLimiter;
use crate::cluster::ClusterNode;
use crate::config::Settings;
use crate::hearing::pace::FramePace;
use crate::hearing::{Docket, Hearing, HearingEvent, NodeShare, ParticipantId, RecordingEnv};
use crate::permissions::{Action, Principal};
use crate::render::Gpu;
use crate::store::audit::actions;
use crate::store::{AuditEvent, HearingState, Store};

/// Shared state of the server. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    settings: Arc<Settings>,
    store: Store,
    /// The GPU and frame pace every hearing on this node shares.
    node: NodeShare,
    key: TokenKey,
    docket: Docket,
    limiter: LoginLimiter,
    /// Set once the server is stopping; signalling sessions watch it.
    stopping: tokio::sync::watch::Sender<bool>,
    whip: whip::WhipSessions,
    cluster: Arc<ClusterNode>,
    recording_env: RecordingEnv,
    sockets: Arc<sockets::SocketsPerAddress>,
    public_hearings: public_cache::PublicHearings,
}

impl AppState {
    /// Builds the state.
    pub fn new(settings: Arc<Settings>, store: Store, gpu: Arc<Gpu>, key: TokenKey) -> Self {
        let cluster = ClusterNode::local(&settings);
        Self::with_cluster(settings, store, gpu, key, cluster, RecordingEnv::default())
    }

    /// Builds the state of a node that places hearings through `cluster` and records with
    /// `recording_env` (the cluster's shared key, the upload spool).
    pub fn with_cluster(
        settings: Arc<Settings>,
        store: Store,
        gpu: Arc<Gpu>,
        key: TokenKey,
        cluster: Arc<ClusterNode>,
        recording_env: RecordingEnv,
    ) -> Self {
        let pace = Arc::new(FramePace::new(settings.capacity.shed_evenly));
        Self {
            inner: Arc::new(StateInner {
                settings,
                store,
                node: NodeShare { gpu, pace },
                key,
                docket: Docket::default(),
                limiter: LoginLimiter::default(),
                stopping: tokio::sync::watch::Sender::new(false),
                whip: whip::WhipSessions::default(),
                cluster,
                recording_env,
                sockets: Arc::default(),
                public_hearings: Default::default(),
            }),
        }
    }

    /// The public routes' readings of hearings, kept for a second.
    pub fn public_hearings(&self) -> &public_cache::PublicHearings {
        &self.inner.public_hearings
    }

    /// This node in the cluster (or the single node).
    pub fn cluster(&self) -> &Arc<ClusterNode> {
        &self.inner.cluster
    }

    /// Settings.
    pub fn settings(&self) -> &Arc<Settings> {
        &self.inner.settings
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The frame pace all hearings on this node keep.
    pub fn frame_pace(&self) -> &Arc<FramePace> {
        &self.inner.node.pace
    }

    /// The render device's adapter name.
    pub fn adapter_name(&self) -> &str {
        &self.inner.node.gpu.adapter_name
    }

    /// The invitation signing key.
    pub fn key(&self) -> &TokenKey {
        &self.inner.key
    }

    /// Checks a token's signature and expiry, that its invitation exists unrevoked, and that
    /// its hearing has not been closed.
    pub async fn check_token(&self, token: &str) -> Result<Claims, ApiError> {
        let claims = self.inner.key.verify(token, unix_now())?;
        match self.inner.store.invitation(&claims.inv).await? {
            Some(inv) if !inv.revoked && inv.hearing_id == claims.hearing => {}
            _ => return Err(ApiError::Token(TokenError::Invalid)),
        }
        match self.inner.store.hearing_summary(&claims.hearing).await? {
            Some(h) if h.state != HearingState::Closed => Ok(claims),
            _ => Err(ApiError::Token(TokenError::Invalid)),
        }
    }

    /// The live hearings, and each hearing id's event channel.
    pub fn docket(&self) -> &Docket {
        &self.inner.docket
    }

    /// Moves hearing `id` from state `from` to `to` in the store and, if it moved, tells every
    /// session of the hearing (also pages waiting for it to open). Returns whether it moved
    /// (`false`: it was not in state `from`).
    pub async fn set_hearing_state(
        &self,
        id: &str,
        from: HearingState,
        to: HearingState,
    ) -> Result<bool, ApiError> {
        let moved = self.inner.store.set_hearing_state(id, from, to).await?;
        self.inner.public_hearings.forget(id);
        if moved {
            if let Some(hearing) = self.running_hearing(id).await {
                // The public sees the slate while the hearing is not in session.
                hearing.broadcast().set_paused(to != HearingState::Open);
            }
            self.inner.docket.publish(id, HearingEvent::State(to));
            self.tell_other_nodes(id, to).await;
        }
        Ok(moved)
    }

    /// Tells every signalling session that the server is stopping (they tell their pages and
    /// close). Idempotent.
    pub fn begin_stop(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Becomes `true` when the server starts stopping ([`AppState::begin_stop`]).
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.stopping.subscribe()
    }

    /// The live WHIP (RFC 9725) ingest sessions.
    pub fn whip(&self) -> &whip::WhipSessions {
        &self.inner.whip
    }

    /// Open signalling sockets per client address.
    pub fn sockets(&self) -> &Arc<sockets::SocketsPerAddress> {
        &self.inner.sockets
    }

    /// The login rate limiter.
    pub fn login_limiter(&self) -> &LoginLimiter {
        &self.inner.limiter
    }

    /// The one permission gate of the HTTP surface: asks [`crate::permissions::check`], and
    /// writes a refusal to the audit trail before answering [`ApiError::Forbidden`].
    pub async fn authorize(
        &self,
        who: &Principal<'_>,
        actor: &str,
        action: Action,
        hearing: Option<&str>,
    ) -> Result<(), ApiError> {
        match crate::permissions::check(who, action, hearing) {
            Ok(()) => Ok(()),
            Err(refusal) => {
                tracing::info!(%actor, %action, hearing = ?hearing, "refused: {refusal}");
                self.audit(AuditEvent::new(
                    actor,
                    actions::PERMISSION_DENIED,
                    hearing,
                    json!({ "action": action.as_str(), "reason": refusal.to_string() }),
                ))
                .await;
                Err(ApiError::Forbidden)
            }
        }
    }

    /// Appends to the audit trail. A failure to write is logged loudly but does not fail the
    /// request that caused it.
    pub async fn audit(&self, event: AuditEvent) {
        if let Err(e) = self.inner.store.append_audit(&event).await {
            tracing::error!(action = %event.action, "cannot write the audit trail: {e}");
        }
    }

    /// Writes to the audit trail without waiting (for the signalling session).
    pub fn audit_soon(&self, event: AuditEvent) {
        let state = self.clone();
        tokio::spawn(async move { state.audit(event).await });
    }

    /// For the signalling session: notes in the audit trail that an invitee took their seat.
    pub fn participant_joined(&self, claims: &Claims, participant: ParticipantId, name: &str) {
        self.audit_soon(AuditEvent::new(
            format!("invitee:{}", claims.inv),
            actions::JOIN,
            Some(&claims.hearing),
            json!({ "participant": participant, "role": claims.role, "seat": claims.seat, "name": name }),
        ));
    }

    /// For the signalling session: notes in the audit trail that a participant left (or was
    /// replaced or removed; `why` says which).
    pub fn participant_left(&self, hearing: &str, participant: ParticipantId, why: &str) {
        self.audit_soon(AuditEvent::new(
            "system",
            actions::LEAVE,
            Some(hearing),
            json!({ "participant": participant, "why": why }),
        ));
    }

    /// The live hearing with this id, started on first use: placed on this node (the cluster
    /// may say it runs on another: [`ApiError::Moved`]) and held by a lease
    /// ([`placement`](self::placement)).
    pub async fn hearing(&self, id: &str) -> Result<Arc<Hearing>, ApiError> {
        if let Some(h) = self.inner.docket.running(id) {
            return Ok(h);
        }
        let start = |events| self.start_here(id, events);
        self.inner
            .docket
            .get_or_start(id, start, ApiError::NotFound)
            .await
    }

    /// The live hearing with this id, if running.
    pub async fn running_hearing(&self, id: &str) -> Option<Arc<Hearing>> {
        self.inner.docket.running(id)
    }

    /// Ends one live hearing (it closed): stops its compositor and finalises its recording.
    /// Returns the finished recording's manifest, if one was running.
    pub async fn end_hearing(&self, id: &str) -> Result<Option<crate::record::Manifest>, ApiError> {
        let Some(hearing) = self.inner.docket.remove(id) else {
            return Ok(None);
        };
        let manifest = tokio::task::spawn_blocking(move || hearing.shutdown())
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        if let Some(m) = &manifest {
            self.inner
                .store
                .recording_ended(&m.recording_id, m.state.as_str())
                .await?;
        }
        self.ended_here(id).await;
        Ok(manifest)
    }

    /// Stops every hearing, finalising recordings, all at once (sealing one does not wait for
    /// another). Blocking work runs off the async threads.
    pub async fn shutdown_hearings(&self) {
        let hearings = self.inner.docket.drain();
        let sealing: Vec<_> = hearings
            .into_iter()
            .map(|hearing| {
                let id = hearing.record.id.clone();
                (id, tokio::task::spawn_blocking(move || hearing.shutdown()))
            })
            .collect();
        for (id, sealed) in sealing {
            match sealed.await {
                Ok(Ok(Some(m))) => {
                    let state = m.state.as_str();
                    if let Err(e) = self
                        .inner
                        .store
                        .recording_ended(&m.recording_id, state)
                        .await
                    {
                        tracing::error!(hearing = %id, "cannot note recording end: {e}");
                    }
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::error!(hearing = %id, "recording did not finalise cleanly: {e}")
                }
                Err(e) => tracing::error!(hearing = %id, "shutdown panicked: {e}"),
            }
            self.ended_here(&id).await;
        }
    }
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(node::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/internal/drain", axum::routing::post(node::drain))
        .route("/api/keys", get(keys::public_key))
        .route("/", get(index))
        .route(
            "/join",
            get(|| async {
                (
                    [(header::CONTENT_SECURITY_POLICY, headers::JOIN_CSP)],
                    Html(include_str!("../../web/join.html")),
                )
            }),
        )
        .route(
            "/web/join.js",
            get(|| async { asset("text/javascript", include_str!("../../web/join.js")) }),
        )
        .route(
            "/web/preview-keyer.js",
            get(|| async {
                asset(
                    "text/javascript",
                    include_str!("../../web/preview-keyer.js"),
                )
            }),
        )
        .route(
            "/web/style.css",
            get(|| async { asset("text/css", include_str!("../../web/style.css")) }),
        )
        .route(
            "/web/watch.js",
            get(|| async { asset("text/javascript", include_str!("../../web/watch/watch.js")) }),
        )
        .route(
            "/web/watch.css",
            get(|| async { asset("text/css", include_str!("../../web/watch/watch.css")) }),
        )
        .route(
            "/web/vendor/hls.light.min.js",
            get(|| async {
                asset(
                    "text/javascript",
                    include_str!("../../web/vendor/hls.light.min.js"),
                )
            }),
        )
        .route("/ws", get(ws::upgrade))
        .route(
            "/whip/{hearing}",
            post(whip::publish)
                .options(whip::options)
                .patch(whip::patch),
        )
        .route(
            "/whip/{hearing}/{session}",
            delete(whip::leave)
                .options(whip::options)
                .patch(whip::patch),
        )
        .merge(routes::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            forward::to_owner,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::same_origin,
        ))
        .layer(axum::middleware::map_response(headers::secure))
        .layer(request_spans())
        .with_state(state)
}

/// A `request{method, path}` span around each request (the path only: a query may carry an
/// invitation token), its response at `debug`, a 5xx at `warn` (a 503 at capacity is not a
/// fault of ours).
fn request_spans() -> tower_http::trace::TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    fn(&axum::http::Request<axum::body::Body>) -> tracing::Span,
    (),
    tower_http::trace::DefaultOnResponse,
    (),
    (),
    tower_http::trace::DefaultOnFailure,
> {
    fn span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
        tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
    }
    tower_http::trace::TraceLayer::new_for_http()
        .make_span_with(span as fn(&axum::http::Request<axum::body::Body>) -> tracing::Span)
        .on_request(())
        .on_body_chunk(())
        .on_eos(())
        .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG))
        .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::WARN))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> impl IntoResponse {
    (
        StatusCode::OK,
        Html("<!doctype html><title>courtroom</title><p>This is a courtroom server. Open the invitation link your clerk sent you."),
    )
}

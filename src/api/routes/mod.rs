//! The REST API and the clerk portal's pages. Every portal action is one JSON endpoint here;
//! errors are [`ApiError`] JSON (`{"error": {"code", "message"}}`) with stable codes.
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/login`, `POST /api/logout`, `GET /api/me` | anyone / account | [`accounts`] |
//! | `GET, POST /api/hearings`, `GET /api/hearings/{id}` | account | [`hearings`] |
//! | `POST /api/hearings/{id}/state` | account | open, pause, close ([`hearings`]) |
//! | `GET, POST /api/hearings/{id}/invitations`, `DELETE .../{inv}` | account | [`hearings`] |
//! | `GET /api/hearings/{id}/invitations/{inv}/qr.svg` | account | the link as a QR code ([`hearings`]) |
//! | `POST /api/hearings/{id}/recording/start`, `.../stop` | account | [`recordings`] |
//! | `POST /api/hearings/{id}/recording/pause`, `.../resume` | account / judge's or clerk's invitation | [`recordings`] |
//! | `POST /api/hearings/{id}/participants/{pid}/remove`, `.../mute` | account | [`hearings`] |
//! | `GET /api/hearings/{id}/recordings` | account | [`recordings`] |
//! | `GET /api/recordings/{rid}/files/{name}` | account | one file, with ranges ([`recordings`]) |
//! | `GET /api/recordings/{rid}/bundle.zip` | account | streamed zip ([`recordings`]) |
//! | `GET /api/recordings/{rid}/evidence.zip` | account | the evidence package ([`evidence`]) |
//! | `GET /api/recordings/{rid}/verify` | account | hashes, chain, signature ([`recordings`]) |
//! | `GET, PUT /api/hearings/{id}/view` | account / judge's or clerk's invitation | camera view on air, lock it ([`scene`]) |
//! | `GET, PUT /api/hearings/{id}/seats/{seat}/key` | account / clerk's invitation | a seat's key settings ([`scene`]) |
//! | `GET /api/hearings/{id}/monitor`, `GET /api/hearing/monitor` | account / invitee | [`monitor`] |
//! | `GET /api/hearings/{id}/monitor/composite.jpg`, `GET /api/hearing/monitor/composite.jpg` | account / invitee | the composite picture ([`monitor`]) |
//! | `GET /api/audit`, `GET /api/audit/verify` | account | [`audit`] |
//! | `POST /api/hearings/{id}/public` | account | public or closed, while scheduled ([`broadcast`]) |
//! | `POST /api/hearings/{id}/broadcast/{start,stop,cut,resume}`, `GET .../broadcast` | account / clerk's (cut: also the judge's) invitation | the live broadcast ([`broadcast`]) |
//! | `GET /watch/{id}`, `GET /api/watch/{id}`, `GET /live/{id}/...` | anyone (public hearings only) | the watch page, its state, the HLS playlist and segments ([`broadcast`]) |
//! | `GET, POST /api/hearings/{id}/exhibits`, `GET .../{exhibit}/file`, `POST .../{exhibit}/show`, `.../hide`, `PUT .../witness` | account / invitee (the table's present and manage exhibits) | exhibits on the evidence display ([`exhibits`]) |
//! | `POST /api/hearings/{id}/gavel/{open,close}` | the presiding judge's invitation | the gavel opens or closes the court ([`scene`]) |
//! | `GET /api/permissions` | anyone | the permission table |
//! | `GET /api/openapi.json` | anyone | this API as OpenAPI 3.1 ([`openapi`]) |
//! | `GET /portal/...` | anyone | the portal's static pages ([`portal`]) |

pub mod accounts;
pub mod audit;
pub mod broadcast;
pub mod evidence;
pub mod exhibits;
pub mod hearings;
pub mod monitor;
pub mod openapi;
pub mod portal;
pub mod recordings;
pub mod scene;

use axum::extract::{FromRequest, Request};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::AppState;

/// A JSON request body whose rejection is an [`ApiError`] (`bad_json`, or
/// `payload_too_large` past the body limit), not plain text.
#[derive(Debug, Clone)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(e) => Err(ApiError::invalid("bad_json", e.body_text())),
        }
    }
}

/// The API and portal routes, merged into [`super::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/login", post(accounts::login))
        .route("/api/logout", post(accounts::logout))
        .route("/api/me", get(accounts::me))
        .route("/api/permissions", get(accounts::permissions))
        .route("/api/hearings", get(hearings::list).post(hearings::create))
        .route("/api/hearings/{id}", get(hearings::show))
        .route("/api/hearings/{id}/state", post(hearings::set_state))
        .route("/api/hearings/{id}/public", post(broadcast::set_public))
        .route(
            "/api/hearings/{id}/exhibits",
            get(exhibits::list)
                .post(exhibits::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::exhibit::MAX_EXHIBIT_BYTES,
                )),
        )
        .route(
            "/api/hearings/{id}/exhibits/witness",
            put(exhibits::witness),
        )
        .route("/api/hearings/{id}/gavel/{act}", post(scene::gavel))
        .route(
            "/api/hearings/{id}/exhibits/{exhibit}/file",
            get(exhibits::file),
        )
        .route(
            "/api/hearings/{id}/exhibits/{exhibit}/show",
            post(exhibits::show),
        )
        .route(
            "/api/hearings/{id}/exhibits/{exhibit}/hide",
            post(exhibits::hide),
        )
        .route("/api/hearings/{id}/broadcast", get(broadcast::status))
        .route("/api/hearings/{id}/broadcast/{act}", post(broadcast::act))
        .route("/api/watch/{id}", get(broadcast::watch_state))
        .route("/api/watch/{id}/watching", post(broadcast::watching))
        .route("/watch/{id}", get(broadcast::watch_page))
        .route("/live/{id}/index.m3u8", get(broadcast::playlist))
        .route("/live/{id}/{run}/{file}", get(broadcast::media))
        .route("/live/{id}/replay.m3u8", get(broadcast::replay_playlist))
        .route(
            "/live/{id}/replay/{run}/{file}",
            get(broadcast::replay_media),
        )
        .route(
            "/api/hearings/{id}/invitations",
            get(hearings::invitations).post(hearings::invite),
        )
        .route(
            "/api/hearings/{id}/invitations/{inv}",
            delete(hearings::revoke),
        )
        .route(
            "/api/hearings/{id}/invitations/{inv}/qr.svg",
            get(hearings::invitation_qr),
        )
        .route(
            "/api/hearings/{id}/participants/{pid}/remove",
            post(hearings::remove_participant),
        )
        .route(
            "/api/hearings/{id}/participants/{pid}/mute",
            post(hearings::mute_participant),
        )
        .route(
            "/api/hearings/{id}/recording/start",
            post(recordings::start),
        )
        .route("/api/hearings/{id}/recording/stop", post(recordings::stop))
        .route(
            "/api/hearings/{id}/recording/pause",
            post(recordings::pause),
        )
        .route(
            "/api/hearings/{id}/recording/resume",
            post(recordings::resume),
        )
        .route("/api/hearings/{id}/recordings", get(recordings::list))
        .route(
            "/api/hearings/{id}/view",
            get(scene::show_view).put(scene::lock_view),
        )
        .route(
            "/api/hearings/{id}/seats/{seat}/key",
            get(scene::show_key).put(scene::adjust_key),
        )
        .route("/api/hearings/{id}/monitor", get(monitor::clerk_monitor))
        .route("/api/hearing/monitor", get(monitor::invitee_monitor))
        .route(
            "/api/hearings/{id}/monitor/composite.jpg",
            get(monitor::clerk_composite),
        )
        .route(
            "/api/hearing/monitor/composite.jpg",
            get(monitor::invitee_composite),
        )
        .route("/api/recordings/{rid}/files", get(recordings::files))
        .route(
            "/api/recordings/{rid}/files/{name}",
            get(recordings::download_file),
        )
        .route("/api/recordings/{rid}/bundle.zip", get(recordings::bundle))
        .route(
            "/api/recordings/{rid}/evidence.zip",
            get(evidence::evidence),
        )
        .route("/api/recordings/{rid}/verify", get(recordings::verify))
        .route("/api/audit", get(audit::list))
        .route("/api/audit/verify", get(audit::verify))
        .route("/api/openapi.json", get(openapi::serve))
        .merge(portal::routes())
}

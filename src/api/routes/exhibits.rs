//! Exhibits: uploading a file, showing it on the courtroom's evidence display, turning its
//! pages and taking it down (`crate::hearing::exhibits`).
//!
//! Who may: the permission table's [`Action::PresentExhibit`] (the presiding judge, the clerk,
//! the parties, accounts), and the witness while the presiding judge allows it; a page is
//! turned by whoever shows the exhibit, and [`Action::ManageExhibits`] (the presiding judge,
//! the clerk, accounts) takes any exhibit down and allows the witness. Each act goes to the
//! audit trail, and, while recording, into the recording's manifest.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::scene::running;
use crate::api::error::ApiError;
use crate::api::session::Operator;
use crate::api::AppState;
use crate::exhibit::{ExhibitError, ExhibitKind};
use crate::hearing::exhibits::{hearing_dir, ExhibitActError, Exhibits, Presenter, SCREEN_EXHIBIT};
use crate::hearing::Hearing;
use crate::permissions::{check, Action, Principal};
use crate::render::PageRegion;
use crate::role::Role;
use crate::store::audit::actions;
use crate::store::AuditEvent;

/// `POST /api/hearings/{id}/exhibits` query.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// The exhibit's title.
    pub title: String,
}

/// `POST /api/hearings/{id}/exhibits/{exhibit}/show` body (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowRequest {
    /// The page to show, from 1 (default 1).
    #[serde(default)]
    pub page: Option<u32>,
    /// What part of it: `page` (the whole page, the default), or the page's width across the
    /// display and its `top`, `middle` or `bottom`.
    #[serde(default)]
    pub region: PageRegion,
}

/// `PUT /api/hearings/{id}/exhibits/witness` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessRequest {
    /// Whether the witness may present.
    pub allowed: bool,
}

/// The permission table's view of `who` (for checks that are not refusals in themselves).
fn principal(who: &Operator) -> Principal<'_> {
    match who {
        Operator::Account(c) => c.principal(),
        Operator::Invitee(i) => Principal::Invitee {
            role: i.0.role,
            hearing: &i.0.hearing,
        },
    }
}

/// Whether `who` may take any exhibit down on hearing `id` (no audit: a question, not an act).
fn manages(who: &Operator, id: &str) -> bool {
    check(&principal(who), Action::ManageExhibits, Some(id)).is_ok()
}

/// The running hearing `id`, once `who` may present there: by the table (which may then start
/// an open hearing), or as its witness while allowed (asked of a running hearing only: the
/// question never starts one). Nothing is started for someone who may not present.
async fn presenter_hearing(
    state: &AppState,
    who: &Operator,
    id: &str,
) -> Result<Arc<Hearing>, ApiError> {
    if let Operator::Invitee(i) = who {
        if i.0.role == Role::Witness && i.0.hearing == id {
            if let Some(h) = state.running_hearing(id).await {
                if h.exhibits().witness_may_present() {
                    return Ok(h);
                }
            }
        }
    }
    who.authorize(state, Action::PresentExhibit, id).await?;
    running(state, id).await
}

/// The exhibits of hearing `id` without starting it: the running hearing's, or those kept on
/// this node's disk (`None` for an unknown hearing).
async fn kept_exhibits(state: &AppState, id: &str) -> Result<Option<Exhibits>, ApiError> {
    if state.store().hearing_summary(id).await?.is_none() {
        return Ok(None);
    }
    let dir = hearing_dir(&state.settings().data_dir, id);
    tokio::task::spawn_blocking(move || Some(Exhibits::open(dir)))
        .await
        .map_err(|e| ApiError::unavailable("exhibit_unavailable", e.to_string()))
}

/// How the caption names `who`: their invitation's name and role, or their account.
async fn presenter(state: &AppState, who: &Operator) -> Presenter {
    let caption = match who {
        Operator::Account(c) => c.0.username.clone(),
        Operator::Invitee(i) => {
            let role = i.0.role.as_str().replace('_', " ");
            match state.store().invitation(&i.0.inv).await {
                Ok(Some(inv)) if !inv.name.trim().is_empty() => format!("{}, {role}", inv.name),
                _ => role,
            }
        }
    };
    Presenter {
        actor: who.actor(),
        caption,
        invitation: match who {
            Operator::Invitee(i) => Some(i.0.inv.clone()),
            Operator::Account(_) => None,
        },
    }
}

fn act_error(e: ExhibitActError) -> ApiError {
    match e {
        ExhibitActError::File(ExhibitError::TooLarge(m)) => ApiError::invalid(
            "exhibit_too_large",
            format!("the exhibit is too large: {m}"),
        ),
        ExhibitActError::File(ExhibitError::NoSuchPage { .. }) => {
            ApiError::invalid("no_such_page", e.to_string())
        }
        ExhibitActError::File(ExhibitError::TooManyPages(_)) => {
            ApiError::invalid("too_many_pages", e.to_string())
        }
        ExhibitActError::File(ExhibitError::Malformed(_)) => {
            ApiError::invalid("bad_exhibit", e.to_string())
        }
        ExhibitActError::File(ExhibitError::Busy) => {
            ApiError::unavailable("exhibit_renderer_busy", e.to_string())
        }
        ExhibitActError::BadTitle => ApiError::invalid("bad_title", e.to_string()),
        ExhibitActError::NotFound(_) => ApiError::NotFound,
        ExhibitActError::PresentedByAnother => {
            ApiError::conflict("presented_by_another", e.to_string())
        }
        ExhibitActError::NotOnDisplay(_) => ApiError::conflict("not_on_display", e.to_string()),
        ExhibitActError::NoScreen => ApiError::conflict("no_screen", e.to_string()),
        ExhibitActError::File(ExhibitError::Renderer(_))
        | ExhibitActError::Storage(_)
        | ExhibitActError::Caption(_) => {
            tracing::error!("exhibit: {e}");
            ApiError::unavailable("exhibit_unavailable", e.to_string())
        }
    }
}

/// Runs blocking exhibit work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ExhibitActError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::unavailable("exhibit_unavailable", e.to_string()))?
        .map_err(act_error)
}

async fn audit(state: &AppState, who: &Operator, id: &str, detail: serde_json::Value) {
    state
        .audit(AuditEvent::new(
            who.actor(),
            actions::EXHIBIT,
            Some(id),
            detail,
        ))
        .await;
}

/// The exhibits, what the display shows, whether `who` shows it, and whether the witness may.
fn list_json(hearing: &Hearing, who: &Operator) -> serde_json::Value {
    let exhibits = hearing.exhibits();
    let on_display = exhibits.on_display();
    let you_present = on_display
        .as_ref()
        .is_some_and(|d| d.presenter.actor == who.actor());
    json!({
        "exhibits": exhibits.list(),
        "on_display": on_display,
        "you_present": you_present,
        "witness_may_present": exhibits.witness_may_present(),
    })
}

/// `POST /api/hearings/{id}/exhibits?title=T` with the file as the body (`Content-Type:
/// image/png`, `image/jpeg` or `application/pdf`) → `201 {id, sha256, title, kind, size,
/// pages, ...}`. The same file again answers `200` with the exhibit as first kept.
pub async fn upload(
    State(state): State<AppState>,
    who: Operator,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let hearing = presenter_hearing(&state, &who, &id).await?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::invalid("bad_body", e.body_text())
        }
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let kind = ExhibitKind::from_content_type(content_type).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "exhibits are image/png, image/jpeg or application/pdf, not {content_type:?}"
        ))
    })?;
    let before = hearing.exhibits().list().len();
    let (h, actor, title) = (hearing.clone(), who.actor(), q.title.clone());
    let exhibit = blocking(move || h.exhibits().add(&body, kind, &title, &actor)).await?;
    let created = hearing.exhibits().list().len() > before;
    if created {
        audit(
            &state,
            &who,
            &id,
            json!({ "act": "upload", "exhibit": exhibit.id, "sha256": exhibit.sha256, "title": exhibit.title }),
        )
        .await;
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(exhibit)).into_response())
}

/// `GET /api/hearings/{id}/exhibits` → `{exhibits, on_display, you_present,
/// witness_may_present}`.
pub async fn list(
    State(state): State<AppState>,
    who: Operator,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.authorize(&state, Action::SeeComposite, &id).await?;
    if let Some(hearing) = state.running_hearing(&id).await {
        return Ok(Json(list_json(&hearing, &who)));
    }
    let kept = kept_exhibits(&state, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(json!({
        "exhibits": kept.list(),
        "on_display": null,
        "you_present": false,
        "witness_may_present": false,
    })))
}

/// `GET /api/hearings/{id}/exhibits/{exhibit}/file` → the file as it was presented.
pub async fn file(
    State(state): State<AppState>,
    who: Operator,
    Path((id, exhibit)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    who.authorize(&state, Action::SeeComposite, &id).await?;
    let (e, path) = match state.running_hearing(&id).await {
        Some(hearing) => {
            let e = hearing.exhibits().get(&exhibit).ok_or(ApiError::NotFound)?;
            let path = hearing.exhibits().path(&e);
            (e, path)
        }
        None => {
            let kept = kept_exhibits(&state, &id)
                .await?
                .ok_or(ApiError::NotFound)?;
            let e = kept.get(&exhibit).ok_or(ApiError::NotFound)?;
            let path = kept.path(&e);
            (e, path)
        }
    };
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|err| ApiError::unavailable("exhibit_unavailable", err.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, e.kind.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", e.file_name()),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /api/hearings/{id}/exhibits/{exhibit}/show` (`{"page": n}`, optional) → what the
/// display shows. Showing the exhibit already on the display turns its page. While another
/// person's exhibit is shown, only someone who manages exhibits may turn it or show another
/// over it: `409 presented_by_another` otherwise.
pub async fn show(
    State(state): State<AppState>,
    who: Operator,
    Path((id, exhibit)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let hearing = presenter_hearing(&state, &who, &id).await?;
    // The body is optional: none shows page 1, whole.
    let req: ShowRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ShowRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid("bad_json", e.to_string()))?
    };
    let page = req.page.unwrap_or(1);
    let region = req.region;
    // Another person's exhibit on the display is theirs: its pages are theirs to turn, and
    // only the bench puts something else up over it (decided with the act, under one lock).
    let manages = manages(&who, &id);
    let presenter = presenter(&state, &who).await;
    let (h, e) = (hearing.clone(), exhibit.clone());
    let shown = if exhibit == SCREEN_EXHIBIT {
        // The screen the person's page shares (a second video line of their connection).
        blocking(move || h.show_screen(presenter, manages)).await?
    } else {
        blocking(move || h.show_exhibit(&e, page, region, presenter, manages)).await?
    };
    audit(
        &state,
        &who,
        &id,
        json!({ "act": "show", "exhibit": exhibit, "page": page, "region": region }),
    )
    .await;
    Ok(Json(json!({ "on_display": shown })))
}

/// `POST /api/hearings/{id}/exhibits/{exhibit}/hide` → takes the exhibit down: whoever shows
/// it, or someone who manages exhibits. `409 not_on_display` when it is not shown.
pub async fn hide(
    State(state): State<AppState>,
    who: Operator,
    Path((id, exhibit)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let hearing = presenter_hearing(&state, &who, &id).await?;
    let hidden = hearing
        .hide_exhibit(Some(&exhibit), &who.actor(), manages(&who, &id))
        .map_err(|e| match e {
            // Not theirs, and they do not manage exhibits.
            ExhibitActError::PresentedByAnother => ApiError::Forbidden,
            e => act_error(e),
        })?;
    audit(
        &state,
        &who,
        &id,
        json!({ "act": "hide", "exhibit": exhibit }),
    )
    .await;
    Ok(Json(json!({ "hidden": hidden })))
}

/// `PUT /api/hearings/{id}/exhibits/witness` `{allowed}` → lets the witness present, or not.
pub async fn witness(
    State(state): State<AppState>,
    who: Operator,
    Path(id): Path<String>,
    axum::Json(req): axum::Json<WitnessRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.authorize(&state, Action::ManageExhibits, &id).await?;
    let hearing: Arc<Hearing> = running(&state, &id).await?;
    hearing.exhibits().allow_witness(req.allowed);
    audit(
        &state,
        &who,
        &id,
        json!({ "act": "witness", "allowed": req.allowed }),
    )
    .await;
    Ok(Json(list_json(&hearing, &who)))
}

//! The public gallery: a public hearing's live broadcast (HLS, CMAF segments), its watch page,
//! and the controls.
//!
//! - The clerk makes a hearing public or closed when creating it, or later while it is still
//!   scheduled (`POST /api/hearings/{id}/public`); each change is audited. A closed hearing is
//!   never broadcast: its watch state, playlist and segments are `404`, whatever else.
//! - The clerk starts and stops the broadcast ([`Action::Broadcast`]); the presiding judge (or
//!   the clerk) cuts it at once and lifts the cut ([`Action::CutBroadcast`]), from the bench
//!   with an invitation token. Each act is audited.
//! - Anyone may watch: `GET /watch/{id}` (the page), `GET /api/watch/{id}` (what it shows),
//!   `GET /live/{id}/index.m3u8` and the segments under `/live/{id}/r{run}/`. Playlists are
//!   cacheable for a second, segments for a day (their names are never reused: each run of
//!   the broadcast has its own folder), so a CDN in front of the server carries the viewers.
//! - Low-latency HLS (RFC 8216bis): the playlist lists 0.5 s partial segments
//!   (`seg-N.P.m4s`, served and cached like segments), and answers blocking reloads
//!   (`?_HLS_msn=M&_HLS_part=P`) only once it holds what they ask for: `400` at once for a
//!   segment more than two ahead of the newest, `503` if not made within three segment targets.
//! - Replays, when the court keeps them (`broadcast.replays`, off by default): after the end,
//!   `GET /live/{id}/replay.m3u8` lists the broadcast as aired (slates included), its files
//!   under `/live/{id}/replay/r{run}/` ([`crate::hearing::replay`]).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::Body;
use crate::api::error::ApiError;
use crate::api::session::{Clerk, Operator};
use crate::api::AppState;
use crate::hearing::gallery::PlaylistWait;
use crate::hearing::BroadcastState;
use crate::permissions::Action;
use crate::store::audit::actions;
use crate::store::{AuditEvent, HearingState};

/// How long a player or a CDN may keep a playlist.
pub const PLAYLIST_CACHE: &str = "public, max-age=1";
/// How long a segment or init segment may be kept: their names are never reused.
pub const SEGMENT_CACHE: &str = "public, max-age=86400, immutable";
/// How long the replay's playlist may be kept (it does not change once the hearing ended,
/// but a court may still turn replays off).
pub const REPLAY_PLAYLIST_CACHE: &str = "public, max-age=60";

/// A playlist, cacheable as `cache` says.
fn m3u8_response(text: String, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
            (header::CACHE_CONTROL, cache),
        ],
        text,
    )
        .into_response()
}

/// An init or media segment: its name is never reused, so it is cacheable for a day.
fn mp4_response(bytes: bytes::Bytes) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "video/mp4"),
            (header::CACHE_CONTROL, SEGMENT_CACHE),
        ],
        bytes,
    )
        .into_response()
}

/// The watch page's Content-Security-Policy: its own scripts, media from blobs (hls.js feeds
/// Media Source Extensions).
pub const WATCH_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; \
     worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// `POST /api/hearings/{id}/public` body.
#[derive(Debug, Deserialize)]
pub struct SetPublic {
    /// Held in public (`true`) or closed to the public (`false`).
    pub public: bool,
}

/// `POST /api/hearings/{id}/public` `{public}` → `{id, public}`; `409 not_scheduled` once the
/// hearing has opened. Making a hearing closed stops a broadcast already started.
pub async fn set_public(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(id): Path<String>,
    Body(req): Body<SetPublic>,
) -> Result<Json<serde_json::Value>, ApiError> {
    clerk
        .authorize(&state, Action::ManageHearings, Some(&id))
        .await?;
    let summary = state
        .store()
        .hearing_summary(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let changed = state.store().set_hearing_public(&id, req.public).await?;
    state.public_hearings().forget(&id);
    if !changed {
        return Err(ApiError::conflict(
            "not_scheduled",
            format!(
                "the hearing is {}: whether it is public is settled once it opens",
                summary.state
            ),
        ));
    }
    if !req.public {
        if let Some(hearing) = state.running_hearing(&id).await {
            tokio::task::spawn_blocking(move || hearing.broadcast().stop())
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
    }
    state
        .audit(AuditEvent::new(
            clerk.actor(),
            actions::HEARING_PUBLICITY,
            Some(&id),
            json!({ "public": req.public, "was": summary.public }),
        ))
        .await;
    Ok(Json(json!({ "id": id, "public": req.public })))
}

/// `POST /api/hearings/{id}/broadcast/{act}` with `act` one of `start`, `stop` (the clerk),
/// `cut`, `resume` (the presiding judge or the clerk) → the broadcast's status.
/// `409 closed_to_public` for a closed hearing, `409 hearing_closed` after the end,
/// `409 not_broadcasting` to stop, cut or resume what is not on air.
pub async fn act(
    State(state): State<AppState>,
    who: Operator,
    Path((id, act)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let needs = match act.as_str() {
        "start" | "stop" => Action::Broadcast,
        "cut" | "resume" => Action::CutBroadcast,
        _ => {
            return Err(ApiError::invalid(
                "bad_act",
                "act must be start, stop, cut or resume",
            ))
        }
    };
    who.authorize(&state, needs, &id).await?;
    let summary = state
        .store()
        .hearing_summary(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if summary.state == HearingState::Closed {
        return Err(ApiError::conflict(
            "hearing_closed",
            "this hearing is closed",
        ));
    }
    if !summary.public {
        return Err(ApiError::conflict(
            "closed_to_public",
            "this hearing is closed to the public: it is never broadcast",
        ));
    }
    let not_on_air = || ApiError::conflict("not_broadcasting", "the broadcast is not on air");
    let hearing = if act == "start" {
        state.hearing(&id).await?
    } else {
        state.running_hearing(&id).await.ok_or_else(not_on_air)?
    };
    let on_air = matches!(
        hearing.broadcast().status().state,
        BroadcastState::Live | BroadcastState::Cut
    );
    if act != "start" && !on_air {
        return Err(not_on_air());
    }
    // The state as it is now that the hearing runs (starting it may have taken a while): a
    // pause meanwhile reached the running hearing itself, so the stale reading must not
    // overwrite it; and only a start that puts the broadcast on air sets it.
    let paused = state
        .store()
        .hearing_summary(&id)
        .await?
        .ok_or(ApiError::NotFound)?
        .state
        != HearingState::Open;
    let live = hearing.clone();
    let public = summary.public;
    let act_done = act.clone();
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        let broadcast = live.broadcast();
        match act_done.as_str() {
            "start" => {
                if !on_air {
                    broadcast.set_paused(paused);
                }
                broadcast
                    .start(public)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
            }
            "stop" => {
                broadcast.stop();
            }
            "cut" => broadcast.set_cut(true),
            _ => broadcast.set_cut(false),
        }
        Ok(())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    state
        .audit(AuditEvent::new(
            who.actor(),
            actions::BROADCAST,
            Some(&id),
            json!({ "act": act }),
        ))
        .await;
    Ok(Json(
        json!({ "id": id, "broadcast": hearing.broadcast().status() }),
    ))
}

/// `GET /api/hearings/{id}/broadcast` → `{id, public, broadcast}`: whether the hearing is
/// public, and the broadcast's status (state, viewers, segments) while the hearing runs.
pub async fn status(
    State(state): State<AppState>,
    who: Operator,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.authorize(&state, Action::Monitor, &id).await?;
    let summary = state
        .store()
        .hearing_summary(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let status = state
        .running_hearing(&id)
        .await
        .map(|h| h.broadcast().status());
    Ok(Json(
        json!({ "id": id, "public": summary.public, "broadcast": status }),
    ))
}

/// A public hearing's summary, or `404` for an unknown or closed one (the same answer, so a
/// closed hearing's existence is not revealed). Read at most once a second per hearing
/// ([`crate::api::public_cache`]).
async fn public_hearing(
    state: &AppState,
    id: &str,
) -> Result<crate::store::HearingSummary, ApiError> {
    if id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::NotFound);
    }
    let now = std::time::Instant::now();
    let summary = match state.public_hearings().get(id, now) {
        Some(summary) => summary,
        None => {
            let summary = state.store().hearing_summary(id).await?;
            state.public_hearings().put(id, summary.clone(), now);
            summary
        }
    };
    match summary {
        Some(s) if s.public => Ok(s),
        _ => Err(ApiError::NotFound),
    }
}

/// `GET /api/watch/{id}` → what the watch page shows: case number, title, court, the
/// hearing's state, the broadcast's, the playlist and the viewer count. `404` for an unknown
/// or closed hearing.
pub async fn watch_state(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let summary = public_hearing(&state, &id).await?;
    let replay_kept = match replay_dir(&state, &id, summary.state) {
        Some(dir) => replay_text(&state, &id, dir).await.ok().flatten().is_some(),
        None => false,
    };
    let status = state
        .running_hearing(&id)
        .await
        .map(|h| h.broadcast().status());
    let broadcast = match (&status, summary.state) {
        (_, HearingState::Closed) => BroadcastState::Ended,
        (Some(s), _) => s.state,
        (None, _) => BroadcastState::Off,
    };
    let body = json!({
        "hearing": id,
        "case_number": summary.record.case_number,
        "title": summary.record.title,
        "court": state.settings().record.court_name,
        "state": summary.state,
        "broadcast": broadcast,
        "playlist": format!("/live/{id}/index.m3u8"),
        "viewers": status.map(|s| s.viewers).unwrap_or(0),
        "replay": replay_kept.then(|| format!("/live/{id}/replay.m3u8")),
    });
    Ok(([(header::CACHE_CONTROL, "public, max-age=1")], Json(body)).into_response())
}

/// `POST /api/watch/{id}/watching` body.
#[derive(Debug, Deserialize)]
pub struct Watching {
    /// The player's own random id (letters and digits, at most 64).
    pub viewer: String,
}

/// `POST /api/watch/{id}/watching` `{viewer}` → `204`: the player is watching, counted for
/// [`VIEWER_WINDOW`](crate::hearing::gallery::VIEWER_WINDOW). The page says so every few
/// seconds while it plays, so that the playlist's URL carries nothing per viewer and a CDN
/// serves one copy of it to everyone. `400 bad_viewer` for another id; `404` for an unknown
/// or closed hearing, or one not running.
pub async fn watching(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(req): Body<Watching>,
) -> Result<Response, ApiError> {
    if req.viewer.is_empty()
        || req.viewer.len() > 64
        || !req.viewer.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(ApiError::invalid(
            "bad_viewer",
            "viewer must be 1 to 64 letters and digits",
        ));
    }
    public_hearing(&state, &id).await?;
    let hearing = state.running_hearing(&id).await.ok_or(ApiError::NotFound)?;
    hearing.broadcast().saw(&req.viewer);
    Ok((
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, "no-store")],
    )
        .into_response())
}

/// `GET /watch/{id}`: the watch page (it asks `/api/watch/{id}` what to show).
pub async fn watch_page(Path(_id): Path<String>) -> Response {
    (
        [
            (header::CONTENT_SECURITY_POLICY, WATCH_CSP),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        Html(include_str!("../../../web/watch/watch.html")),
    )
        .into_response()
}

/// The playlist's query: the player's random id, counted as a viewer (players other than the
/// watch page may count themselves this way; the page uses [`watching`], which keeps the
/// playlist's URL the same for everyone); LL-HLS delivery directives. Other parameters (`_HLS_skip`: no delta updates here) are ignored.
#[derive(Debug, Deserialize)]
pub struct PlaylistQuery {
    /// The player's own random id.
    #[serde(default)]
    pub viewer: Option<String>,
    /// Blocking reload: answer once segment `_HLS_msn` is complete (or its part `_HLS_part`
    /// made).
    #[serde(default, rename = "_HLS_msn")]
    pub hls_msn: Option<String>,
    /// Blocking reload: the part of segment `_HLS_msn` to wait for.
    #[serde(default, rename = "_HLS_part")]
    pub hls_part: Option<String>,
}

/// The longest a blocking playlist reload is held: three segment targets (RFC 8216bis), then
/// `503`.
pub const BLOCKING_RELOAD_WAIT: std::time::Duration =
    std::time::Duration::from_secs(3 * crate::hearing::gallery::SEGMENT_TARGET.as_secs());

/// `_HLS_msn` and `_HLS_part` as numbers; `400` for garbage or a part without a segment.
fn delivery_directives(q: &PlaylistQuery) -> Result<Option<(u64, Option<u64>)>, ApiError> {
    let number = |v: &str, code: &'static str| {
        v.parse::<u64>()
            .map_err(|_| ApiError::invalid(code, format!("{code} must be a whole number")))
    };
    match (&q.hls_msn, &q.hls_part) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(ApiError::invalid(
            "bad_hls_part",
            "_HLS_part needs _HLS_msn",
        )),
        (Some(msn), part) => Ok(Some((
            number(msn, "bad_hls_msn")?,
            part.as_deref()
                .map(|p| number(p, "bad_hls_part"))
                .transpose()?,
        ))),
    }
}

/// `GET /live/{id}/index.m3u8` → the live playlist; `404` for an unknown or closed hearing,
/// or before the first segment. With `_HLS_msn` (and `_HLS_part`) a blocking reload: held
/// until the playlist holds that segment (part); `400` for garbage or a segment more than two
/// ahead, `503` if not made within [`BLOCKING_RELOAD_WAIT`].
pub async fn playlist(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PlaylistQuery>,
) -> Result<Response, ApiError> {
    let directives = delivery_directives(&q)?;
    public_hearing(&state, &id).await?;
    let hearing = state.running_hearing(&id).await.ok_or(ApiError::NotFound)?;
    let viewer = q
        .viewer
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric()));
    let broadcast = hearing.broadcast();
    let text = match directives {
        None => broadcast
            .playlist(viewer.as_deref())
            .ok_or(ApiError::NotFound)?,
        Some((msn, part)) => match broadcast
            .playlist_when(viewer.as_deref(), msn, part, BLOCKING_RELOAD_WAIT)
            .await
        {
            PlaylistWait::Ready(text) => text,
            PlaylistWait::NotFound => return Err(ApiError::NotFound),
            PlaylistWait::TooFar => {
                return Err(ApiError::invalid(
                    "hls_msn_too_far",
                    "_HLS_msn is more than two segments past the newest",
                ))
            }
            PlaylistWait::TimedOut => {
                return Err(ApiError::unavailable(
                    "hls_not_yet",
                    "what _HLS_msn/_HLS_part ask for was not made in time; reload",
                ))
            }
        },
    };
    Ok(m3u8_response(text, PLAYLIST_CACHE))
}

/// `GET /live/{id}/{run}/{file}` → `init.mp4`, `seg-N.m4s` or the part `seg-N.P.m4s` of run
/// `r<n>`; `404` for anything else, an old segment or part, one not made yet, or a closed
/// hearing.
pub async fn media(
    State(state): State<AppState>,
    Path((id, run, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let run: u64 = run
        .strip_prefix('r')
        .and_then(|n| n.parse().ok())
        .ok_or(ApiError::NotFound)?;
    enum Wanted {
        Init,
        Segment(u64),
        Part(u64, u64),
    }
    let wanted = if file == "init.mp4" {
        Wanted::Init
    } else if let Some((n, p)) = crate::broadcast::parse_part_uri(&file) {
        Wanted::Part(n, p)
    } else {
        let n = file
            .strip_prefix("seg-")
            .and_then(|f| f.strip_suffix(".m4s"))
            .and_then(|n| n.parse().ok())
            .ok_or(ApiError::NotFound)?;
        Wanted::Segment(n)
    };
    public_hearing(&state, &id).await?;
    let hearing = state.running_hearing(&id).await.ok_or(ApiError::NotFound)?;
    let broadcast = hearing.broadcast();
    let bytes = match wanted {
        Wanted::Init => broadcast.init(run),
        Wanted::Segment(n) => broadcast.segment(run, n),
        Wanted::Part(n, p) => broadcast.part(run, n, p),
    }
    .ok_or(ApiError::NotFound)?;
    Ok(mp4_response(bytes))
}

/// The hearing's replay folder, when the court keeps replays and the hearing has ended.
fn replay_dir(state: &AppState, id: &str, hearing: HearingState) -> Option<std::path::PathBuf> {
    let settings = state.settings();
    (settings.broadcast.replays && hearing == HearingState::Closed)
        .then(|| crate::hearing::replay::hearing_dir(&settings.data_dir, id))
}

/// The replay's playlist: the runs on this node's disk and those in the bucket, merged (after
/// a takeover each node holds only the runs it aired). A bucket that cannot be read leaves
/// this node's runs; with none here either, `503`.
async fn replay_text(
    state: &AppState,
    id: &str,
    dir: std::path::PathBuf,
) -> Result<Option<String>, ApiError> {
    use crate::hearing::replay::{bucket_runs, local_runs, REPLAY_PREFIX};
    let local = tokio::task::spawn_blocking(move || local_runs(&dir))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("the replay: {e}")))?;
    let remote = match state.cluster().bucket() {
        Some(bucket) => match bucket_runs(bucket, id).await {
            Ok(runs) => runs,
            Err(e) if !local.is_empty() => {
                tracing::warn!(hearing = %id, "replay: the bucket: {e}; this node's runs only");
                Vec::new()
            }
            Err(e) => return Err(replay_unavailable(e)),
        },
        None => Vec::new(),
    };
    let runs = crate::broadcast::merge_runs(local, remote);
    Ok(crate::broadcast::vod_playlist(&runs, REPLAY_PREFIX))
}

fn replay_unavailable(e: crate::bucket::BucketError) -> ApiError {
    tracing::warn!("replay: the bucket: {e}");
    ApiError::unavailable(
        "storage_unavailable",
        "the replay's storage cannot be read now",
    )
}

/// `GET /live/{id}/replay.m3u8` → the replay (VOD playlist of the broadcast as aired), once
/// the hearing has ended and only when the court keeps replays (`broadcast.replays`); `404`
/// otherwise, for a closed or unknown hearing, or when nothing was aired.
pub async fn replay_playlist(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let summary = public_hearing(&state, &id).await?;
    let dir = replay_dir(&state, &id, summary.state).ok_or(ApiError::NotFound)?;
    let text = replay_text(&state, &id, dir)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(m3u8_response(text, REPLAY_PLAYLIST_CACHE))
}

/// `GET /live/{id}/replay/{run}/{file}` → a replay file (`init.mp4`, `seg-N.m4s` listed in
/// its run's index); `404` for anything else, as for [`replay_playlist`].
pub async fn replay_media(
    State(state): State<AppState>,
    Path((id, run, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let summary = public_hearing(&state, &id).await?;
    let dir = replay_dir(&state, &id, summary.state).ok_or(ApiError::NotFound)?;
    let (r, f) = (run.clone(), file.clone());
    let local =
        tokio::task::spawn_blocking(move || crate::hearing::replay::replay_file(&dir, &r, &f))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    let bytes = match (local, state.cluster().bucket()) {
        (Some(path), _) => bytes::Bytes::from(
            tokio::fs::read(&path)
                .await
                .map_err(|_| ApiError::NotFound)?,
        ),
        (None, Some(bucket)) => crate::hearing::replay::bucket_file(bucket, &id, &run, &file)
            .await
            .map_err(replay_unavailable)?
            .ok_or(ApiError::NotFound)?,
        (None, None) => return Err(ApiError::NotFound),
    };
    Ok(mp4_response(bytes))
}

//! The live monitor: who is connected, how well, where each seat is, and the recording state;
//! and the composite picture itself, as a JPEG of the newest frame the compositor drew.
//!
//! The picture costs nothing while nobody watches: the hearing keeps a copy of its composite
//! only for a few seconds after someone asked ([`Hearing::latest_composite`]), at most five a
//! second, and each kept picture is encoded to JPEG once, on the first request for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::json;

use crate::api::error::ApiError;
use crate::api::session::{Clerk, Invitee};
use crate::api::AppState;
use crate::hearing::{CompositeFrame, Hearing};
use crate::permissions::Action;

/// `GET /api/hearing/monitor` with an invitation token: who is connected, how well, and where
/// each seat is on screen. Roles the permission table lets [`Action::Monitor`] only.
pub async fn invitee_monitor(
    State(state): State<AppState>,
    invitee: Invitee,
) -> Result<Json<serde_json::Value>, ApiError> {
    let hearing = &invitee.0.hearing;
    invitee.authorize(&state, Action::Monitor, hearing).await?;
    monitor_json(&state, hearing).await.map(Json)
}

/// `GET /api/hearings/{id}/monitor` for a portal account: the same report.
pub async fn clerk_monitor(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    clerk.authorize(&state, Action::Monitor, Some(&id)).await?;
    monitor_json(&state, &id).await.map(Json)
}

/// The monitor report of one hearing.
pub async fn monitor_json(state: &AppState, id: &str) -> Result<serde_json::Value, ApiError> {
    let summary = state
        .store()
        .hearing_summary(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let record = &summary.record;
    let v = &state.settings().video;
    let Some(hearing) = state.running_hearing(id).await else {
        return Ok(json!({
            "hearing": { "id": record.id, "case_number": record.case_number, "title": record.title, "state": summary.state, "public": summary.public },
            "running": false,
            "recording": { "state": "stopped", "id": null },
            "participants": [],
        }));
    };
    let stats = hearing.client_stats();
    let participants: Vec<serde_json::Value> = hearing
        .roster()
        .into_iter()
        .map(|p| {
            let s = stats.get(&p.participant_id).cloned();
            let muted = hearing.is_muted(p.participant_id);
            // The server's own view of the camera: frames decoded, and how old the newest is.
            let camera = hearing
                .layout()
                .seats
                .iter()
                .position(|seat| seat.id == p.seat)
                .and_then(|i| hearing.seat(i).frames().latest())
                .map(|(frames, newest)| {
                    json!({ "frames": frames, "age_ms": newest.arrived.elapsed().as_millis() as u64 })
                });
            json!({
                "participant_id": p.participant_id,
                "role": p.role,
                "seat": p.seat,
                "name": p.name,
                "away": p.away,
                "muted": muted,
                "connected": s.is_some(),
                "stats": s.unwrap_or_else(|| json!({})),
                "camera": camera,
            })
        })
        .collect();
    let seats: Vec<serde_json::Value> = hearing
        .layout()
        .seats
        .iter()
        .zip(hearing.seat_boxes())
        .map(|(seat, b)| json!({ "seat": seat.id, "role": seat.role, "x": b.x, "y": b.y, "w": b.w, "h": b.h }))
        .collect();
    let ticks = hearing.tick_stats();
    let (on_air, _) = hearing.view();
    Ok(json!({
        "hearing": { "id": record.id, "case_number": record.case_number, "title": record.title, "state": summary.state, "public": summary.public },
        "running": true,
        // The public broadcast: on air or not, viewers now, segments made.
        "broadcast": hearing.broadcast().status(),
        "adapter": state.adapter_name(),
        "recording": {
            "state": if hearing.is_recording() { "recording" } else { "stopped" },
            // Its id, for downloads; never the server's folder.
            "id": hearing
                .recording_dir()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned())),
        },
        "output": { "width": v.width, "height": v.height, "fps": v.fps },
        "compositor": {
            "ticks": ticks.ticks(),
            "late": ticks.late_ticks(),
            // Pictures left out for the node's frame pace, and its share now (of five).
            "shed": ticks.shed_ticks(),
            "pace_keep_of_5": state.frame_pace().keep(),
            // Ticks whose picture had not changed and was not encoded again.
            "still": ticks.still_ticks(),
            "pipeline_latency_ms": ticks.latency(),
            // Of it, from the tick's start: drawing and encoding.
            "tick_to_encoded_ms": ticks.latency_from_tick(),
        },
        // Decoders and the encoder that failed lately, and whether they were restarted.
        "media": hearing.media_log(),
        "participants": participants,
        "seats": seats,
        // The view on air, and the evidence display's region of the composite in it (null:
        // the room has none in view).
        "view": on_air,
        "display": hearing
            .layout()
            .with_view(&on_air)
            .ok()
            .and_then(|l| l.display_box(v.width, v.height)),
    }))
}

/// JPEG quality of the monitor picture (1–100).
pub const JPEG_QUALITY: u8 = 75;

/// How long a request waits for the first picture after a quiet spell.
const FIRST_PICTURE_WAIT: Duration = Duration::from_millis(600);

/// `GET /api/hearings/{id}/monitor/composite.jpg` for a portal account: the newest composite
/// picture as a JPEG of the output size. `409 no_picture` while the hearing is not live or has
/// not drawn a picture yet.
pub async fn clerk_composite(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    clerk.authorize(&state, Action::Monitor, Some(&id)).await?;
    composite_jpeg(&state, &id).await
}

/// `GET /api/hearing/monitor/composite.jpg` with an invitation token: the same picture, for
/// roles the permission table lets [`Action::Monitor`] only.
pub async fn invitee_composite(
    State(state): State<AppState>,
    invitee: Invitee,
) -> Result<Response, ApiError> {
    let hearing = &invitee.0.hearing;
    invitee.authorize(&state, Action::Monitor, hearing).await?;
    composite_jpeg(&state, hearing).await
}

fn no_picture() -> ApiError {
    ApiError::conflict(
        "no_picture",
        "no composite picture yet: the hearing is not live or has not drawn one",
    )
}

/// The newest composite of hearing `id` as a JPEG response.
async fn composite_jpeg(state: &AppState, id: &str) -> Result<Response, ApiError> {
    let Some(hearing) = state.running_hearing(id).await else {
        state.store().hearing(id).await?.ok_or(ApiError::NotFound)?;
        return Err(no_picture());
    };
    let frame = wait_for_picture(&hearing).await.ok_or_else(no_picture)?;
    let jpeg = cached_jpeg(id, frame.clone()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::HeaderName::from_static("x-composite-seq"),
                frame.seq.to_string(),
            ),
        ],
        jpeg,
    )
        .into_response())
}

/// Asks the hearing for its picture and, after a quiet spell, waits a tick or two for it.
async fn wait_for_picture(hearing: &Hearing) -> Option<Arc<CompositeFrame>> {
    let deadline = tokio::time::Instant::now() + FIRST_PICTURE_WAIT;
    loop {
        if let Some(frame) = hearing.latest_composite() {
            return Some(frame);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Each hearing's last encoded picture, tied to the frame it came from: once the hearing keeps
/// a newer frame (or none), the old one is dropped and its entry goes at the next insert.
type JpegCache = Mutex<HashMap<String, (Weak<CompositeFrame>, Bytes)>>;

fn jpeg_cache() -> &'static JpegCache {
    static CACHE: OnceLock<JpegCache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The JPEG of `frame`, encoded once however many monitors ask.
async fn cached_jpeg(hearing: &str, frame: Arc<CompositeFrame>) -> Result<Bytes, ApiError> {
    if let Some((kept, jpeg)) = jpeg_cache().lock().expect("jpeg cache").get(hearing) {
        if std::ptr::eq(kept.as_ptr(), Arc::as_ptr(&frame)) {
            return Ok(jpeg.clone());
        }
    }
    let weak = Arc::downgrade(&frame);
    let jpeg = tokio::task::spawn_blocking(move || {
        encode_jpeg(&frame.i420, frame.width, frame.height, JPEG_QUALITY)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(format!("composite JPEG: {e}")))?;
    let jpeg = Bytes::from(jpeg);
    let mut cache = jpeg_cache().lock().expect("jpeg cache");
    cache.retain(|_, (kept, _)| kept.strong_count() > 0);
    cache.insert(hearing.to_owned(), (weak, jpeg.clone()));
    Ok(jpeg)
}

pub use crate::media::frame::i420_to_rgb;

/// Encodes an I420 picture as a baseline JPEG.
pub fn encode_jpeg(
    i420: &[u8],
    width: u32,
    height: u32,
    quality: u8,
) -> Result<Vec<u8>, jpeg_encoder::EncodingError> {
    let rgb = i420_to_rgb(i420, width, height);
    let mut out = Vec::with_capacity(rgb.len() / 10);
    jpeg_encoder::Encoder::new(&mut out, quality).encode(
        &rgb,
        width as u16,
        height as u16,
        jpeg_encoder::ColorType::Rgb,
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::frame::{rgb_to_yuv, VideoFrame};

    fn packed(f: &VideoFrame) -> Vec<u8> {
        [f.y.as_slice(), &f.u, &f.v].concat()
    }

    #[test]
    fn i420_to_rgb_inverts_bt601() {
        for rgb in [
            [0, 0, 0],
            [255, 255, 255],
            [0, 177, 64],
            [210, 40, 40],
            [30, 60, 200],
            [128, 128, 128],
        ] {
            let f = VideoFrame::solid(6, 4, rgb);
            let back = i420_to_rgb(&packed(&f), 6, 4);
            assert_eq!(back.len(), 6 * 4 * 3);
            for px in back.chunks_exact(3) {
                for (got, want) in px.iter().zip(rgb) {
                    assert!(
                        (*got as i32 - want as i32).abs() <= 2,
                        "{rgb:?} came back as {px:?}"
                    );
                }
            }
        }
        let (y, _, _) = rgb_to_yuv([255, 255, 255]);
        assert_eq!(y, 235, "limited range: white is 235");
    }

    #[test]
    fn chroma_is_shared_by_each_two_by_two_block() {
        // Left half red, right half blue, on a 4×2 picture: chroma column 0 and 1 differ.
        let mut f = VideoFrame::solid(4, 2, [200, 30, 30]);
        let blue = VideoFrame::solid(2, 2, [30, 30, 200]);
        f.u[1] = blue.u[0];
        f.v[1] = blue.v[0];
        for row in 0..2 {
            f.y[row * 4 + 2] = blue.y[0];
            f.y[row * 4 + 3] = blue.y[0];
        }
        let rgb = i420_to_rgb(&packed(&f), 4, 2);
        let px = |x: usize, y: usize| &rgb[(y * 4 + x) * 3..(y * 4 + x) * 3 + 3];
        assert!(px(1, 1)[0] > 150 && px(1, 1)[2] < 80, "{:?}", px(1, 1));
        assert!(px(2, 0)[2] > 150 && px(2, 0)[0] < 80, "{:?}", px(2, 0));
    }

    #[test]
    fn jpeg_decodes_to_the_picture() {
        let f = VideoFrame::solid(64, 48, [0, 177, 64]);
        let jpeg = encode_jpeg(&packed(&f), 64, 48, JPEG_QUALITY).unwrap();
        let mut decoder = jpeg_decoder::Decoder::new(jpeg.as_slice());
        let pixels = decoder.decode().unwrap();
        let info = decoder.info().unwrap();
        assert_eq!((info.width, info.height), (64, 48));
        assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
        let centre = &pixels[(24 * 64 + 32) * 3..(24 * 64 + 32) * 3 + 3];
        for (got, want) in centre.iter().zip([0u8, 177, 64]) {
            assert!((*got as i32 - want as i32).abs() <= 6, "{centre:?}");
        }
    }
}

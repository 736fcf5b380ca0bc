//! The live scene: which camera view is on air (and locking it), each seat's key settings, and
//! the presiding judge's gavel.
//!
//! Both act on a running hearing only, are checked against the permission table
//! ([`Action::LockCameraView`], [`Action::AdjustKey`]) for a portal account or an invitee
//! (`Authorization: Bearer`, so the presiding judge can lock the view from the bench), and are
//! written to the audit trail.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::Body;
use crate::api::error::ApiError;
use crate::api::session::Operator;
use crate::api::AppState;
use crate::hearing::sounds::Gavel;
use crate::hearing::Hearing;
use crate::keying::KeyParams;
use crate::permissions::Action;
use crate::store::audit::actions;
use crate::store::{AuditEvent, HearingState};

/// `PUT /api/hearings/{id}/view` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewLock {
    /// A view of the layout (`wide`, a preset such as `bench`, or `speaker:SEAT`) to lock the
    /// camera on, or `null` to hand the camera to the automatic director.
    pub view: Option<String>,
}

/// The live hearing; an open hearing nobody has joined yet is started.
pub(super) async fn running(
    state: &AppState,
    id: &str,
) -> Result<std::sync::Arc<Hearing>, ApiError> {
    if let Some(hearing) = state.running_hearing(id).await {
        return Ok(hearing);
    }
    let summary = state
        .store()
        .hearing_summary(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if summary.state != HearingState::Open {
        return Err(ApiError::conflict(
            "hearing_not_open",
            format!("the hearing is {}; open it first", summary.state),
        ));
    }
    state.hearing(id).await
}

fn view_json(hearing: &Hearing) -> serde_json::Value {
    let (on_air, locked) = hearing.view();
    json!({ "on_air": on_air, "locked": locked, "views": hearing.layout().view_names() })
}

/// `GET /api/hearings/{id}/view` → `{on_air, locked, views}`.
pub async fn show_view(
    State(state): State<AppState>,
    who: Operator,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.authorize(&state, Action::LockCameraView, &id).await?;
    Ok(Json(view_json(&*running(&state, &id).await?)))
}

/// `PUT /api/hearings/{id}/view` `{view}` → locks the camera on `view`, or with `null` lets
/// the director cut to whoever speaks. `400 bad_view` for a view the layout does not have.
pub async fn lock_view(
    State(state): State<AppState>,
    who: Operator,
    Path(id): Path<String>,
    Body(req): Body<ViewLock>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.authorize(&state, Action::LockCameraView, &id).await?;
    let hearing = running(&state, &id).await?;
    hearing
        .lock_view(req.view.clone())
        .map_err(|e| ApiError::invalid("bad_view", e.to_string()))?;
    state
        .audit(AuditEvent::new(
            who.actor(),
            actions::VIEW_LOCKED,
            Some(&id),
            json!({ "view": req.view }),
        ))
        .await;
    Ok(Json(view_json(&hearing)))
}

fn seat_index(hearing: &Hearing, seat: &str) -> Result<usize, ApiError> {
    hearing
        .layout()
        .seat_index(seat)
        .ok_or_else(|| ApiError::invalid("bad_seat", format!("the layout has no seat {seat:?}")))
}

fn key_json(hearing: &Hearing, index: usize, seat: &str, params: &KeyParams) -> serde_json::Value {
    let warning = hearing.seat(index).screen_warning();
    json!({
        "seat": seat,
        "params": params,
        // What the auto key has fitted, as the screen colour at the frame's centre.
        "screen_rgb": params.screen.map(|m| m.centre_rgb()),
        // What the auto key finds wrong with the screen: too_dark, too_uneven, or null.
        "screen_warning": warning.map(|w| w.code()),
    })
}

/// `GET /api/hearings/{id}/seats/{seat}/key` → `{seat, params, screen_rgb}`.
pub async fn show_key(
    State(state): State<AppState>,
    who: Operator,
    Path((id, seat)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.authorize(&state, Action::AdjustKey, &id).await?;
    let hearing = running(&state, &id).await?;
    let i = seat_index(&hearing, &seat)?;
    let params = hearing.seat(i).key();
    Ok(Json(key_json(&hearing, i, &seat, &params)))
}

/// `PUT /api/hearings/{id}/seats/{seat}/key` with any of [`KeyParams`]' fields → the seat's
/// new settings. Fields not named keep their value; the fitted screen model is kept while
/// `auto` stays on and dropped when it is turned off (the key then uses `key_rgb`).
/// `400 bad_key` for values outside their range.
pub async fn adjust_key(
    State(state): State<AppState>,
    who: Operator,
    Path((id, seat)): Path<(String, String)>,
    Body(patch): Body<serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.authorize(&state, Action::AdjustKey, &id).await?;
    let hearing = running(&state, &id).await?;
    let i = seat_index(&hearing, &seat)?;
    // In one step, so a screen model the calibrator fits meanwhile is not overwritten.
    let next = hearing.seat(i).update_key(|key| merge_key(key, &patch))?;
    state
        .audit(AuditEvent::new(
            who.actor(),
            actions::KEY_ADJUSTED,
            Some(&id),
            json!({ "seat": seat, "change": patch }),
        ))
        .await;
    Ok(Json(key_json(&hearing, i, &seat, &next)))
}

/// Applies a JSON object of [`KeyParams`] fields to `current`, checking every value.
pub fn merge_key(current: &KeyParams, patch: &serde_json::Value) -> Result<KeyParams, ApiError> {
    let bad = |m: String| ApiError::invalid("bad_key", m);
    let serde_json::Value::Object(fields) = patch else {
        return Err(bad("expected a JSON object of key settings".into()));
    };
    let mut merged = serde_json::to_value(current).map_err(|e| bad(e.to_string()))?;
    let known = merged.as_object().map(|o| o.len()).unwrap_or_default();
    for (k, v) in fields {
        let slot = merged
            .get_mut(k)
            .ok_or_else(|| bad(format!("unknown key setting {k:?} (there are {known})")))?;
        *slot = v.clone();
    }
    let mut next: KeyParams =
        serde_json::from_value(merged).map_err(|e| bad(format!("bad key settings: {e}")))?;
    let unit = [
        ("inner", next.inner),
        ("spill", next.spill),
        ("shade_max", next.shade_max),
        ("luma_tolerance", next.luma_tolerance),
    ];
    for (name, v) in unit {
        if !(0.0..=1.0).contains(&v) {
            return Err(bad(format!("{name} must be within 0..1, not {v}")));
        }
    }
    if !(0.0..=32.0).contains(&next.edge_radius)
        || !(0.0..=8.0).contains(&next.spill_hue_keep)
        || !(next.edge_span_min <= next.edge_span_max && next.luma_span_min <= next.luma_span_max)
    {
        return Err(bad(
            "edge_radius must be within 0..32, spill_hue_keep within 0..8, and each span's min \
             at most its max"
                .into(),
        ));
    }
    if !next.garbage_is_valid() {
        return Err(bad(format!(
            "garbage must be [x0, y0, x1, y1] with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, not {:?}",
            next.garbage
        )));
    }
    next.screen = if next.auto { current.screen } else { None };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keying::ScreenModel;

    fn fitted() -> KeyParams {
        KeyParams {
            screen: Some(ScreenModel::flat([10, 190, 70])),
            ..Default::default()
        }
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_keeps_the_fit() {
        let next = merge_key(&fitted(), &json!({ "spill": 0.5 })).unwrap();
        assert_eq!(next.spill, 0.5);
        assert_eq!(next.inner, KeyParams::default().inner);
        assert!(
            next.screen.is_some(),
            "auto stays on: the fitted model stays"
        );
    }

    #[test]
    fn a_garbage_matte_is_set_and_kept_by_later_patches() {
        let next = merge_key(&fitted(), &json!({ "garbage": [0.1, 0.0, 0.85, 1.0] })).unwrap();
        assert_eq!(next.garbage, [0.1, 0.0, 0.85, 1.0]);
        let after = merge_key(&next, &json!({ "spill": 0.5 })).unwrap();
        assert_eq!(after.garbage, next.garbage);
    }

    #[test]
    fn a_manual_key_drops_the_fitted_model() {
        let next = merge_key(
            &fitted(),
            &json!({ "auto": false, "key_rgb": [0, 200, 90] }),
        )
        .unwrap();
        assert!(!next.auto && next.screen.is_none());
        assert_eq!(next.key_rgb, [0, 200, 90]);
    }

    #[test]
    fn bad_patches_are_refused_with_a_reason() {
        for patch in [
            json!({ "spill": 3.0 }),
            json!({ "inner": -0.1 }),
            json!({ "no_such_setting": 1 }),
            json!({ "key_rgb": "green" }),
            json!({ "edge_span_min": 2.0, "edge_span_max": 1.0 }),
            json!({ "garbage": [0.6, 0.0, 0.4, 1.0] }),
            json!({ "garbage": [0.0, 0.0, 1.0, 1.5] }),
            json!({ "garbage": [0.0, 0.5, 1.0, 0.5] }),
            json!({ "garbage": [0.0, 0.0, 1.0] }),
            json!([1, 2]),
        ] {
            let err = merge_key(&fitted(), &patch).unwrap_err();
            assert!(
                matches!(&err, ApiError::Invalid { code, .. } if *code == "bad_key"),
                "{patch}: {err:?}"
            );
        }
    }
}

/// `POST /api/hearings/{id}/gavel/{act}` (`open` or `close`) → the presiding judge strikes the
/// gavel: everyone hears it, the recording carries it, and its manifest marks the moment.
/// `400 bad_act` for another act.
pub async fn gavel(
    State(state): State<AppState>,
    who: Operator,
    Path((id, act)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.authorize(&state, Action::Gavel, &id).await?;
    let act = Gavel::parse(&act).ok_or_else(|| {
        ApiError::invalid(
            "bad_act",
            "the gavel opens (open) or closes (close) the court",
        )
    })?;
    let hearing = running(&state, &id).await?;
    hearing.strike_gavel(act, &who.actor());
    state
        .audit(AuditEvent::new(
            who.actor(),
            actions::GAVEL,
            Some(&id),
            json!({ "act": act.as_str() }),
        ))
        .await;
    Ok(Json(json!({ "act": act.as_str() })))
}

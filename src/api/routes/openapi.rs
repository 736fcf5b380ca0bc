//! The OpenAPI 3.1 document served at `/api/openapi.json`, built from [`ENDPOINTS`], the
//! list that the router's tests check route by route (every listed endpoint answers, none
//! with "no such route").

use axum::Json;
use serde_json::{json, Map, Value};

/// How an endpoint authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone.
    None,
    /// A portal session cookie.
    Session,
    /// An invitation token, `Authorization: Bearer TOKEN`.
    Invitation,
}

/// One documented endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// `get`, `post`, `delete`.
    pub method: &'static str,
    /// Path with `{param}`s.
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Who may call it.
    pub auth: Auth,
    /// JSON body schema, if any.
    pub body: Option<fn() -> Value>,
    /// The success status.
    pub ok: u16,
    /// What the success body is.
    pub ok_type: &'static str,
}

fn login_body() -> Value {
    json!({ "type": "object", "required": ["username", "password"],
            "properties": { "username": { "type": "string" }, "password": { "type": "string", "format": "password" } } })
}

fn hearing_body() -> Value {
    json!({ "type": "object", "required": ["case_number", "title"],
            "properties": {
                "case_number": { "type": "string", "maxLength": 200 },
                "title": { "type": "string", "maxLength": 200 },
                "scheduled_at": { "type": "string", "format": "date-time" },
                "locale": { "type": "string", "enum": ["en", "zh"] },
                "layout": { "type": "string" },
                "public": { "type": "boolean", "default": false } } })
}

fn state_body() -> Value {
    json!({ "type": "object", "required": ["state"],
            "properties": { "state": { "type": "string", "enum": ["open", "paused", "closed"] } } })
}

fn invite_body() -> Value {
    json!({ "type": "object", "required": ["role", "name"],
            "properties": {
                "role": { "type": "string", "enum": ["presiding_judge", "assessor", "clerk", "plaintiff", "defendant", "witness"] },
                "name": { "type": "string", "maxLength": 200 },
                "seat": { "type": "string" },
                "ttl_hours": { "type": "integer", "minimum": 1 } } })
}

fn public_body() -> Value {
    json!({ "type": "object", "required": ["public"], "properties": { "public": { "type": "boolean" } } })
}

fn watching_body() -> Value {
    json!({ "type": "object", "required": ["viewer"], "properties": { "viewer": { "type": "string", "pattern": "^[A-Za-z0-9]{1,64}$" } } })
}

fn mute_body() -> Value {
    json!({ "type": "object", "required": ["muted"], "properties": { "muted": { "type": "boolean" } } })
}

fn exhibit_show_body() -> Value {
    json!({ "type": "object", "properties": { "page": { "type": "integer", "minimum": 1, "default": 1 },
            "region": { "type": "string", "enum": ["page", "top", "middle", "bottom"], "default": "page" } } })
}
fn exhibit_witness_body() -> Value {
    json!({ "type": "object", "required": ["allowed"], "properties": { "allowed": { "type": "boolean" } } })
}
fn empty_body() -> Value {
    json!({ "type": "object" })
}

fn view_body() -> Value {
    json!({ "type": "object", "required": ["view"],
            "properties": { "view": { "type": ["string", "null"],
                "description": "wide, a preset of the layout (e.g. bench), speaker:SEAT, or null for the automatic director" } } })
}

fn key_body() -> Value {
    json!({ "type": "object", "description": "Any of the seat's key settings; fields not named keep their value.",
            "properties": {
                "auto": { "type": "boolean" },
                "key_rgb": { "type": "array", "items": { "type": "integer", "minimum": 0, "maximum": 255 }, "minItems": 3, "maxItems": 3 },
                "inner": { "type": "number", "minimum": 0, "maximum": 1 },
                "spill": { "type": "number", "minimum": 0, "maximum": 1 },
                "spill_hue_keep": { "type": "number", "minimum": 0, "maximum": 8 },
                "luma_tolerance": { "type": "number", "minimum": 0, "maximum": 1 },
                "edge_radius": { "type": "number", "minimum": 0, "maximum": 32 },
                "garbage": { "type": "array", "description": "Garbage matte [x0, y0, x1, y1] in the camera frame's uv; transparent outside. Needs x0 < x1 and y0 < y1.",
                             "items": { "type": "number", "minimum": 0, "maximum": 1 }, "minItems": 4, "maxItems": 4 } } })
}

const fn ep(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    body: Option<fn() -> Value>,
    ok: u16,
    ok_type: &'static str,
) -> Endpoint {
    Endpoint {
        method,
        path,
        summary,
        auth,
        body,
        ok,
        ok_type,
    }
}

/// Every REST endpoint.
pub const ENDPOINTS: &[Endpoint] = &[
    ep(
        "post",
        "/api/login",
        "Log in; sets the HttpOnly session cookie. 429 rate_limited after repeated failures.",
        Auth::None,
        Some(login_body),
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/logout",
        "Log out and clear the cookie.",
        Auth::Session,
        Some(empty_body),
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/me",
        "The logged-in account.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/permissions",
        "The permission table: for each action, which roles may.",
        Auth::None,
        None,
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearings",
        "Every hearing, newest first.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings",
        "Create a hearing (state scheduled).",
        Auth::Session,
        Some(hearing_body),
        201,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearings/{id}",
        "A hearing with its seats, invitations and recordings.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/state",
        "Open, pause or close. Closing stops the recording and seals the recordings.",
        Auth::Session,
        Some(state_body),
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/public",
        "Make a scheduled hearing public (it may be broadcast) or closed (never broadcast); 409 not_scheduled once it has opened. Audited.",
        Auth::Session,
        Some(public_body),
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearings/{id}/exhibits",
        "The hearing's exhibits (id, sha256, title, kind, size, pages, who uploaded them), the one on the evidence display and whether the witness may present. Takes an invitation token (Bearer) too.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/exhibits",
        "Upload an exhibit: the file as the body (Content-Type image/png, image/jpeg or application/pdf; at most 25 MiB, 40 megapixels, 500 pages), ?title=. 201 {id, sha256, ...}; the same file again 200. 400 bad_exhibit, exhibit_too_large, too_many_pages, bad_title; 415 for another type; 503 exhibit_renderer_busy when other PDFs held the node's renderers for 30 s, or the loaded node could not render the page in 60 s. The presiding judge, the clerk, the parties, accounts; the witness while allowed. Takes an invitation token (Bearer) too. Audited.",
        Auth::Session,
        None,
        201,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearings/{id}/exhibits/{exhibit}/file",
        "An exhibit's file, byte for byte as presented. Takes an invitation token (Bearer) too.",
        Auth::Session,
        None,
        200,
        "application/octet-stream",
    ),
    ep(
        "post",
        "/api/hearings/{id}/exhibits/{exhibit}/show",
        "Show an exhibit's page (body optional, page from 1) on the courtroom's evidence display; the exhibit already shown turns its page (only its presenter, the presiding judge or the clerk: 409 presented_by_another). While recording, the file is kept beside the recording and the event goes into its signed manifest. The exhibit `screen` is the screen the caller's page shares (a second sendonly video line of its connection; 409 no_screen for an account): the display follows it, and the manifest's events mark screen_shown and screen_hidden. A PDF page is rendered when first shown: 503 exhibit_renderer_busy when other PDFs held the node's renderers for 30 s, or the loaded node could not render the page in 60 s. Takes an invitation token (Bearer) too. Audited.",
        Auth::Session,
        Some(exhibit_show_body),
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/exhibits/{exhibit}/hide",
        "Take the exhibit (or `screen`, a shared screen) down: its presenter, the presiding judge or the clerk (403 otherwise). 409 not_on_display. Noted in the recording's manifest. Takes an invitation token (Bearer) too. Audited.",
        Auth::Session,
        Some(empty_body),
        200,
        "application/json",
    ),
    ep(
        "put",
        "/api/hearings/{id}/exhibits/witness",
        "Allow or forbid the witness to present exhibits (the presiding judge, the clerk). Takes an invitation token (Bearer) too. Audited.",
        Auth::Session,
        Some(exhibit_witness_body),
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/gavel/{act}",
        "The presiding judge strikes the gavel to open (open) or close (close) the court: everyone hears it, the recording and broadcast carry it, and the recording's manifest marks it (court_opened, court_closed). Takes the presiding judge's invitation token (Bearer). 400 bad_act. Audited.",
        Auth::Invitation,
        Some(empty_body),
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearings/{id}/broadcast",
        "The public broadcast: state (off, live, cut, ended), viewers, segments. Also takes a judge's or the clerk's invitation token (Bearer).",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/broadcast/{act}",
        "start or stop the broadcast (the clerk), cut it to the slate or resume it (the presiding judge or the clerk). Takes an invitation token (Bearer) too. 409 closed_to_public for a closed hearing. Audited.",
        Auth::Session,
        Some(empty_body),
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/watch/{id}",
        "What the public watch page shows: case number, title, court, hearing and broadcast state, playlist, viewers. 404 for an unknown or closed hearing.",
        Auth::None,
        None,
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/watch/{id}/watching",
        "A player says it is watching (every 5 s while it plays): counted among the viewers for 12 s. Never cached; the playlist stays cacheable. 404 for an unknown or closed hearing or one not running.",
        Auth::None,
        Some(watching_body),
        204,
        "",
    ),
    ep(
        "get",
        "/live/{id}/index.m3u8",
        "The live HLS playlist (CMAF segments); ?viewer=ID counts the player. Cacheable for 1 s. 404 for an unknown or closed hearing.",
        Auth::None,
        None,
        200,
        "application/vnd.apple.mpegurl",
    ),
    ep(
        "get",
        "/live/{id}/{run}/{file}",
        "The broadcast's init segment (init.mp4) or a media segment (seg-N.m4s) of run r<n>; immutable, cacheable for a day.",
        Auth::None,
        None,
        200,
        "video/mp4",
    ),
    ep(
        "get",
        "/live/{id}/replay.m3u8",
        "The replay: a VOD playlist of the broadcast as aired (slates included), once the hearing has ended, when the court keeps replays (broadcast.replays). 404 otherwise.",
        Auth::None,
        None,
        200,
        "application/vnd.apple.mpegurl",
    ),
    ep(
        "get",
        "/live/{id}/replay/{run}/{file}",
        "A replay file: init.mp4 or seg-N.m4s of run r<n>, as the replay playlist lists them; immutable.",
        Auth::None,
        None,
        200,
        "video/mp4",
    ),
    ep(
        "get",
        "/api/hearings/{id}/invitations",
        "The hearing's invitations.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/invitations",
        "Invite: a signed, expiring link for one role, seat and name.",
        Auth::Session,
        Some(invite_body),
        201,
        "application/json",
    ),
    ep(
        "delete",
        "/api/hearings/{id}/invitations/{inv}",
        "Revoke an invitation; whoever joined with it is removed.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearings/{id}/invitations/{inv}/qr.svg",
        "The invitation's link as a QR code (SVG); 409 invitation_inactive once revoked or expired.",
        Auth::Session,
        None,
        200,
        "image/svg+xml",
    ),
    ep(
        "post",
        "/api/hearings/{id}/participants/{pid}/mute",
        "Mute or unmute a participant for the others. Also takes a judge's or the clerk's invitation token (Bearer).",
        Auth::Session,
        Some(mute_body),
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/participants/{pid}/remove",
        "Remove a participant and revoke their invitation. Also takes a judge's or the clerk's invitation token (Bearer).",
        Auth::Session,
        Some(empty_body),
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/recording/start",
        "Start recording (the hearing must be open). Also takes a judge's or the clerk's invitation token (Bearer).",
        Auth::Session,
        Some(empty_body),
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/recording/stop",
        "Stop recording; answers once the files are finalised. Also takes a judge's or the clerk's invitation token (Bearer).",
        Auth::Session,
        Some(empty_body),
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/recording/pause",
        "Pause recording: the open segment closes, nothing is recorded until resumed; the manifest notes who and when. Also takes a judge's or the clerk's invitation token (Bearer).",
        Auth::Session,
        Some(empty_body),
        200,
        "application/json",
    ),
    ep(
        "post",
        "/api/hearings/{id}/recording/resume",
        "Resume a paused recording in a new segment; the manifest notes who and when. Also takes a judge's or the clerk's invitation token (Bearer).",
        Auth::Session,
        Some(empty_body),
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearings/{id}/view",
        "The camera view on air, the locked view if any, and the layout's views. Also takes a judge's or the clerk's invitation token (Bearer).",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "put",
        "/api/hearings/{id}/view",
        "Lock the camera on a view, or hand it back to the automatic director with null. Also takes a judge's or the clerk's invitation token (Bearer).",
        Auth::Session,
        Some(view_body),
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearings/{id}/seats/{seat}/key",
        "A seat's key settings and the screen colour the auto key has fitted.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "put",
        "/api/hearings/{id}/seats/{seat}/key",
        "Change a seat's key settings (any subset); takes effect on the next frame.",
        Auth::Session,
        Some(key_body),
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearings/{id}/recordings",
        "The hearing's recordings and their files.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearings/{id}/monitor",
        "Live monitor: participants, connection quality, recording state, failed media pipelines.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearing/monitor",
        "Live monitor for an invitee whose role may monitor.",
        Auth::Invitation,
        None,
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/hearings/{id}/monitor/composite.jpg",
        "The newest composite picture as a JPEG of the output size; 409 no_picture while there is none.",
        Auth::Session,
        None,
        200,
        "image/jpeg",
    ),
    ep(
        "get",
        "/api/hearing/monitor/composite.jpg",
        "The composite picture for an invitee whose role may monitor.",
        Auth::Invitation,
        None,
        200,
        "image/jpeg",
    ),
    ep(
        "get",
        "/api/recordings/{rid}/files",
        "A finished recording's files.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/recordings/{rid}/files/{name}",
        "One file; honours Range and If-Range (206, 416).",
        Auth::Session,
        None,
        200,
        "application/octet-stream",
    ),
    ep(
        "get",
        "/api/recordings/{rid}/bundle.zip",
        "Every file of the recording as one streamed zip.",
        Auth::Session,
        None,
        200,
        "application/zip",
    ),
    ep(
        "get",
        "/api/recordings/{rid}/evidence.zip",
        "The evidence package: the recording, the court's public key, the hearing's audit \
         trail and VERIFY.txt, as one streamed zip that `courtroom verify` accepts.",
        Auth::Session,
        None,
        200,
        "application/zip",
    ),
    ep(
        "get",
        "/api/recordings/{rid}/verify",
        "Verify a recording: segment hashes, hash chain, manifest signature.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/audit",
        "Audit trail entries, newest first (query: hearing, before, limit).",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
    ep(
        "get",
        "/api/audit/verify",
        "Check the audit trail's hash chain.",
        Auth::Session,
        None,
        200,
        "application/json",
    ),
];

/// The stable error codes a client may see.
pub const ERROR_CODES: &[&str] = &[
    "unauthenticated",
    "invalid_token",
    "expired_token",
    "forbidden",
    "cross_origin",
    "not_found",
    "bad_json",
    "payload_too_large",
    "bad_case_number",
    "bad_title",
    "bad_locale",
    "bad_layout",
    "bad_time",
    "bad_name",
    "bad_seat",
    "bad_path",
    "bad_credentials",
    "rate_limited",
    "bad_transition",
    "hearing_closed",
    "hearing_not_open",
    "already_recording",
    "not_recording",
    "recording_in_progress",
    "invitation_inactive",
    "no_picture",
    "internal",
];

/// Builds the document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let params: Vec<Value> = e
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let ok_response = if e.ok_type.is_empty() {
            json!({ "description": "success, no content" })
        } else {
            json!({ "description": "success", "content": { e.ok_type: {} } })
        };
        let mut op = json!({
            "summary": e.summary,
            "parameters": params,
            "responses": {
                e.ok.to_string(): ok_response,
                "default": { "description": "error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
            },
        });
        match e.auth {
            Auth::None => op["security"] = json!([]),
            Auth::Session => op["security"] = json!([{ "session": [] }]),
            Auth::Invitation => op["security"] = json!([{ "invitation": [] }]),
        }
        if let Some(body) = e.body {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": body() } } });
        }
        paths
            .entry(e.path)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("path item is an object")
            .insert(e.method.to_owned(), op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "courtroom",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The clerk portal's REST API. Errors are {\"error\": {\"code\", \"message\"}} with a stable code.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": crate::api::session::COOKIE },
                "invitation": { "type": "http", "scheme": "bearer" },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                        "code": { "type": "string", "enum": ERROR_CODES },
                        "message": { "type": "string" } } } },
                },
            },
        },
    })
}

/// `GET /api/openapi.json`.
pub async fn serve() -> Json<Value> {
    Json(document())
}

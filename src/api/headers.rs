//! Response headers that keep the pages safe to open: the participant's page carries its
//! invitation token in its URL, so it must not be framed, must not leak its URL as a
//! `Referer`, and may run only our own scripts.

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// The participant's page's Content Security Policy: our own scripts and styles only, no
/// framing, no plug-ins; the signalling WebSocket and the camera preview's media allowed.
pub const JOIN_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; media-src 'self' blob: mediastream:; \
     connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Added to every response: no MIME sniffing, no framing, no `Referer` (a page's URL may hold
/// an invitation token). Headers a handler set itself are kept.
pub async fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

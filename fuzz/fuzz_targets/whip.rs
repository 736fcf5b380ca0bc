//! A `POST /whip/{hearing}` request after its token: the first line of the input is the
//! `Content-Type` header, the rest the body. `courtroom::api::whip::offer_from_body`, then what
//! `answer_ingest` checks before building anything (`check_ingest_offer`, `parse_offer`).
#![no_main]

use courtroom::api::whip::offer_from_body;
use courtroom::rtc::offer::{check_ingest_offer, parse_offer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    // A header value that is not visible ASCII never reaches the handler as text.
    let content_type = std::str::from_utf8(content_type).unwrap_or("");
    if let Ok(sdp) = offer_from_body(content_type, body) {
        if check_ingest_offer(&sdp).is_ok() {
            let _ = parse_offer(sdp);
        }
    }
});

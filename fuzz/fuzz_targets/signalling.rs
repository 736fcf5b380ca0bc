//! The signalling WebSocket's text frames: `courtroom::api::signalling::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The WebSocket hands over text frames only (binary ones are refused before parsing).
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = courtroom::api::signalling::parse(text);
    }
});

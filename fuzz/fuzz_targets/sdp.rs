//! A client's SDP offer at our boundary, as it arrives in a signalling `offer` message:
//! `courtroom::rtc::offer::composite_line` (which codec the composite goes out in), then
//! `courtroom::rtc::offer::parse_offer` (the check every offer passes before a peer connection
//! is built).
#![no_main]

use courtroom::rtc::offer::{composite_line, parse_offer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sdp) = std::str::from_utf8(data) {
        let _ = composite_line(sdp);
        let _ = parse_offer(sdp.to_owned());
    }
});

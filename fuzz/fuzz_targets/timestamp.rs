//! RFC 3161 time-stamp replies and tokens (DER), as the recorder gets them from a TSA and as
//! `courtroom verify` reads them from a recording folder (`chain-NNNNN.tsr`,
//! `manifest.json.tsr`): `courtroom::record::timestamp::token_of_reply`, then `token_info`
//! on the token inside, and on the input itself as a bare token.
#![no_main]

use courtroom::record::timestamp::{token_info, token_of_reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = token_of_reply(data) {
        let _ = token_info(token);
    }
    let _ = token_info(data);
});

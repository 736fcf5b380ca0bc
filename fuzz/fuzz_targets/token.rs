//! Invitation tokens: `courtroom::api::auth::TokenKey::verify`, with a key ring (a signing key
//! with an id and an older one).
//!
//! A random token almost never carries a good HMAC, so half the inputs are signed here with
//! the ring's keys first (the first byte chooses): the fuzzer then reaches the claims' JSON,
//! which only someone holding the key could send, and the expiry check.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use courtroom::api::auth::TokenKey;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const SIGNING: [u8; 32] = [7; 32];
const OLDER: [u8; 32] = [9; 32];
const NOW: i64 = 1_800_000_000;

fn sign(key: &[u8; 32], body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(body.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let ring = TokenKey::ring(("k1".to_owned(), SIGNING), vec![("k0".to_owned(), OLDER)]);
    let token = match mode % 4 {
        // The token as sent: anything.
        0 => match std::str::from_utf8(rest) {
            Ok(t) => t.to_owned(),
            Err(_) => return,
        },
        // Claims JSON signed with the signing key (with and without its id) or the older one.
        m => {
            let body = URL_SAFE_NO_PAD.encode(rest);
            match m {
                1 => format!("{body}.{}.k1", sign(&SIGNING, &body)),
                2 => format!("{body}.{}", sign(&SIGNING, &body)),
                _ => format!("{body}.{}.k0", sign(&OLDER, &body)),
            }
        }
    };
    if let Ok(claims) = ring.verify(&token, NOW) {
        assert!(claims.exp > NOW, "an expired token verified");
        // What verifies re-signs to a token that verifies to the same claims.
        assert_eq!(ring.verify(&ring.sign(&claims), NOW).as_ref(), Ok(&claims));
    }
});

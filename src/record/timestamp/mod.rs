//! RFC 3161 time-stamping of recordings by an outside time-stamping authority (TSA).
//!
//! Off unless `record.tsa_url` is set. What is stamped, and where the token goes:
//! - When a segment closes, its chain entry: the imprint is the segment's `entry_hash` (the
//!   SHA-256 of its chain line, which commits to every earlier segment through the chain).
//!   The reply is kept as `chain-NNNNN.tsr` (`NNNNN` the segment's index).
//! - When the manifest is sealed at the end, the manifest itself: the imprint is the SHA-256
//!   of the exact bytes of the signed `manifest.json`. The reply is kept as `manifest.json.tsr`.
//!
//! Each request is a DER `TimeStampReq` (version 1, SHA-256, a random 64-bit nonce,
//! `certReq` true) sent by `POST` with `Content-Type: application/timestamp-query`. Once the
//! reply's status is granted and its imprint and nonce are ours, its `TimeStampToken` (a DER
//! CMS `ContentInfo`, every byte of it either signed or checked) is stored, so that
//! `openssl ts -verify -token_in -in FILE` reads it directly (docs/VERIFY.md).
//!
//! A TSA that is down or slow never holds up the recording: requests go through their own
//! thread ([`Stamper`]) with a timeout each. Every outcome, a failure included, is logged
//! through `tracing` and written to `timestamps.json` beside the manifest.
//!
//! The parts:
//! - [`rfc3161`]: the request, the reply and the token, with RustCrypto's `x509-tsp` and `cms`,
//!   and the checks of the token's fields that its signature does not cover;
//! - [`http`]: the `POST` to the TSA, with hyper's HTTP/1.1 client on a small current-thread
//!   runtime;
//! - [`stamper`]: the thread that asks, and `timestamps.json`;
//! - [`openssl`]: checking a stored token's signature with the `openssl` command.

pub mod http;
pub mod openssl;
pub mod rfc3161;
pub mod stamper;

pub use openssl::openssl_check;
pub use rfc3161::{parse_reply, request_der, token_info, token_of_reply, Reply, TokenInfo};
pub use stamper::{read_index, request_token, IndexEntry, Pending, Stamp, Stamper, TsaOptions};

/// The token over the sealed manifest.
pub const MANIFEST_TOKEN_FILE: &str = "manifest.json.tsr";
/// Every time-stamp request and its outcome (not signed: the tokens carry their own proof).
pub const INDEX_FILE: &str = "timestamps.json";

/// Errors while time-stamping or reading a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The TSA could not be reached, or answered something other than `200`.
    #[error("TSA request failed: {0}")]
    Http(String),
    /// The TSA refused the request (`PKIStatus` other than granted).
    #[error("TSA refused the request: status {0}")]
    Refused(u32),
    /// The reply or token is not the DER structure RFC 3161 describes.
    #[error("malformed time-stamp reply: {0}")]
    Malformed(String),
    /// The token does not answer our request (another imprint, nonce or hash).
    #[error("time-stamp token does not match the request: {0}")]
    Mismatch(String),
    /// Writing the token or the index failed.
    #[error("time-stamp I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The token file for segment `index`'s chain entry: `chain-00003.tsr`.
pub fn chain_token_file(index: u32) -> String {
    format!("chain-{index:05}.tsr")
}

/// The segment index in a chain token's file name, if it is one.
pub fn parse_chain_token_file(name: &str) -> Option<u32> {
    name.strip_prefix("chain-")?
        .strip_suffix(".tsr")
        .filter(|n| n.len() == 5)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_token_names_round_trip() {
        assert_eq!(chain_token_file(42), "chain-00042.tsr");
        assert_eq!(parse_chain_token_file(&chain_token_file(42)), Some(42));
        assert_eq!(parse_chain_token_file("chain-1.tsr"), None);
    }
}

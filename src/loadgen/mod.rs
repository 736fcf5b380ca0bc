//! Synthetic participants for load tests and benchmarks: real WebRTC (webrtc-rs) clients that
//! join with an invitation, publish a pre-encoded VP8 clip and Opus audio as a browser would,
//! and receive the composite ([`client`]); the clip ([`clip`]); how fast the composite's
//! timestamps run ([`composite_clock`]); where the server and the clients run and what CPU
//! they take ([`cores`]); and `courtroom bench hearing`,
//! which measures a server under that load ([`bench`]).

pub mod bench;
pub mod broadcast;
pub mod client;
pub mod clip;
pub mod composite_clock;
pub mod cores;
pub mod failover;
pub mod fixture;
pub mod roam;

/// Errors from the load generator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadgenError {
    /// Making or reading the media clip failed.
    #[error("clip: {0}")]
    Clip(String),
    /// Signalling failed.
    #[error("signalling: {0}")]
    Signalling(String),
    /// WebRTC failed.
    #[error("webrtc: {0}")]
    Rtc(String),
    /// The server under test failed.
    #[error("server: {0}")]
    Server(String),
}

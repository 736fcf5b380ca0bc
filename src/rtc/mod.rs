//! WebRTC transport with webrtc-rs: one peer connection per participant ([`peer`]), the
//! inbound RTCP the application acts on and what it says of the composite's link ([`rtcp`]),
//! the tasks that move media between the connection and the hearing ([`session`]), and the
//! composite's sample durations that keep its RTP timestamps on time ([`sample_clock`]), and
//! which received video track is a shared screen ([`screen`]), the composite's forward
//! error correction ([`fec`]), and how a browser is asked to resend its camera's lost packets
//! ([`nack`]).

pub mod fec;
pub mod nack;
pub mod offer;
pub mod peer;
pub mod rtcp;
pub mod sample_clock;
pub mod screen;
pub mod session;
mod step;

/// Errors from WebRTC.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtcError {
    /// The browser's offer could not be parsed or applied.
    #[error("the offer could not be used: {0}")]
    BadSdp(String),
    /// The offer's receive line for the courtroom video lists no codec the server can send
    /// (neither H.264 nor VP8). No retry can help: the browser must change.
    #[error("the offer's video receive line has neither H.264 nor VP8 (it offers {0})")]
    NoCommonCodec(String),
    /// The peer connection failed to set up.
    #[error("WebRTC setup failed: {0}")]
    Setup(String),
}

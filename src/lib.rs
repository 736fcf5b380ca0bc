//! `courtroom`: a virtual courtroom media server.
//!
//! Browsers send camera and microphone over WebRTC ([`rtc`]). Each camera is decoded
//! ([`media`]), keyed and seated in a rendered 3D courtroom ([`render`]) by one compositor per
//! hearing ([`hearing`]). The composite is encoded once and sent back to everyone, and recorded
//! with the mixed audio as evidence ([`record`]). Hearings and invitations live in SQLite
//! ([`store`]); the HTTP and WebSocket surface is [`api`]; settings come from [`config`].
#![deny(missing_docs)]

pub mod api;
pub mod archive;
pub mod broadcast;
pub mod bucket;
pub mod cluster;
pub mod config;
pub mod digest;
pub mod exhibit;
pub mod framing;
pub mod gpu;
pub mod hearing;
pub mod ids;
pub mod keying;
pub mod loadgen;
pub mod malloc;
pub mod media;
pub mod metrics;
pub mod permissions;
pub mod record;
pub mod render;
pub mod role;
pub mod rtc;
pub mod server;
pub mod store;
pub mod timefmt;

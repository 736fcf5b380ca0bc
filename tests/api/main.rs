//! The portal's REST API and the signalling socket, black-box against the server in this
//! process ([`support::TestApp`]). One test binary (one link of the crate) with a module per
//! concern:
//!
//! - `accounts`: logins, their rate limit, the session cookie;
//! - `broadcast`: the public gallery: public or closed, the live broadcast, the judge's cut;
//! - `capacity`: admission control at the node's capacity, `/metrics` and who may read it;
//! - `csrf`: cookie-borne changes from another origin refused;
//! - `exhibits`: exhibits on the evidence display and in the recording; who may present;
//!   hostile files;
//! - `gavel`: the presiding judge's gavel in the recording's audio and manifest;
//! - `exposure`: no server paths in the monitor, the page's security headers, 413 for big JSON;
//! - `hearings`: hearings and invitations, their validation and states, QR codes;
//! - `limits`: slow request heads, sockets that never join, telling sockets the server stops;
//! - `permissions`: invitees held to their role, refusals in the audit trail;
//! - `recordings`: recording from the API, downloads with ranges, zip bundles, path traversal;
//! - `monitor`: the monitor's composite picture, the camera view and key settings, muting and
//!   removing a participant;
//! - `surface`: the portal pages, the OpenAPI document against the routes, PostgreSQL;
//! - `signalling`: the WebSocket's bad input and its life with the hearing's states;
//! - `whip`: WHIP ingest (RFC 9725): its errors, seating, the roster, leaving.

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod broadcast;
mod capacity;
mod csrf;
mod exhibits;
mod exposure;
mod gavel;
mod hearings;
mod limits;
mod monitor;
mod permissions;
mod recordings;
mod signalling;
mod surface;
mod whip;

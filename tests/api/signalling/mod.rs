//! The signalling socket (`/ws`) against the demo hearing ([`crate::support::TestApp::demo`]):
//! bad input, and the socket's life with the hearing's states.

mod bad_input;
mod states;

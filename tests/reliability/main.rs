//! Reliability over time and under stress, at the level of the process: many join/leave
//! cycles during one recording must give back every thread, file descriptor and megabyte they
//! took (`churn`); SIGTERM must seal every recording within 5 s whatever clients are still
//! connected (`stop`); a five-minute hearing keeps its sync, memory, clock and record
//! (`soak`).
//!
//! `make churn` runs the churn test longer (`CHURN_CYCLES`, default 30 here) and writes its
//! curve (`CHURN_CSV`); `make soak` runs the soak for an hour (`SOAK_SECONDS`).

#[path = "../support/mod.rs"]
mod support;

mod churn;
mod resources;
mod soak;
mod stop;

//! The configuration: `courtroom::config::raw::parse` on the TOML file's text, then
//! `Settings::from_layers` with environment variables and `--set` flags. The input is the
//! file's text, then optionally a NUL byte and lines of `COURTROOM_KEY=value` (environment)
//! or `key=value` (`--set`).
#![no_main]

use std::path::Path;

use courtroom::config::{raw, Settings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (file, overrides) = text.split_once('\0').unwrap_or((text, ""));
    let Ok(table) = raw::parse(file, Path::new("courtroom.toml")) else {
        return;
    };
    let mut vars = Vec::new();
    let mut sets = Vec::new();
    for line in overrides.lines() {
        match line.split_once('=') {
            Some((name, value)) if name.starts_with(raw::ENV_PREFIX) => {
                vars.push((name.to_owned(), value.to_owned()))
            }
            _ => sets.push(line.to_owned()),
        }
    }
    if let Ok(settings) = Settings::from_layers(table, vars, &sets) {
        // What the server derives from the settings at start.
        let _ = settings.public_url();
        let _ = settings.database_url();
        let _ = settings.recordings_dir();
    }
});

//! The raw layer of configuration: a TOML table, then environment variables, then flags.
//!
//! Every key of the TOML file can be overridden. A key `video.fps` is overridden by the
//! environment variable `COURTROOM_VIDEO__FPS` and by the flag `--set video.fps=30`. Values are
//! parsed as TOML scalars where they can be (`30`, `true`, `1.5`) and as strings otherwise.

use std::path::Path;

use toml::{Table, Value};

use super::ConfigError;

/// Prefix of environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "COURTROOM_";

/// Reads a TOML file into a table. A missing file is an error: it was named explicitly.
pub fn load_file(path: &Path) -> Result<Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// Parses TOML text read from `path` (named in the error) into a table.
pub fn parse(text: &str, path: &Path) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Applies `COURTROOM_SECTION__KEY=value` variables from `vars` onto `table`.
pub fn apply_env(
    table: &mut Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let key = rest.to_ascii_lowercase().replace("__", ".");
        set_key(table, &key, &value)?;
    }
    Ok(())
}

/// Applies `key=value` overrides, as given with `--set`.
pub fn apply_sets(table: &mut Table, sets: &[String]) -> Result<(), ConfigError> {
    for set in sets {
        let (key, value) = set
            .split_once('=')
            .ok_or_else(|| ConfigError::BadOverride(set.clone()))?;
        set_key(table, key.trim(), value.trim())?;
    }
    Ok(())
}

/// Sets a dotted key in the table, creating sections as needed.
pub fn set_key(table: &mut Table, key: &str, value: &str) -> Result<(), ConfigError> {
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(ConfigError::BadOverride(format!("{key}={value}")));
    }
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().expect("split yields at least one part");
    let mut node = table;
    for part in parts {
        let entry = node
            .entry(part.to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        node = entry
            .as_table_mut()
            .ok_or_else(|| ConfigError::BadOverride(format!("{key}: {part} is not a section")))?;
    }
    node.insert(last.to_owned(), scalar(value));
    Ok(())
}

/// Parses a scalar (or an array, such as `["10.0.0.1"]`) the way TOML would, falling back to
/// a plain string.
fn scalar(value: &str) -> Value {
    let doc = format!("v = {value}");
    match doc.parse::<Table>() {
        Ok(mut t) => match t.remove("v") {
            Some(
                v @ (Value::Integer(_)
                | Value::Float(_)
                | Value::Boolean(_)
                | Value::String(_)
                | Value::Array(_)),
            ) => v,
            _ => Value::String(value.to_owned()),
        },
        Err(_) => Value::String(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_nested_keys_and_parses_numbers() {
        let mut t: Table = "[video]\nfps = 25\n".parse().unwrap();
        apply_env(
            &mut t,
            vec![
                ("COURTROOM_VIDEO__FPS".into(), "30".into()),
                ("COURTROOM_LISTEN".into(), "127.0.0.1:9000".into()),
                ("OTHER_THING".into(), "x".into()),
            ],
        )
        .unwrap();
        assert_eq!(t["video"]["fps"].as_integer(), Some(30));
        assert_eq!(t["listen"].as_str(), Some("127.0.0.1:9000"));
        assert!(!t.contains_key("other_thing"));
    }

    #[test]
    fn sets_reject_missing_equals_and_empty_keys() {
        let mut t = Table::new();
        assert!(apply_sets(&mut t, &["video.fps".into()]).is_err());
        assert!(apply_sets(&mut t, &["video..fps=1".into()]).is_err());
        apply_sets(&mut t, &["hearing.away_after_ms = 1500".into()]).unwrap();
        assert_eq!(t["hearing"]["away_after_ms"].as_integer(), Some(1500));
        apply_sets(&mut t, &["http.trusted_proxies=[\"10.0.0.1\"]".into()]).unwrap();
        assert_eq!(t["http"]["trusted_proxies"][0].as_str(), Some("10.0.0.1"));
    }

    #[test]
    fn set_into_a_scalar_is_an_error() {
        let mut t: Table = "listen = \"x\"".parse().unwrap();
        assert!(set_key(&mut t, "listen.port", "1").is_err());
    }
}

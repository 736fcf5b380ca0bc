//! Settings: one TOML file, overridable by environment variables and by flags.
//!
//! [`raw`] merges the three sources into one TOML table; this module validates that table into
//! [`Settings`]. Every key has a default that works out of the box, so no file is needed.

pub mod cluster;
pub mod raw;
pub mod sections;

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

pub use self::cluster::{ClusterSettings, StorageSettings};
pub use self::sections::{
    BroadcastSettings, CapacitySettings, HearingSettings, HttpSettings, RecordSettings,
    RenderSettings, RtcSettings, VideoSettings,
};

/// Errors while loading configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The named config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// An override was not `key=value`, or named a key inside a scalar.
    #[error("bad override {0:?}: expected KEY=VALUE with a dotted key such as video.fps=25")]
    BadOverride(String),
    /// The merged settings do not validate.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Validated settings for the whole server.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address the HTTP and WebSocket server listens on.
    pub listen: SocketAddr,
    /// Folder for the database, keys and recordings.
    pub data_dir: PathBuf,
    /// Base URL put in invitation links; defaults to `http://{listen}`.
    pub public_url: Option<String>,
    /// Database URL; defaults to a SQLite file in the data folder.
    pub database_url: Option<String>,
    /// `tracing` filter, as in `RUST_LOG`.
    pub log: String,
    /// The composite video.
    pub video: VideoSettings,
    /// Hearing behaviour.
    pub hearing: HearingSettings,
    /// WebRTC transport.
    pub rtc: RtcSettings,
    /// Rendering.
    pub render: RenderSettings,
    /// Evidence recordings.
    pub record: RecordSettings,
    /// The HTTP server's limits towards clients.
    pub http: HttpSettings,
    /// The cluster of nodes sharing PostgreSQL.
    pub cluster: ClusterSettings,
    /// Object storage for recordings.
    pub storage: StorageSettings,
    /// How much this node takes on before it turns hearings and people away.
    pub capacity: CapacitySettings,
    /// The public gallery's broadcast.
    pub broadcast: BroadcastSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            public_url: None,
            database_url: None,
            log: DEFAULT_LOG.into(),
            video: VideoSettings::default(),
            hearing: HearingSettings::default(),
            rtc: RtcSettings::default(),
            render: RenderSettings::default(),
            record: RecordSettings::default(),
            http: HttpSettings::default(),
            cluster: ClusterSettings::default(),
            storage: StorageSettings::default(),
            capacity: CapacitySettings::default(),
            broadcast: BroadcastSettings::default(),
        }
    }
}

/// Where settings come from, besides the defaults.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// A TOML file given with `--config`.
    pub file: Option<PathBuf>,
    /// `--set key=value` flags, and the dedicated flags turned into the same form.
    pub sets: Vec<String>,
}

impl Settings {
    /// Loads defaults, then the file, then `COURTROOM_*` variables, then flags.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        Self::load_with_env(sources, std::env::vars())
    }

    /// As [`Settings::load`], with the environment given explicitly (for tests).
    pub fn load_with_env(
        sources: &Sources,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let table = match &sources.file {
            Some(path) => raw::load_file(path)?,
            None => toml::Table::new(),
        };
        Self::from_layers(table, vars, &sources.sets)
    }

    /// The settings from the file's table (empty without a file), the `COURTROOM_*` variables
    /// in `vars` and the `--set` overrides, layered in that order over the defaults, then
    /// validated. Reads nothing itself.
    pub fn from_layers(
        mut table: toml::Table,
        vars: impl IntoIterator<Item = (String, String)>,
        sets: &[String],
    ) -> Result<Self, ConfigError> {
        raw::apply_env(&mut table, vars)?;
        raw::apply_sets(&mut table, sets)?;
        let settings: Settings = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_owned()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let v = &self.video;
        if v.width < 160 || v.height < 120 || v.width % 8 != 0 || v.height % 2 != 0 {
            return Err(ConfigError::Invalid(format!(
                "video size {}x{}: width must be a multiple of 8, height even, at least 160x120",
                v.width, v.height
            )));
        }
        if v.still_frame_ms > MAX_STILL_FRAME_MS {
            return Err(ConfigError::Invalid(format!(
                "video.still_frame_ms {} must be 0..={MAX_STILL_FRAME_MS} (a recording's video \
                 must not stop for a second or more while the picture is still; 0 encodes every tick)",
                v.still_frame_ms
            )));
        }
        if !(1..=60).contains(&v.fps) {
            return Err(ConfigError::Invalid(format!(
                "video.fps {} must be 1..=60",
                v.fps
            )));
        }
        if !(1..=3600).contains(&self.record.segment_seconds) {
            return Err(ConfigError::Invalid(format!(
                "record.segment_seconds {} must be 1..=3600",
                self.record.segment_seconds
            )));
        }
        if !self.record.tsa_url.is_empty() && !self.record.tsa_url.starts_with("http://") {
            return Err(ConfigError::Invalid(format!(
                "record.tsa_url {:?} must be empty (off) or an http:// URL",
                self.record.tsa_url
            )));
        }
        if !(1..=300).contains(&self.record.tsa_timeout_seconds) {
            return Err(ConfigError::Invalid(format!(
                "record.tsa_timeout_seconds {} must be 1..=300",
                self.record.tsa_timeout_seconds
            )));
        }
        let h = &self.http;
        for (key, ms, range) in [
            (
                "header_read_timeout_ms",
                h.header_read_timeout_ms,
                100..=300_000,
            ),
            ("stop_drain_ms", h.stop_drain_ms, 0..=60_000),
            (
                "unjoined_socket_timeout_ms",
                h.unjoined_socket_timeout_ms,
                100..=3_600_000,
            ),
        ] {
            if !range.contains(&ms) {
                return Err(ConfigError::Invalid(format!(
                    "http.{key} {ms} must be {}..={}",
                    range.start(),
                    range.end()
                )));
            }
        }
        if !(1..=100_000).contains(&h.sockets_per_address) {
            return Err(ConfigError::Invalid(format!(
                "http.sockets_per_address {} must be 1..=100000",
                h.sockets_per_address
            )));
        }
        cluster::validate(&self.cluster, &self.storage, self.database_url.as_deref())?;
        let layout = &self.hearing.layout;
        if !is_layout_name(layout) {
            return Err(ConfigError::Invalid(format!(
                "hearing.layout {layout:?} must be a layout's name (letters, digits, _ and -), \
                 not a path"
            )));
        }
        if !(1..=MAX_INVITATION_TTL_HOURS).contains(&self.hearing.invitation_ttl_hours) {
            return Err(ConfigError::Invalid(format!(
                "hearing.invitation_ttl_hours {} must be 1..={MAX_INVITATION_TTL_HOURS} (an \
                 invitation that has expired when it is made helps nobody)",
                self.hearing.invitation_ttl_hours
            )));
        }
        if !["auto", "gpu", "cpu"].contains(&self.render.adapter.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "render.adapter {:?} must be auto, gpu or cpu",
                self.render.adapter
            )));
        }
        Ok(())
    }

    /// The base URL for invitation links.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The database URL, defaulting to `sqlite://DATA/courtroom.db`.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("courtroom.db").display()
            )
        })
    }

    /// Where recordings go.
    pub fn recordings_dir(&self) -> PathBuf {
        self.data_dir.join("recordings")
    }

    /// The assets folder: configured, or the one shipped beside the code.
    pub fn assets_dir(&self) -> PathBuf {
        self.render
            .assets_dir
            .clone()
            .unwrap_or_else(default_assets_dir)
    }
}

/// Whether `name` can name a layout in `assets/layouts/`: 1 to 64 letters, digits, `_` and
/// `-`, so never a path.
pub fn is_layout_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The default `tracing` filter: our own news at `info`, the WebRTC stack's at `warn`, and
/// without the three warnings webrtc-rs prints for every healthy connection as it starts (a
/// DTLS server name it does not need, ICE pinged before candidates came, SRTP written before
/// its keys: each is normal on the way up, and drowned the real warnings); and the C2PA
/// library's at `warn` (it logs each step of hashing a segment at `info`).
pub const DEFAULT_LOG: &str = "info,webrtc=warn,rtc=warn,rtc_ice=warn,\
     rtc_dtls::config=error,rtc_ice::agent=error,rtc::peer_connection::handler=error,c2pa=warn";

/// The longest `video.still_frame_ms`: `courtroom verify` allows a segment's video to end a
/// second before its listed end.
pub const MAX_STILL_FRAME_MS: u64 = 900;

/// The longest an invitation may stay valid: a year.
pub const MAX_INVITATION_TTL_HOURS: u64 = 24 * 366;

/// The source tree this program was built from, if it is still there: `CARGO_MANIFEST_DIR` as
/// cargo sets it when it runs the program (tests, benches, `cargo run`), else as it was when
/// compiled. The value cargo passes at run time comes first: a target folder shared between
/// checkouts (CI's cache) keeps the compile-time path of whichever checkout built it, because
/// cargo does not rebuild when only the checkout's path changes.
pub fn source_tree() -> Option<PathBuf> {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::iter::once(PathBuf::from(env!("CARGO_MANIFEST_DIR"))))
        .find(|dir| dir.join("Cargo.toml").is_file())
}

/// `assets/` in the source tree when run from it ([`source_tree`]), else beside the executable,
/// else in the working folder.
pub fn default_assets_dir() -> PathBuf {
    if let Some(beside_source) = source_tree()
        .map(|tree| tree.join("assets"))
        .filter(|dir| dir.is_dir())
    {
        return beside_source;
    }
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|p| p.join("assets")));
    match beside_exe {
        Some(dir) if dir.is_dir() => dir,
        // The working folder's, e.g. a script run from a checkout whose binary another
        // checkout built.
        _ => PathBuf::from("assets"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_log_quiets_only_webrtc_rs_start_up_warnings() {
        let filter = tracing_subscriber::EnvFilter::new(DEFAULT_LOG);
        let subscriber = tracing_subscriber::fmt().with_env_filter(filter).finish();
        tracing::subscriber::with_default(subscriber, || {
            assert!(!tracing::enabled!(target: "rtc_dtls::config", tracing::Level::WARN));
            assert!(!tracing::enabled!(target: "rtc_ice::agent", tracing::Level::WARN));
            assert!(tracing::enabled!(target: "rtc_ice::agent", tracing::Level::ERROR));
            assert!(tracing::enabled!(target: "rtc_ice::candidate", tracing::Level::WARN));
            assert!(tracing::enabled!(target: "rtc_srtp", tracing::Level::WARN));
            assert!(!tracing::enabled!(target: "rtc_srtp", tracing::Level::INFO));
            assert!(tracing::enabled!(target: "courtroom::hearing", tracing::Level::INFO));
            assert!(!tracing::enabled!(target: "c2pa::context", tracing::Level::INFO));
            assert!(tracing::enabled!(target: "c2pa::context", tracing::Level::WARN));
        });
    }

    #[test]
    fn capacity_defaults_follow_the_cores_and_settings_win() {
        let auto = CapacitySettings::default();
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        assert_eq!(auto.hearings(), (cores / 2).max(1));
        assert_eq!(auto.participants(), auto.hearings() * 10);
        let set = Settings::load_with_env(
            &Sources {
                file: None,
                sets: vec![
                    "capacity.hearings=3".into(),
                    "capacity.participants=7".into(),
                ],
            },
            Vec::new(),
        )
        .unwrap();
        assert_eq!(set.capacity.hearings(), 3);
        assert_eq!(set.capacity.participants(), 7);
        let only_hearings = CapacitySettings {
            hearings: 4,
            participants: 0,
            ..Default::default()
        };
        assert_eq!(only_hearings.participants(), 40);
    }

    #[test]
    fn a_layout_path_and_an_expired_invitation_lifetime_are_refused() {
        for (set, key) in [
            ("hearing.layout=\"../../etc\"", "hearing.layout"),
            ("hearing.layout=\"\"", "hearing.layout"),
            ("hearing.invitation_ttl_hours=0", "invitation_ttl_hours"),
            ("video.still_frame_ms=1000", "still_frame_ms"),
            (
                "hearing.invitation_ttl_hours=100000",
                "invitation_ttl_hours",
            ),
        ] {
            let sources = Sources {
                file: None,
                sets: vec![set.to_owned()],
            };
            let err = Settings::load_with_env(&sources, Vec::new()).unwrap_err();
            assert!(err.to_string().contains(key), "{set}: {err}");
        }
        let fine = Sources {
            file: None,
            sets: vec![
                "hearing.layout=\"mediation\"".into(),
                "hearing.invitation_ttl_hours=1".into(),
            ],
        };
        assert!(Settings::load_with_env(&fine, Vec::new()).is_ok());
    }

    #[test]
    fn defaults_work_without_any_source() {
        let s = Settings::load_with_env(&Sources::default(), Vec::new()).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.public_url(), "http://127.0.0.1:8080");
        assert!(s.database_url().starts_with("sqlite://"));
    }

    #[test]
    fn file_then_env_then_flags_in_that_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1\"\n[video]\nfps = 20\nwidth = 640\n",
        )
        .unwrap();
        let sources = Sources {
            file: Some(file),
            sets: vec!["video.fps=30".into()],
        };
        let env = vec![
            ("COURTROOM_VIDEO__FPS".to_owned(), "24".to_owned()),
            ("COURTROOM_VIDEO__HEIGHT".to_owned(), "360".to_owned()),
        ];
        let s = Settings::load_with_env(&sources, env).unwrap();
        assert_eq!(s.listen.port(), 1);
        assert_eq!(s.video.width, 640, "from the file");
        assert_eq!(s.video.height, 360, "from the environment");
        assert_eq!(s.video.fps, 30, "the flag wins over env and file");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_clear_errors() {
        let err = Settings::load_with_env(
            &Sources {
                file: None,
                sets: vec!["video.fsp=30".into()],
            },
            Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("fsp"), "{err}");
        let err = Settings::load_with_env(
            &Sources {
                file: None,
                sets: vec!["video.width=641".into()],
            },
            Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("multiple of 8"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "listen = ").unwrap();
        let err = Settings::load_with_env(
            &Sources {
                file: Some(file),
                sets: vec![],
            },
            Vec::new(),
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }));
    }

    #[test]
    fn tsa_url_comes_from_env_or_flag_and_must_be_http() {
        let env = vec![(
            "COURTROOM_RECORD__TSA_URL".to_owned(),
            "http://127.0.0.1:3180/tsr".to_owned(),
        )];
        let s = Settings::load_with_env(&Sources::default(), env).unwrap();
        assert_eq!(s.record.tsa_url, "http://127.0.0.1:3180/tsr");
        assert!(
            Settings::default().record.tsa_url.is_empty(),
            "off by default"
        );
        let s = Settings::load_with_env(
            &Sources {
                file: None,
                sets: vec!["record.tsa_ca_file=/etc/tsa-ca.pem".into()],
            },
            Vec::new(),
        )
        .unwrap();
        assert_eq!(s.record.tsa_ca_file, Some(PathBuf::from("/etc/tsa-ca.pem")));
        let err = Settings::load_with_env(
            &Sources {
                file: None,
                sets: vec!["record.tsa_url=https://tsa.example/".into()],
            },
            Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("tsa_url"), "{err}");
    }
}

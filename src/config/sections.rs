//! The sections of [`Settings`](super::Settings) below the top level: `[video]`,
//! `[hearing]`, `[rtc]`, `[render]`, `[record]`, `[http]`, `[capacity]` and `[broadcast]`, each with the
//! defaults that work out of the box.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Composite video output.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VideoSettings {
    /// Output width in pixels (a multiple of 8).
    pub width: u32,
    /// Output height in pixels (even).
    pub height: u32,
    /// Compositor ticks, and output frames, per second.
    pub fps: u32,
    /// H.264 target bitrate.
    pub bitrate_kbps: u32,
    /// Seconds between forced keyframes.
    pub keyframe_interval_s: u32,
    /// How often a picture that does not change (nobody seated, every camera stalled, a
    /// paused hearing) is encoded, in milliseconds; 0 encodes every tick. At most 900, so a
    /// recording's segment never ends far from its last frame (`hearing::still`).
    pub still_frame_ms: u64,
}

/// Hearing behaviour.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HearingSettings {
    /// A participant whose camera sent nothing for this long is shown as away.
    pub away_after_ms: u64,
    /// Find each seated face (OpenCV, 2 Hz) and crop the camera so the head sits at its seat's
    /// height and size; off shows each camera frame whole, its excess cut evenly.
    pub face_framing: bool,
    /// Name of the scene layout in `assets/layouts/`.
    pub layout: String,
    /// How long invitation links stay valid.
    pub invitation_ttl_hours: u64,
}

/// WebRTC transport.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RtcSettings {
    /// Address ICE gathers host candidates on. Loopback by default; set to the host's address
    /// to serve other machines.
    pub udp_ip: IpAddr,
}

/// Rendering.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RenderSettings {
    /// `auto` (a GPU if present, else CPU), `gpu`, or `cpu` (Mesa lavapipe).
    pub adapter: String,
    /// Folder holding `layouts/`; defaults to the `assets/` folder shipped with the code.
    pub assets_dir: Option<PathBuf>,
    /// Draw only the rows of each camera frame its person is in (`keying::coverage`); `false`
    /// draws every seat's whole billboard: the same picture at more cost (a paired bench's
    /// baseline, or a fallback should the rows ever miss part of someone).
    pub subject_rows: bool,
}

/// Evidence recordings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RecordSettings {
    /// Length of each composite segment file, in seconds (a segment closes at the first
    /// keyframe at or after this length, and the encoder is asked for one there).
    pub segment_seconds: u32,
    /// RFC 3161 time-stamping authority, `http://HOST[:PORT]/PATH`; empty (the default) turns
    /// time-stamping off. Each closed segment's chain entry and the sealed manifest are
    /// stamped there, off the recording's path ([`crate::record::timestamp`]).
    pub tsa_url: String,
    /// The TSA's CA certificate (PEM), with which `courtroom verify` checks the tokens' chain.
    pub tsa_ca_file: Option<PathBuf>,
    /// How long one time-stamp request may take, in seconds, before it is given up.
    pub tsa_timeout_seconds: u32,
    /// Embed content credentials (C2PA) in each segment, signed with the court's certificate
    /// (made on first use in `DATA/content-credentials/`; `court-ca.pem` there is the trust
    /// anchor to give a C2PA verifier).
    pub content_credentials: bool,
    /// The court's name, as content credentials and their certificate say it.
    pub court_name: String,
}

/// The HTTP server's limits towards clients.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// A request's head must arrive within this many milliseconds (also the longest an idle
    /// keep-alive connection is kept), or the connection is closed.
    pub header_read_timeout_ms: u64,
    /// On SIGTERM, how long open requests may take to finish before their connections are
    /// closed; recordings are sealed meanwhile, whatever the clients do.
    pub stop_drain_ms: u64,
    /// A signalling socket that has not joined (or is not waiting for its hearing) is closed
    /// after this many milliseconds without a message.
    pub unjoined_socket_timeout_ms: u64,
    /// Reverse proxies in front of the server: from these peers only, `X-Forwarded-For`
    /// names the client (the login limit counts per client). Empty: none.
    pub trusted_proxies: Vec<IpAddr>,
    /// `GET /metrics` answers the node's own loopback address, and anyone sending
    /// `Authorization: Bearer` with this token. Empty (the default): loopback only.
    pub metrics_token: String,
    /// Signalling sockets one client address may hold open at once (loopback is not
    /// counted); one more is refused with 429.
    pub sockets_per_address: usize,
}

/// What one node takes on at once. Past it, a new hearing or person is refused with a clear
/// error (`no_capacity`) rather than accepted only to make every hearing stutter.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CapacitySettings {
    /// Hearings running at once; 0: one per two CPU cores, at least one (a 5-person hearing
    /// with recording takes about a core on lavapipe, `docs/BENCHMARKS.md`). In a cluster,
    /// `cluster.capacity` wins when set.
    pub hearings: u32,
    /// People connected at once across this node's hearings; 0: ten per hearing of capacity.
    /// Someone taking back their own seat is never counted twice.
    pub participants: u32,
    /// When the node falls behind, every hearing on it renders the same share of its
    /// pictures (`hearing::pace`; audio is never shed). `false`: each hearing drops the ticks
    /// it misses by itself (the comparison run of `courtroom bench hearing`).
    pub shed_evenly: bool,
}

impl Default for CapacitySettings {
    fn default() -> Self {
        Self {
            hearings: 0,
            participants: 0,
            shed_evenly: true,
        }
    }
}

impl CapacitySettings {
    /// Hearings this node runs at most, with 0 resolved against the CPU count.
    pub fn hearings(&self) -> usize {
        if self.hearings > 0 {
            return self.hearings as usize;
        }
        (std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            / 2)
        .max(1)
    }

    /// People this node serves at once, with 0 resolved from [`Self::hearings`].
    pub fn participants(&self) -> usize {
        if self.participants > 0 {
            return self.participants as usize;
        }
        self.hearings() * 10
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 10_000,
            stop_drain_ms: 2_000,
            unjoined_socket_timeout_ms: 20_000,
            trusted_proxies: Vec::new(),
            metrics_token: String::new(),
            sockets_per_address: 32,
        }
    }
}

impl Default for RecordSettings {
    fn default() -> Self {
        Self {
            segment_seconds: 10,
            tsa_url: String::new(),
            tsa_ca_file: None,
            tsa_timeout_seconds: 10,
            content_credentials: true,
            court_name: "Internet Court".into(),
        }
    }
}

impl Default for VideoSettings {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 25,
            bitrate_kbps: 2500,
            keyframe_interval_s: 2,
            still_frame_ms: 500,
        }
    }
}

impl Default for HearingSettings {
    fn default() -> Self {
        Self {
            away_after_ms: 3000,
            face_framing: true,
            layout: "courtroom".into(),
            invitation_ttl_hours: 24 * 7,
        }
    }
}

impl Default for RtcSettings {
    fn default() -> Self {
        Self {
            udp_ip: IpAddr::from([127, 0, 0, 1]),
        }
    }
}

impl Default for RenderSettings {
    fn default() -> Self {
        Self {
            adapter: "auto".into(),
            assets_dir: None,
            subject_rows: true,
        }
    }
}

/// The public gallery's broadcast.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BroadcastSettings {
    /// Keep each public hearing's broadcast as it was aired (the slate wherever it was cut or
    /// paused) in `DATA/replays/`, and offer it on the watch page once the hearing ends.
    /// Off by default: replays are up to the court.
    pub replays: bool,
    /// `courtroom demo` puts its public hearings on air at once (`false`: the clerk starts
    /// them; `courtroom bench hearing` measures the hearings without it).
    pub demo_on_air: bool,
}

impl Default for BroadcastSettings {
    fn default() -> Self {
        Self {
            replays: false,
            demo_on_air: true,
        }
    }
}

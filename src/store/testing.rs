//! Throwaway databases for tests: a SQLite file in a fresh folder, or a fresh database in a
//! private PostgreSQL cluster that this process starts itself.
//!
//! The cluster is made once per test process with Debian's `initdb` and `pg_ctl` (package
//! `postgresql`, found under `/usr/lib/postgresql/*/bin`, or in `COURTROOM_PG_BIN`), in a
//! folder under the temp dir, listening on a free loopback port with `trust` authentication.
//! PostgreSQL refuses to run as root, so under root the cluster belongs to the `postgres`
//! system user (made by the package) and its tools run through `runuser`. A small watchdog
//! shell stops the cluster and deletes its folder once the test process has exited, since Rust
//! runs no destructors for statics.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use sqlx::{Connection, Executor};

use super::{Backend, Store};

/// A database that lives as long as this value (SQLite) or the test process (PostgreSQL).
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL, for [`Store::open`] or the server's `database_url`.
    pub url: String,
    /// Which kind it is.
    pub backend: Backend,
    _dir: Option<TempFolder>,
}

/// A folder removed on drop.
#[derive(Debug)]
struct TempFolder(PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let salt: u32 = rand::random();
    format!("{prefix}_{}_{n}_{salt:08x}", std::process::id())
}

impl TestDatabase {
    /// A new, empty database of the given kind.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A SQLite file in a new folder.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique_name("courtroom-sqlite"));
        std::fs::create_dir_all(&dir).expect("create temp folder");
        let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
        Self {
            url,
            backend: Backend::Sqlite,
            _dir: Some(TempFolder(dir)),
        }
    }

    /// A new database in this process's PostgreSQL cluster (started on first use).
    /// Panics with a clear message when PostgreSQL is not installed.
    pub async fn postgres() -> Self {
        // Blocks this test's thread the first time (seconds); tests own their runtimes.
        let cluster = CLUSTER
            .get_or_init(PgCluster::start)
            .clone()
            .unwrap_or_else(|e| panic!("cannot start a PostgreSQL test cluster: {e}"));
        let name = unique_name("t");
        sqlx::any::install_default_drivers();
        let mut admin = sqlx::AnyConnection::connect(&cluster.url("postgres"))
            .await
            .expect("connect to the test cluster");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        let _ = admin.close().await;
        Self {
            url: cluster.url(&name),
            backend: Backend::Postgres,
            _dir: None,
        }
    }

    /// Opens the store on it.
    pub async fn open(&self) -> Store {
        Store::open(&self.url).await.expect("open store")
    }
}

static CLUSTER: OnceLock<Result<PgCluster, String>> = OnceLock::new();

/// A running PostgreSQL cluster.
#[derive(Debug, Clone)]
struct PgCluster {
    port: u16,
    bin: PathBuf,
    data: PathBuf,
    dir: PathBuf,
    options: String,
    as_root: bool,
}

/// Stops this process's PostgreSQL test cluster (a database outage, for tests); connections
/// fail until [`resume_postgres`]. Panics if no cluster was started.
pub fn pause_postgres() {
    let c = CLUSTER
        .get()
        .and_then(|c| c.as_ref().ok())
        .expect("a PostgreSQL test cluster");
    c.pg_ctl(&["-m", "immediate", "stop"])
        .unwrap_or_else(|e| panic!("cannot stop PostgreSQL: {e}"));
}

/// Starts the cluster [`pause_postgres`] stopped, on the same port with the same data.
pub fn resume_postgres() {
    let c = CLUSTER
        .get()
        .and_then(|c| c.as_ref().ok())
        .expect("a PostgreSQL test cluster");
    let options = c.options.clone();
    c.pg_ctl(&["-w", "-t", "60", "-o", &options, "start"])
        .unwrap_or_else(|e| panic!("cannot start PostgreSQL again: {e}"));
}

impl PgCluster {
    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let mut c = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        c.current_dir(&self.dir)
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(args);
        run(&mut c)
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://courtroom@127.0.0.1:{}/{db}", self.port)
    }

    fn bin_dir() -> Result<PathBuf, String> {
        if let Ok(dir) = std::env::var("COURTROOM_PG_BIN") {
            return Ok(PathBuf::from(dir));
        }
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|_| {
                "PostgreSQL is not installed (no /usr/lib/postgresql): run scripts/install-deps.sh"
                    .to_owned()
            })?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").exists().then_some((version, bin))
            })
            .collect();
        found.sort();
        found
            .pop()
            .map(|(_, b)| b)
            .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_owned())
    }

    fn start() -> Result<Self, String> {
        let bin = Self::bin_dir()?;
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let dir = std::env::temp_dir().join(unique_name("courtroom-pg"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if as_root {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir))?;
        }
        let tool = |name: &str| {
            let mut c = if as_root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(name));
                c
            } else {
                Command::new(bin.join(name))
            };
            c.current_dir(&dir);
            c
        };
        let data = dir.join("data");
        run(tool("initdb").arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "courtroom",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            dir.display()
        );
        run(tool("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]))?;
        spawn_watchdog(&bin.join("pg_ctl"), &dir, &data, as_root)?;
        tracing::info!(port, dir = %dir.display(), "PostgreSQL test cluster started");
        Ok(Self {
            port,
            bin,
            data,
            dir,
            options,
            as_root,
        })
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{:?} failed: {}{}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Stops the cluster and removes its folder when this process is gone.
fn spawn_watchdog(pg_ctl: &Path, dir: &Path, data: &Path, as_root: bool) -> Result<(), String> {
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 0.5; done; {stop} -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        stop = if as_root {
            format!("runuser -u postgres -- '{}'", pg_ctl.display())
        } else {
            format!("'{}'", pg_ctl.display())
        },
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cluster watchdog: {e}"))?;
    Ok(())
}

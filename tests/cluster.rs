//! A real cluster on loopback (PostgreSQL, SeaweedFS, `courtroom serve` nodes): an owner
//! SIGKILLed and another paused, the bucket down for 30 s, the database down for 20 s, and a
//! node drained; each with synthetic participants and a running recording.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use courtroom::loadgen::clip::Clip;
use courtroom::loadgen::failover::{
    self, clerk_session, invite, join_reply, make_hearing, only_recording, post, wait_all_decoding,
    FailoverConfig,
};
use courtroom::loadgen::fixture::{FixtureConfig, LocalCluster};
use courtroom::loadgen::roam::{roam, RoamLog};
use courtroom::record::manifest::Manifest;
use courtroom::record::RecordingState;
use courtroom::role::Role;

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_courtroom"))
}

/// The checkout under test (at run time: a shared target folder keeps another checkout's
/// compile-time path).
fn repo() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

/// The targets of issue "Many nodes", measured by the same code as `courtroom bench failover`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_owner_killed_then_another_paused_loses_nothing() {
    let lease_ttl_s = 6;
    let r = failover::run(&FailoverConfig {
        exe: exe(),
        repo: repo(),
        nodes: 3,
        lease_ttl_s,
        segment_s: 2,
        participants: 3,
    })
    .await
    .expect("the failover scenario runs");
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
    let takeover = r.takeover_ms.expect("every participant decodes again");
    assert!(takeover <= 15_000, "takeover {takeover} ms");
    // The public broadcast the clerk had on air is on air again on the new owner.
    let back = r.broadcast_back_ms.expect("the broadcast is back on air");
    assert!(back <= 20_000, "broadcast back after {back} ms");
    assert!(r.sealed_segments_before_kill >= 2, "{r:?}");
    assert_eq!(r.sealed_segments_lost, 0);
    let gap = r.media_gap_ms.expect("a gap is measured");
    assert!(
        gap <= (lease_ttl_s as i64 + 5) * 1000,
        "media gap {gap} ms over TTL + 5 s"
    );
    assert_eq!(r.recordings_verified, 2, "{:?}", r.verify_failures);
    assert!(
        r.stale_takeover_ms.is_some(),
        "the paused owner's hearing moved"
    );
    assert_eq!(r.stale_owner_writes, 0);
    assert_eq!(r.double_placements, 0);
    assert_eq!(r.concurrent_join_epoch, 1);
}

struct Hearing {
    id: String,
    cookie: String,
    spare_token: String,
    logs: Vec<Arc<Mutex<RoamLog>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn hearing_with_participants(cluster: &LocalCluster, n: usize) -> Hearing {
    let store = cluster.store().await;
    let keys = courtroom::api::keys::load_cluster_keys(&store)
        .await
        .unwrap();
    let id = make_hearing(&store, "outage").await.unwrap();
    let urls: Vec<String> = cluster.nodes.iter().map(|n| n.url.clone()).collect();
    let clip = Arc::new(Clip::synthetic(4, [60, 60, 200]).unwrap());
    let seats = [
        (Role::PresidingJudge, "presiding_judge"),
        (Role::Plaintiff, "plaintiff"),
        (Role::Defendant, "defendant"),
    ];
    let mut logs = Vec::new();
    let mut tasks = Vec::new();
    for (role, seat) in seats.into_iter().take(n) {
        let token = invite(&store, &keys.token, &id, role, seat).await.unwrap();
        let log = Arc::new(Mutex::new(RoamLog::default()));
        logs.push(log.clone());
        tasks.push(tokio::spawn(roam(
            urls.clone(),
            token,
            clip.clone(),
            Instant::now() + Duration::from_secs(900),
            IpAddr::from([127, 0, 0, 1]),
            log,
        )));
    }
    wait_all_decoding(
        &logs,
        Instant::now() - Duration::from_secs(1),
        Duration::from_secs(90),
    )
    .await
    .expect("participants decode");
    let cookie = clerk_session(&store, &urls[0]).await.unwrap();
    post(
        &urls[0],
        &format!("/api/hearings/{id}/recording/start"),
        &cookie,
    )
    .await
    .expect("recording starts through any node");
    let spare_token = invite(&store, &keys.token, &id, Role::Witness, "witness")
        .await
        .unwrap();
    Hearing {
        id,
        cookie,
        spare_token,
        logs,
        tasks,
    }
}

fn sessions(h: &Hearing) -> usize {
    h.logs
        .iter()
        .map(|l| l.lock().unwrap().sessions.len())
        .sum()
}

async fn owner_index(cluster: &LocalCluster, hearing: &str) -> usize {
    let store = cluster.store().await;
    let (_, url) = store
        .hearing_owner(hearing)
        .await
        .unwrap()
        .expect("an owner");
    cluster.node_of(&url).unwrap()
}

/// Every segment the owner's manifest lists, and whether the bucket holds each.
async fn sealed_in_bucket(
    cluster: &LocalCluster,
    dir: &std::path::Path,
    hearing: &str,
) -> (usize, usize) {
    let m = Manifest::read(dir).unwrap();
    let rec = dir.file_name().unwrap().to_string_lossy().to_string();
    let listed = cluster
        .bucket()
        .unwrap()
        .list(&format!("recordings/{hearing}/{rec}"))
        .await
        .unwrap();
    let held = m
        .segments
        .iter()
        .filter(|s| {
            listed
                .iter()
                .any(|o| o.key.ends_with(&format!("/{}", s.file)))
        })
        .count();
    (m.segments.len(), held)
}

async fn readyz(url: &str) -> serde_json::Value {
    let body = reqwest::get(format!("{url}/readyz"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bucket_and_database_outages_then_a_drain() {
    let mut cluster = LocalCluster::start(FixtureConfig {
        exe: exe(),
        repo: repo(),
        nodes: 2,
        lease_ttl_s: 6,
        segment_s: 2,
        sets: vec![
            "video.width=640".into(),
            "video.height=360".into(),
            "video.fps=15".into(),
            "hearing.face_framing=false".into(),
            "storage.timeout_seconds=3".into(),
        ],
    })
    .await
    .expect("a cluster");
    let h = hearing_with_participants(&cluster, 2).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let owner = owner_index(&cluster, &h.id).await;
    let owner_url = cluster.nodes[owner].url.clone();
    let rec_dir =
        only_recording(&cluster.nodes[owner].data.join("recordings").join(&h.id)).unwrap();
    let before = sessions(&h);

    // The bucket is down for 30 s: the hearing and its recording go on; sealed segments wait
    // in the spool, which says so; once it is back they all arrive.
    cluster.stop_s3();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let spool = readyz(&owner_url).await["spool"].clone();
    assert!(
        spool["pending_files"].as_u64().unwrap_or(0) >= 3,
        "the spool holds what the bucket could not take: {spool}"
    );
    assert!(spool["last_error"].is_string(), "{spool}");
    cluster.start_s3().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (sealed, held) = sealed_in_bucket(&cluster, &rec_dir, &h.id).await;
        if sealed == held && sealed >= 15 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the outage the bucket holds {held} of {sealed} sealed segments"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(
        sessions(&h),
        before,
        "nobody was disconnected by the bucket outage"
    );

    // The database is down for 20 s: the hearing goes on; a new join gets a clear refusal.
    courtroom::store::testing::pause_postgres();
    let t_down = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let other = (owner + 1) % cluster.nodes.len();
    let asked = Instant::now();
    let reply = join_reply(&cluster.nodes[other].url, &h.spare_token)
        .await
        .unwrap();
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], "unavailable", "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .unwrap_or("")
            .contains("tries again"),
        "one sentence saying what happens: {reply}"
    );
    let r = reqwest::Client::new()
        .get(format!("{}/api/hearings", cluster.nodes[other].url))
        .header("cookie", &h.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "database_unavailable", "{body}");
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "refusals come within seconds, not after a long hang"
    );
    let ready = readyz(&owner_url).await;
    while t_down.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    courtroom::store::testing::resume_postgres();
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        sessions(&h),
        before,
        "the hearing went on through the database outage (ready said {ready})"
    );
    let store = cluster.store().await;
    assert!(
        store.hearing_owner(&h.id).await.unwrap().is_some(),
        "the owner holds its lease again"
    );
    let (sealed, held) = sealed_in_bucket(&cluster, &rec_dir, &h.id).await;
    assert!(
        sealed >= 20 && held + 2 >= sealed,
        "uploads resumed: {held} of {sealed}"
    );

    // Drain the owner: after its deadline it hands the hearing over, and the recording
    // continues on the other node, chained to this one.
    let t_term = Instant::now();
    cluster.signal(owner, "TERM");
    wait_all_decoding(&h.logs, t_term, Duration::from_secs(60))
        .await
        .expect("participants follow the handover");
    assert!(
        cluster.wait_exit(owner, Duration::from_secs(60)).is_some(),
        "the drained node exits"
    );
    let new_owner = owner_index(&cluster, &h.id).await;
    assert_ne!(new_owner, owner);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let old = Manifest::read(&rec_dir).unwrap();
    assert_eq!(old.state, RecordingState::Finalised);
    let new_dir =
        only_recording(&cluster.nodes[new_owner].data.join("recordings").join(&h.id)).unwrap();
    let new = Manifest::read(&new_dir).unwrap();
    let link = new.previous.expect("the new recording names the old one");
    assert_eq!(link.recording_id, old.recording_id);
    assert_eq!(link.chain_head, old.chain_head);
    assert_eq!(link.state, RecordingState::Finalised);
    // The drained node is gone; the other node serves the old recording from the bucket.
    let survivor = &cluster.nodes[new_owner].url;
    let client = reqwest::Client::new();
    let verify: serde_json::Value = serde_json::from_slice(
        &client
            .get(format!(
                "{survivor}/api/recordings/{}/verify",
                old.recording_id
            ))
            .header("cookie", &h.cookie)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(verify["segments"].as_u64(), Some(old.segments.len() as u64));
    let files: serde_json::Value = serde_json::from_slice(
        &client
            .get(format!(
                "{survivor}/api/recordings/{}/files",
                old.recording_id
            ))
            .header("cookie", &h.cookie)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        files["files"].as_array().unwrap().len() > old.segments.len(),
        "segments and manifest files: {files}"
    );
    for t in h.tasks {
        t.abort();
    }
}

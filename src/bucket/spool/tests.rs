use super::*;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn plan_uploads_only_what_the_manifest_sealed() {
    let listed = names(&["composite-00000.mp4", "composite-00001.mp4"]);
    let present = names(&[
        "composite-00001.mp4",
        "composite-00002.mp4",
        "chain-00001.tsr",
        "manifest.json",
    ]);
    let steps = plan(&listed, &present, Some("aa"), Some("bb"));
    assert_eq!(
        steps,
        vec![
            // 00000 is gone locally (uploaded before); 00002 is the open segment.
            Step::Media("composite-00001.mp4".into()),
            Step::Token("chain-00001.tsr".into()),
            Step::Manifest {
                sha256: "aa".into()
            },
        ]
    );
    // Nothing when the manifest is unchanged and nothing sealed is left.
    let present = names(&["composite-00002.mp4", "manifest.json"]);
    assert!(plan(&listed, &present, Some("aa"), Some("aa")).is_empty());
}

#[test]
fn sealed_files_refuses_paths() {
    let m = serde_json::json!({
        "segments": [{"file": "composite-00000.mp4"}, {"file": "../escape"}],
        "originals": [{"file": "original-a-video.webm"}, {"file": ".hidden"}],
    });
    assert_eq!(
        sealed_files(&m),
        names(&["composite-00000.mp4", "original-a-video.webm"])
    );
}

struct Gate(std::sync::atomic::AtomicBool);
impl WriteGate for Gate {
    fn may_write(&self, _: &str, _: &str, _: &Path) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn recording(root: &Path, segments: usize) -> PathBuf {
    let dir = root.join("h1").join("r1");
    std::fs::create_dir_all(&dir).unwrap();
    let mut entries = Vec::new();
    for i in 0..segments {
        let f = format!("composite-{i:05}.mp4");
        std::fs::write(dir.join(&f), vec![i as u8; 1000 + i]).unwrap();
        entries.push(serde_json::json!({ "file": f }));
    }
    // The open segment.
    std::fs::write(dir.join(format!("composite-{segments:05}.mp4")), b"open").unwrap();
    let manifest = serde_json::json!({ "state": "recording", "segments": entries });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    std::fs::write(dir.join("manifest.json.sig"), b"sig").unwrap();
    dir
}

#[tokio::test]
async fn uploads_sealed_files_deletes_them_and_survives_an_outage() {
    let root = tempfile::tempdir().unwrap();
    let dir = recording(root.path(), 2);
    let gate = Arc::new(Gate(true.into()));
    let spool = Spool::new(Bucket::memory(), root.path().into(), gate.clone(), 1 << 20);
    assert!(spool.pass().await);
    let listed = spool.bucket().list("recordings/h1/r1").await.unwrap();
    let keys: Vec<_> = listed.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "recordings/h1/r1/composite-00000.mp4",
            "recordings/h1/r1/composite-00001.mp4",
            "recordings/h1/r1/manifest.json",
            "recordings/h1/r1/manifest.json.sig",
        ]
    );
    // Local copies of sealed segments are gone; the open one stays.
    assert!(!dir.join("composite-00000.mp4").exists());
    assert!(dir.join("composite-00002.mp4").exists());
    assert_eq!(spool.status().pending_files, 0);
    assert_eq!(spool.status().uploaded_files, 4);

    // The next segment seals; a second pass sends it and the new manifest over the old.
    let m = serde_json::json!({ "state": "recording", "segments": [
        {"file": "composite-00000.mp4"}, {"file": "composite-00001.mp4"}, {"file": "composite-00002.mp4"}]});
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    assert!(spool.pass().await);
    let (body, _) = spool
        .bucket()
        .get("recordings/h1/r1/manifest.json")
        .await
        .unwrap();
    assert_eq!(body, Bytes::from(m.to_string()));
    assert!(!dir.join("composite-00002.mp4").exists());
}

#[tokio::test]
async fn a_closed_gate_writes_nothing_and_a_conflict_stops_the_folder() {
    let root = tempfile::tempdir().unwrap();
    let dir = recording(root.path(), 1);
    let gate = Arc::new(Gate(false.into()));
    let spool = Spool::new(Bucket::memory(), root.path().into(), gate.clone(), 10);
    spool.pass().await;
    assert!(spool.bucket().list("recordings").await.unwrap().is_empty());
    assert!(dir.join("composite-00000.mp4").exists());
    assert_eq!(spool.status().pending_files, 1);
    assert!(
        spool.status().over_limit,
        "1000 bytes pending over a 10-byte bound"
    );

    // Another writer sealed the recording in the bucket first: the conditional write is
    // refused and this node sends nothing more for it.
    spool
        .bucket()
        .put_over(
            "recordings/h1/r1/manifest.json",
            Bytes::from_static(b"{\"state\":\"interrupted\"}"),
            None,
        )
        .await
        .unwrap();
    gate.0.store(true, std::sync::atomic::Ordering::SeqCst);
    spool.pass().await;
    let (body, _) = spool
        .bucket()
        .get("recordings/h1/r1/manifest.json")
        .await
        .unwrap();
    assert_eq!(&body[..], b"{\"state\":\"interrupted\"}");
    assert!(read_state(&dir).refused);
    assert_eq!(spool.status().refused_recordings, vec!["r1".to_string()]);
}

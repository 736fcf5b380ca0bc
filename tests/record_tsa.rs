//! RFC 3161 time-stamping against a local TSA made with `openssl` (no network beyond
//! 127.0.0.1): a CA and a TSA certificate (extendedKeyUsage critical, timeStamping) made in a
//! temporary folder, served by a small HTTP server in this test that answers each query with
//! `openssl ts -reply`.
//!
//! - Each closed segment's chain entry and the sealed manifest get tokens; `verify` checks
//!   them (imprint and signature, with the CA), and `openssl ts -verify` alone accepts them as
//!   docs/VERIFY.md says. A flipped byte in a token, or a changed manifest, fails naming the
//!   token.
//! - A TSA that is down, or one that never answers, leaves the recording complete and
//!   verifiable, with each failure recorded in `timestamps.json`; the recording does not wait.

mod record_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use courtroom::digest::sha256_hex;
use courtroom::record::manifest::MANIFEST_FILE;
use courtroom::record::timestamp::{self, TsaOptions, MANIFEST_TOKEN_FILE};
use courtroom::record::verify::{verify_dir_with, Severity, VerifyOptions};
use courtroom::record::RecordingState;
use rand::{Rng, SeedableRng};
use record_common::record_scripted;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes a CA, a TSA key and certificate, and an `openssl.cnf` with a `[tsa]` section in `dir`.
fn make_tsa(dir: &Path) {
    std::fs::write(
        dir.join("tsa-ext.cnf"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("openssl.cnf"),
        format!(
            "[tsa]\ndefault_tsa = tsa_config1\n\n[tsa_config1]\ndir = {}\nserial = $dir/serial\n\
             crypto_device = builtin\nsigner_cert = $dir/tsa.pem\n\
             signer_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
             other_policies = 1.2.3.4.2\ndigests = sha256, sha384, sha512\naccuracy = secs:1\n\
             ordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
            dir.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Courtroom Test TSA CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req", "-new"],
            &ec[..],
            &[
                "-keyout",
                "tsa.key",
                "-out",
                "tsa.csr",
                "-subj",
                "/CN=Courtroom Test TSA",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "tsa.pem",
            "-days",
            "2",
            "-extfile",
            "tsa-ext.cnf",
        ],
    );
}

/// Serves the TSA in `dir` on 127.0.0.1: each `POST` body goes through `openssl ts -reply`.
/// Returns its URL.
fn serve_tsa(dir: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsr", listener.local_addr().unwrap());
    let dir = dir.to_owned();
    std::thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut length = 0usize;
            let mut content_type = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if let Some(v) = lower.strip_prefix("content-type:") {
                    content_type = v.trim().to_owned();
                }
            }
            let mut query = vec![0u8; length];
            if reader.read_exact(&mut query).is_err() {
                continue;
            }
            let (q, r) = (dir.join(format!("q{n}.tsq")), dir.join(format!("r{n}.tsr")));
            std::fs::write(&q, &query).unwrap();
            let ok = content_type == "application/timestamp-query"
                && Command::new("openssl")
                    .args(["ts", "-reply", "-config"])
                    .arg(dir.join("openssl.cnf"))
                    .arg("-queryfile")
                    .arg(&q)
                    .arg("-out")
                    .arg(&r)
                    .output()
                    .is_ok_and(|o| o.status.success());
            let reply = if ok {
                std::fs::read(&r).unwrap()
            } else {
                Vec::new()
            };
            let head = if ok {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    reply.len()
                )
            } else {
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_owned()
            };
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&reply);
        }
    });
    url
}

fn with_tsa(url: &str, timeout: Duration) -> impl FnOnce(&mut courtroom::record::RecorderOptions) {
    let url = url.to_owned();
    move |o| {
        o.tsa = Some(TsaOptions { url, timeout });
    }
}

fn verify_cli(rec: &Path, pem: &Path, ca: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_courtroom"))
        .arg("verify")
        .arg(rec)
        .arg("--public-key")
        .arg(pem)
        .arg("--tsa-ca-file")
        .arg(ca)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn errors_naming(report: &courtroom::record::verify::Report, name: &str) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error && f.message.contains(name))
}

#[test]
fn tokens_from_a_local_tsa_verify_and_tampering_names_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let tsa_dir = tmp.path().join("tsa");
    std::fs::create_dir(&tsa_dir).unwrap();
    make_tsa(&tsa_dir);
    let url = serve_tsa(&tsa_dir);
    let ca = tsa_dir.join("ca.pem");
    let rec = tmp.path().join("rec");
    let (finished, key) = record_scripted(
        &rec,
        Duration::from_secs(1),
        3.5,
        with_tsa(&url, Duration::from_secs(10)),
        &[],
    );
    assert!(
        finished
            .timestamps
            .lock()
            .unwrap()
            .wait(Duration::from_secs(60)),
        "the stamps are answered"
    );
    let m = &finished.manifest;
    assert_eq!(m.tsa_url.as_deref(), Some(url.as_str()));
    assert_eq!(m.segments.len(), 4);
    let index = timestamp::read_index(&rec);
    assert_eq!(index.len(), 5, "{index:#?}");
    assert!(index.iter().all(|e| e.outcome == "ok"), "{index:#?}");
    for s in &m.segments {
        assert!(rec.join(timestamp::chain_token_file(s.index)).is_file());
    }
    assert!(rec.join(MANIFEST_TOKEN_FILE).is_file());

    let options = VerifyOptions {
        tsa_ca_file: Some(ca.clone()),
    };
    let report = verify_dir_with(&rec, Some(&key.public()), &options);
    assert!(report.ok(), "{}", report.render());
    assert_eq!(report.timestamps, 5, "{}", report.render());
    assert!(report.findings.is_empty(), "{}", report.render());
    let pem = tmp.path().join("court.pem");
    std::fs::write(&pem, key.public().to_pem()).unwrap();
    let (code, out) = verify_cli(&rec, &pem, &ca);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("5 time-stamp tokens"), "{out}");
    // Without the CA the signatures are still checked, and the unchecked chain is a warning.
    let bare = verify_dir_with(&rec, Some(&key.public()), &VerifyOptions::default());
    assert!(bare.ok(), "{}", bare.render());
    assert!(bare.render().contains("--tsa-ca-file"), "{}", bare.render());

    // With only openssl, as docs/VERIFY.md shows.
    let seg2 = &m.segments[2].entry_hash;
    let script = r#"
set -e
cd "$1"
openssl ts -verify -data manifest.json -token_in -in manifest.json.tsr -CAfile "$2"
openssl ts -verify -digest "$3" -token_in -in chain-00002.tsr -CAfile "$2"
"#;
    let run = |digest: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&rec)
            .arg(&ca)
            .arg(digest)
            .output()
            .unwrap()
    };
    let out = run(seg2);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !run(&m.segments[1].entry_hash).status.success(),
        "wrong entry"
    );

    // Single bytes flipped in a token: each fails, naming that token.
    let token = rec.join(timestamp::chain_token_file(1));
    let original = std::fs::read(&token).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x75a_f11b);
    for flip in 0..40 {
        let pos = rng.gen_range(0..original.len());
        let mut bad = original.clone();
        bad[pos] ^= rng.gen_range(1..=255u8);
        std::fs::write(&token, &bad).unwrap();
        let report = verify_dir_with(&rec, Some(&key.public()), &options);
        assert!(!report.ok(), "flip {flip} at {pos} not caught");
        assert!(
            errors_naming(&report, "chain-00001.tsr"),
            "flip {flip} at {pos}: {}",
            report.render()
        );
    }
    std::fs::write(&token, &original).unwrap();
    let (code, out) = verify_cli(&rec, &pem, &ca);
    assert_eq!(code, 0, "restored: {out}");
    let mut bad = original.clone();
    let last = bad.len() - 3;
    bad[last] ^= 0x40; // inside the signature value at the end
    std::fs::write(&token, &bad).unwrap();
    let (code, out) = verify_cli(&rec, &pem, &ca);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("time-stamp token chain-00001.tsr"),
        "the CLI names the token: {out}"
    );
    std::fs::write(&token, &original).unwrap();

    // A changed manifest no longer matches its token (nor its signature).
    let path = rec.join(MANIFEST_FILE);
    let manifest = std::fs::read(&path).unwrap();
    let text = String::from_utf8(manifest.clone()).unwrap();
    std::fs::write(&path, text.replacen("\"finalised\"", "\"finalized\"", 1)).unwrap();
    let report = verify_dir_with(&rec, Some(&key.public()), &options);
    assert!(!report.ok());
    assert!(
        errors_naming(&report, MANIFEST_TOKEN_FILE),
        "{}",
        report.render()
    );
    std::fs::write(&path, &manifest).unwrap();
    assert_eq!(
        sha256_hex(&std::fs::read(&path).unwrap()),
        sha256_hex(&manifest)
    );
    // A token moved onto another segment's name does not match that entry.
    std::fs::rename(&token, rec.join("moved.bin")).unwrap();
    std::fs::copy(rec.join(timestamp::chain_token_file(0)), &token).unwrap();
    let report = verify_dir_with(&rec, Some(&key.public()), &options);
    assert!(
        errors_naming(&report, "chain-00001.tsr"),
        "{}",
        report.render()
    );
    std::fs::rename(rec.join("moved.bin"), &token).unwrap();
    assert!(verify_dir_with(&rec, Some(&key.public()), &options).ok());
}

#[test]
fn a_tsa_that_is_down_or_silent_leaves_the_recording_complete_and_verifiable() {
    let tmp = tempfile::tempdir().unwrap();
    // Down: nothing listens on the port.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rec = tmp.path().join("down");
    let (finished, key) = record_scripted(
        &rec,
        Duration::from_secs(1),
        2.5,
        with_tsa(
            &format!("http://127.0.0.1:{port}/tsr"),
            Duration::from_secs(5),
        ),
        &[],
    );
    assert!(finished.failure.is_none());
    assert_eq!(finished.manifest.state, RecordingState::Finalised);
    assert_eq!(finished.manifest.segments.len(), 3);
    assert!(finished
        .timestamps
        .lock()
        .unwrap()
        .wait(Duration::from_secs(30)));
    let index = timestamp::read_index(&rec);
    assert_eq!(index.len(), 4, "{index:#?}");
    assert!(index
        .iter()
        .all(|e| e.outcome == "failed" && e.error.is_some()));
    let report = verify_dir_with(&rec, Some(&key.public()), &VerifyOptions::default());
    assert!(report.ok(), "{}", report.render());
    assert_eq!(report.timestamps, 0);
    let text = report.render();
    assert!(
        text.contains("no time-stamp token chain-00002.tsr: the request of")
            && text.contains("no time-stamp token manifest.json.tsr"),
        "{text}"
    );

    // Silent: accepts connections and never answers. The recording is sealed while the
    // requests are still waiting out their timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsr", silent.local_addr().unwrap());
    let rec = tmp.path().join("silent");
    let (finished, key) = record_scripted(
        &rec,
        Duration::from_secs(1),
        2.5,
        with_tsa(&url, Duration::from_secs(2)),
        &[],
    );
    assert_eq!(finished.manifest.state, RecordingState::Finalised);
    assert_eq!(finished.manifest.segments.len(), 3);
    let mut pending = finished.timestamps.lock().unwrap();
    assert!(
        !pending.wait(Duration::ZERO),
        "sealing did not wait for the TSA"
    );
    assert!(pending.wait(Duration::from_secs(60)));
    let index = timestamp::read_index(&rec);
    assert_eq!(index.len(), 4, "{index:#?}");
    assert!(
        index
            .iter()
            .all(|e| e.error.as_deref().is_some_and(|e| e.contains("timed out"))),
        "{index:#?}"
    );
    let report = verify_dir_with(&rec, Some(&key.public()), &VerifyOptions::default());
    assert!(report.ok(), "{}", report.render());
    drop(silent);
    let _: PathBuf = rec;
}

//! The Kubernetes manifests in `deploy/kubernetes/` parse, and name what a media server with
//! live hearings needs: host networking, probes, a pre-stop drain, a grace period longer than
//! the drain deadline, a disruption budget, and PostgreSQL and S3 as external services.

use serde_yaml::Value;

fn load(name: &str) -> Value {
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("deploy/kubernetes")
    .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"))
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| &v[*k])
}

#[test]
fn every_manifest_parses_and_has_a_kind() {
    let dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("deploy/kubernetes");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.ends_with(".yaml") {
            continue;
        }
        let v = load(&name);
        assert!(v["apiVersion"].is_string(), "{name}: apiVersion");
        assert!(v["kind"].is_string(), "{name}: kind");
        assert!(v["metadata"]["name"].is_string(), "{name}: metadata.name");
        n += 1;
    }
    assert!(
        n >= 5,
        "configmap, secret example, deployment, service, pdb"
    );
}

#[test]
fn the_deployment_drains_before_it_stops() {
    let d = load("deployment.yaml");
    assert_eq!(d["kind"], "Deployment");
    let pod = get(&d, &["spec", "template", "spec"]);
    assert_eq!(pod["hostNetwork"], true, "WebRTC on the host's address");
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    let c = &pod["containers"][0];
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    let pre_stop: Vec<&str> = c["lifecycle"]["preStop"]["exec"]["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(pre_stop.contains(&"drain"), "{pre_stop:?}");
    // The grace period outlasts the drain deadline of the shared configuration.
    let config = load("configmap.yaml");
    let toml_text = config["data"]["courtroom.toml"].as_str().unwrap();
    let settings: toml::Table = toml_text.parse().unwrap();
    let deadline = settings["cluster"]["drain_deadline_seconds"]
        .as_integer()
        .unwrap() as u64;
    assert!(
        grace > deadline,
        "grace {grace} s must exceed the drain deadline {deadline} s"
    );
    assert_eq!(settings["cluster"]["enabled"].as_bool(), Some(true));
    assert!(settings["storage"]["url"]
        .as_str()
        .unwrap()
        .starts_with("s3://"));
    // The configuration is one the server accepts (with the database from the secret).
    let secret = load("secret.example.yaml");
    let db = secret["stringData"]["COURTROOM_DATABASE_URL"]
        .as_str()
        .unwrap();
    assert!(db.starts_with("postgres://"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("courtroom.toml");
    std::fs::write(&file, toml_text).unwrap();
    courtroom::config::Settings::load_with_env(
        &courtroom::config::Sources {
            file: Some(file),
            sets: vec![],
        },
        vec![("COURTROOM_DATABASE_URL".to_owned(), db.to_owned())],
    )
    .expect("the ConfigMap's courtroom.toml is valid");
    let env_from = c["envFrom"][0]["secretRef"]["name"].as_str().unwrap();
    assert_eq!(env_from, secret["metadata"]["name"].as_str().unwrap());
}

#[test]
fn a_disruption_budget_and_a_service_cover_the_pods() {
    let d = load("deployment.yaml");
    let labels = get(&d, &["spec", "template", "metadata", "labels"]);
    let pdb = load("pdb.yaml");
    assert_eq!(pdb["kind"], "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    let svc = load("service.yaml");
    assert_eq!(svc["kind"], "Service");
    for selector in [
        &pdb["spec"]["selector"]["matchLabels"],
        &svc["spec"]["selector"],
    ] {
        for (k, v) in selector.as_mapping().unwrap() {
            assert_eq!(
                &labels[k.as_str().unwrap()],
                v,
                "selector {k:?} matches the pods"
            );
        }
    }
}

//! Starting and stopping the server: open the store and the render device, optionally create
//! the demo hearing, serve HTTP until SIGINT or SIGTERM, then finalise every recording.

use std::sync::Arc;

use serde::Serialize;

use crate::api::auth::{unix_now, Claims, TokenKey};
use crate::api::{router, AppState};
use crate::config::Settings;
use crate::hearing::Role;
use crate::ids::random_id;
use crate::render::{AdapterChoice, Gpu, Layout};
use crate::store::{HearingRecord, InvitationRecord, Store};

/// One line of `demo-invitations.json`.
#[derive(Debug, Clone, Serialize)]
pub struct DemoInvitation {
    /// Hearing id.
    pub hearing: String,
    /// Role (`public`: the public gallery's watch page, no seat).
    pub role: String,
    /// Seat id.
    pub seat: String,
    /// Display name.
    pub name: String,
    /// Invitation URL.
    pub url: String,
}

/// Builds the shared state: data folder, store, signing key, render device.
pub async fn prepare(settings: Arc<Settings>) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create data folder {}: {e}",
            settings.data_dir.display()
        )
    })?;
    // The configured layout is read now, so a missing one stops the start with its name
    // rather than failing each hearing later.
    Layout::load(&settings.assets_dir(), &settings.hearing.layout)
        .map_err(|e| anyhow::anyhow!("hearing.layout: {e}"))?;
    crate::media::init()?;
    let store = Store::open(&settings.database_url()).await?;
    seal_interrupted_recordings(&settings, &store).await?;
    let choice = AdapterChoice::parse(&settings.render.adapter);
    let gpu = tokio::task::spawn_blocking(move || Gpu::open(choice)).await??;
    node_state(settings, store, gpu).await
}

/// The state of this node: alone (the data folder's keys; a spool if a bucket is set), or in a
/// cluster (keys from the database, placement, heartbeat, spool, and the other nodes' news).
async fn node_state(
    settings: Arc<Settings>,
    store: Store,
    gpu: Arc<Gpu>,
) -> anyhow::Result<AppState> {
    let (cluster, key, mut env) = if settings.cluster.enabled {
        let keys = crate::api::keys::load_cluster_keys(&store).await?;
        let node = crate::cluster::ClusterNode::clustered(&settings, store.clone())?;
        tracing::info!(node = %node.id(), url = %node.url(), "serving as a cluster node");
        let env = crate::hearing::RecordingEnv {
            key: Some(keys.recording),
            on_sealed: None,
            replay_bucket: None,
        };
        (node, keys.token, env)
    } else {
        let node = crate::cluster::ClusterNode::single(&settings)?;
        let key = TokenKey::load_or_create(&settings.data_dir)?;
        (node, key, crate::hearing::RecordingEnv::default())
    };
    if let Some(spool) = cluster.spool() {
        spool.run(std::time::Duration::from_secs(5));
        let poke = spool.clone();
        env.on_sealed = Some(Arc::new(move || poke.poke()));
        env.replay_bucket = Some(crate::hearing::replay::ReplayBucket {
            bucket: spool.bucket().clone(),
            runtime: tokio::runtime::Handle::current(),
        });
        tracing::info!(bucket = ?spool.bucket(), "recordings go to the bucket as they are sealed");
    }
    let state = AppState::with_cluster(settings, store, gpu, key, cluster, env);
    state.listen_to_other_nodes();
    Ok(state)
}

/// Makes the recording key on first start, and seals recordings a crash left open.
async fn seal_interrupted_recordings(settings: &Settings, store: &Store) -> anyhow::Result<()> {
    let rec_key = crate::record::RecordingKey::load_or_create(&settings.data_dir)?;
    let dir = settings.recordings_dir();
    let sealed =
        tokio::task::spawn_blocking(move || crate::record::seal::seal_interrupted(&dir, &rec_key))
            .await?;
    for s in sealed {
        if let Err(e) = store
            .recording_ended(
                &s.recording_id,
                crate::record::RecordingState::Interrupted.as_str(),
            )
            .await
        {
            tracing::warn!(recording = %s.recording_id, "cannot note the interrupted recording: {e}");
        }
    }
    Ok(())
}

/// Creates a demo hearing with one invitation per bench and party seat.
pub async fn create_demo(state: &AppState) -> anyhow::Result<(HearingRecord, Vec<DemoInvitation>)> {
    let settings = state.settings();
    let layout = Layout::load(&settings.assets_dir(), &settings.hearing.layout)?;
    let hearing = HearingRecord {
        id: format!("demo-{}", &random_id()[..8]),
        case_number: format!("(2026) Demo Civil No. {}", &random_id()[..4]),
        title: "Demonstration hearing: contract dispute".into(),
        locale: "en".into(),
        layout: layout.name.clone(),
    };
    // The demo hearing is held in public: its broadcast runs from the start.
    state
        .store()
        .create_open_hearing(
            &hearing,
            &crate::store::NewHearing {
                public: true,
                ..Default::default()
            },
        )
        .await?;
    let people = [
        (Role::PresidingJudge, "Judge Chen"),
        (Role::Assessor, "Assessor Wang"),
        (Role::Assessor, "Assessor Liu"),
        (Role::Clerk, "Clerk Zhao"),
        (Role::Plaintiff, "Plaintiff Sun"),
        (Role::Defendant, "Defendant Zhou"),
    ];
    let exp = unix_now() + settings.hearing.invitation_ttl_hours as i64 * 3600;
    let mut used = Vec::new();
    let mut out = Vec::new();
    for (role, name) in people {
        let seat = layout
            .seats_for_role(role.as_str())
            .find(|s| !used.contains(&s.id))
            .ok_or_else(|| anyhow::anyhow!("layout {} has no free seat for {role}", layout.name))?
            .id
            .clone();
        used.push(seat.clone());
        let inv = InvitationRecord {
            id: random_id(),
            hearing_id: hearing.id.clone(),
            role: role.to_string(),
            seat: seat.clone(),
            name: name.into(),
            expires_at: exp,
            revoked: false,
        };
        state.store().create_invitation(&inv).await?;
        let token = state.key().sign(&Claims {
            inv: inv.id,
            hearing: hearing.id.clone(),
            role,
            seat: seat.clone(),
            exp,
        });
        out.push(DemoInvitation {
            hearing: hearing.id.clone(),
            role: role.to_string(),
            seat,
            name: name.into(),
            url: format!("{}/join?t={token}", settings.public_url()),
        });
    }
    out.push(DemoInvitation {
        hearing: hearing.id.clone(),
        role: "public".into(),
        seat: String::new(),
        name: "Public gallery".into(),
        url: format!("{}/watch/{}", settings.public_url(), hearing.id),
    });
    Ok((hearing, out))
}

/// Serves until SIGINT or SIGTERM. With `demo_hearings` > 0, first creates that many demo
/// hearings, writes their invitations and starts recording each.
pub async fn run(settings: Arc<Settings>, demo_hearings: usize) -> anyhow::Result<()> {
    if !settings.cluster.enabled && demo_hearings > settings.capacity.hearings() {
        anyhow::bail!(
            "{demo_hearings} demo hearings asked for, but this node runs at most {} at once \
             (capacity.hearings; the default is one per two CPU cores): set \
             --set capacity.hearings={demo_hearings} to try it anyway",
            settings.capacity.hearings()
        );
    }
    let state = prepare(settings.clone()).await?;
    let mut all = Vec::new();
    for n in 1..=demo_hearings {
        let (hearing, invitations) = create_demo(&state).await?;
        println!("Demo hearing {} ({})", hearing.id, hearing.case_number);
        for inv in &invitations {
            println!("{} {}", inv.role, inv.url);
        }
        all.extend(invitations);
        let live = state
            .hearing(&hearing.id)
            .await
            .map_err(|e| anyhow::anyhow!("demo hearing {n} of {demo_hearings}: {e}"))?;
        let rec = tokio::task::block_in_place(|| live.start_recording())?;
        if settings.broadcast.demo_on_air {
            let broadcast = live.clone();
            tokio::task::block_in_place(|| broadcast.broadcast().start(true))
                .map_err(|e| anyhow::anyhow!("demo hearing {n}: the broadcast: {e}"))?;
        }
        let dir = live.recording_dir().unwrap_or_default();
        state
            .store()
            .recording_started(&rec, &hearing.id, &dir.to_string_lossy())
            .await?;
    }
    if demo_hearings > 0 {
        // Written before the server listens, so it exists once /healthz answers.
        let path = settings.data_dir.join("demo-invitations.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&all)?)?;
        println!("(also written to {})", path.display());
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
    tracing::info!(listen = %settings.listen, data = %settings.data_dir.display(), "serving");
    let limits = crate::api::serve::Limits::from_settings(&settings);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // Handlers see the client's address as `ConnectInfo` (the login throttle counts per
    // client; /internal/drain answers loopback only).
    let http = tokio::spawn(crate::api::serve::serve(
        listener,
        router(state.clone()),
        limits,
        async move {
            let _ = stop_rx.await;
        },
    ));
    shutdown_signal().await;
    // In a cluster, SIGTERM drains first: the HTTP server keeps answering the hearings'
    // pages while they finish or are handed over to other nodes.
    if state.cluster().is_clustered() {
        tracing::info!("stopping: draining hearings to other nodes");
        state.drain().await;
    }
    // Sealing comes next and does not wait for any client: the pages are told, the HTTP
    // connections drain (for at most `http.stop_drain_ms`) while the recordings are sealed.
    let stopping = std::time::Instant::now();
    tracing::info!("stopping: sealing recordings, draining connections");
    state.begin_stop();
    let _ = stop_tx.send(());
    let (_, http) = tokio::join!(state.shutdown_hearings(), http);
    if let Err(e) = http {
        tracing::error!("the HTTP server failed: {e}");
    }
    tracing::info!(seconds = stopping.elapsed().as_secs_f64(), "stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

//! Placement in PostgreSQL (a private cluster the test process starts): spread by load, one
//! owner under concurrent first joins, leases that renew, expire and fence, draining nodes and
//! dead nodes left out.

use std::sync::Arc;
use std::time::Duration;

use courtroom::cluster::{DatabasePlacement, NodeSettings, Placement, Whereabouts};
use courtroom::store::placement::{Heartbeat, Placed};
use courtroom::store::testing::TestDatabase;
use courtroom::store::{HearingRecord, Store};

fn hearing(id: &str) -> HearingRecord {
    HearingRecord {
        id: id.into(),
        case_number: format!("(2026) Yue 0192 Min Chu {id}"),
        title: "Placement".into(),
        locale: "en".into(),
        layout: "courtroom".into(),
    }
}

async fn beat(store: &Store, id: &str, state: &str, capacity: i64) {
    store
        .node_heartbeat(&Heartbeat {
            id,
            url: &format!("http://{id}.test"),
            state,
            capacity,
            version: "test",
        })
        .await
        .unwrap();
}

fn owner(p: &Placed) -> (String, i64) {
    match p {
        Placed::Owner { node, epoch, .. } => (node.clone(), *epoch),
        other => panic!("not placed: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spreads_by_load_and_never_places_twice() {
    let db = TestDatabase::postgres().await;
    let store = db.open().await;
    for n in ["n1", "n2", "n3"] {
        beat(&store, n, "serving", 2).await;
    }
    for i in 0..7 {
        store
            .create_hearing(&hearing(&format!("h{i}")))
            .await
            .unwrap();
    }
    // Six hearings over three nodes of two slots each: two each.
    let mut per_node = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..6 {
        let p = store
            .place_hearing(&format!("h{i}"), 10_000, 10_000)
            .await
            .unwrap();
        *per_node.entry(owner(&p).0).or_default() += 1;
    }
    assert_eq!(
        per_node.values().copied().collect::<Vec<_>>(),
        [2, 2, 2],
        "{per_node:?}"
    );
    // Every slot is taken: the seventh is refused, not squeezed in.
    assert_eq!(
        store.place_hearing("h6", 10_000, 10_000).await.unwrap(),
        Placed::NoCapacity
    );
    assert_eq!(
        store
            .place_hearing("missing", 10_000, 10_000)
            .await
            .unwrap(),
        Placed::NoHearing
    );

    // Twenty concurrent first joins of one hearing, through twenty connections: one owner,
    // one epoch, placed once.
    for n in ["n4", "n5", "n6"] {
        beat(&store, n, "serving", 5).await;
    }
    store.create_hearing(&hearing("busy")).await.unwrap();
    let mut stores = Vec::new();
    for _ in 0..20 {
        stores.push(Store::open(&db.url).await.unwrap());
    }
    let mut joins = Vec::new();
    for store in stores {
        joins.push(tokio::spawn(async move {
            store.place_hearing("busy", 10_000, 10_000).await.unwrap()
        }));
    }
    let mut results = Vec::new();
    for j in joins {
        results.push(j.await.unwrap());
    }
    let fresh = results
        .iter()
        .filter(|p| matches!(p, Placed::Owner { fresh: true, .. }))
        .count();
    assert_eq!(fresh, 1, "placed exactly once: {results:?}");
    let owners: std::collections::BTreeSet<_> = results.iter().map(owner).collect();
    assert_eq!(owners.len(), 1, "one owner and epoch: {owners:?}");
}

#[tokio::test]
async fn leases_renew_expire_and_fence_the_old_owner() {
    let db = TestDatabase::postgres().await;
    let store = db.open().await;
    beat(&store, "a", "serving", 4).await;
    store.create_hearing(&hearing("h")).await.unwrap();
    let (first, e1) = owner(&store.place_hearing("h", 10_000, 300).await.unwrap());
    assert_eq!((first.as_str(), e1), ("a", 1));
    assert!(store.renew_lease("h", "a", 1, 300).await.unwrap());
    assert!(store.holds_lease("h", "a", 1).await.unwrap());
    // While the lease lives, the hearing stays where it is, whoever asks.
    beat(&store, "b", "serving", 4).await;
    let again = store.place_hearing("h", 10_000, 300).await.unwrap();
    assert_eq!(owner(&again), ("a".into(), 1));
    assert!(matches!(again, Placed::Owner { fresh: false, .. }));

    // Node a stops renewing (dead, or cut off) and its heartbeat goes stale.
    tokio::time::sleep(Duration::from_millis(400)).await;
    beat(&store, "b", "serving", 4).await;
    assert!(!store.holds_lease("h", "a", 1).await.unwrap());
    let (next, e2) = owner(&store.place_hearing("h", 200, 10_000).await.unwrap());
    assert_eq!(next, "b", "a's heartbeat is stale: only b is live");
    assert_eq!(e2, 2, "a new epoch");
    // The old owner's renewal is refused: it is fenced.
    assert!(!store.renew_lease("h", "a", 1, 10_000).await.unwrap());
    assert!(!store.holds_lease("h", "a", 1).await.unwrap());
    assert!(store.holds_lease("h", "b", 2).await.unwrap());

    // Released leases are placed anew at once; draining nodes take nothing new.
    assert!(store.release_lease("h", "b", 2).await.unwrap());
    beat(&store, "b", "draining", 4).await;
    beat(&store, "c", "serving", 4).await;
    let (third, e3) = owner(&store.place_hearing("h", 300, 10_000).await.unwrap());
    assert_eq!((third.as_str(), e3), ("c", 3));
    let live = store.live_nodes(300).await.unwrap();
    let ids: Vec<_> = live.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["b", "c"], "a's heartbeat is too old to count");
    assert_eq!(live[1].used, 1);
}

#[tokio::test]
async fn the_trait_sends_joins_to_the_owner() {
    let db = TestDatabase::postgres().await;
    let store = db.open().await;
    store.create_hearing(&hearing("h")).await.unwrap();
    let node = |id: &str, capacity| NodeSettings {
        id: id.into(),
        url: format!("http://{id}.test"),
        capacity,
        ttl: Duration::from_secs(10),
        fresh: Duration::from_secs(10),
    };
    let a: Arc<dyn Placement> = Arc::new(DatabasePlacement::new(store.clone(), node("a", 1)));
    let b: Arc<dyn Placement> = Arc::new(DatabasePlacement::new(store.clone(), node("b", 0)));
    a.heartbeat(courtroom::cluster::NodeState::Serving)
        .await
        .unwrap();
    b.heartbeat(courtroom::cluster::NodeState::Serving)
        .await
        .unwrap();
    // b has no slot, so a join at b places the hearing on a and sends the participant there.
    assert_eq!(
        b.place("h").await.unwrap(),
        Whereabouts::Elsewhere {
            node: "a".into(),
            url: "http://a.test".into()
        }
    );
    assert_eq!(a.place("h").await.unwrap(), Whereabouts::Here { epoch: 1 });
    assert!(a.renew("h", 1).await.unwrap());
    assert!(!b.renew("h", 1).await.unwrap(), "only the owner renews");
    assert_eq!(b.place("nope").await.unwrap(), Whereabouts::Unknown);
}

//! The store's behaviour, run once on SQLite and once on PostgreSQL (a private cluster that
//! the test process starts itself; see `courtroom::store::testing`).

use courtroom::store::audit::{actions, ChainError, VerifyError};
use courtroom::store::testing::TestDatabase;
use courtroom::store::{
    AccountRole, AuditEvent, Backend, HearingRecord, HearingState, InvitationRecord, NewHearing,
    Store, StoreError, UserRecord,
};
use serde_json::json;

/// Runs one async test body on both databases.
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let db = TestDatabase::new(Backend::Sqlite).await;
                $body(&db).await;
            }
            #[tokio::test]
            async fn postgres() {
                let db = TestDatabase::new(Backend::Postgres).await;
                $body(&db).await;
            }
        }
    };
}

fn hearing(id: &str) -> HearingRecord {
    HearingRecord {
        id: id.into(),
        case_number: "(2026) Yue 0192 Min Chu 1".into(),
        title: "Demo 演示".into(),
        locale: "zh".into(),
        layout: "courtroom".into(),
    }
}

fn invitation(id: &str, hearing: &str) -> InvitationRecord {
    InvitationRecord {
        id: id.into(),
        hearing_id: hearing.into(),
        role: "clerk".into(),
        seat: "clerk".into(),
        name: "Clerk Li".into(),
        expires_at: 4_000_000_000,
        revoked: false,
    }
}

async fn hearings_invitations_and_migrations(db: &TestDatabase) {
    let store = db.open().await;
    assert_eq!(store.backend(), db.backend);
    let h = hearing("h1");
    store.create_hearing(&h).await.unwrap();
    assert_eq!(store.hearing("h1").await.unwrap(), Some(h.clone()));
    assert_eq!(store.hearing("nope").await.unwrap(), None);
    assert!(matches!(
        store.create_hearing(&h).await,
        Err(StoreError::Duplicate(_))
    ));
    let inv = invitation("i1", "h1");
    store.create_invitation(&inv).await.unwrap();
    assert_eq!(store.invitation("i1").await.unwrap(), Some(inv.clone()));
    // An invitation to a hearing that does not exist is refused (foreign key).
    assert!(store
        .create_invitation(&invitation("i2", "missing"))
        .await
        .is_err());
    assert!(store.revoke_invitation("h1", "i1").await.unwrap());
    assert!(!store.revoke_invitation("other", "i1").await.unwrap());
    assert!(store.invitation("i1").await.unwrap().unwrap().revoked);
    assert_eq!(store.invitations_for("h1").await.unwrap().len(), 1);
    drop(store);
    // Reopening applies no migration twice and keeps the data.
    let again = Store::open(&db.url).await.unwrap();
    assert_eq!(again.hearing("h1").await.unwrap(), Some(h));
}
both!(
    hearings_invitations_and_migrations_,
    hearings_invitations_and_migrations
);

async fn hearing_states_and_listing(db: &TestDatabase) {
    let store = db.open().await;
    store
        .create_scheduled_hearing(
            &hearing("a"),
            &NewHearing {
                scheduled_at: Some("2026-03-01T09:30:00+08:00".into()),
                created_by: Some("li".into()),
                public: true,
            },
        )
        .await
        .unwrap();
    store.create_hearing(&hearing("b")).await.unwrap();
    // Public or closed: the clerk's choice at creation, closed by default, changeable only
    // while the hearing is scheduled.
    assert!(store.hearing_summary("a").await.unwrap().unwrap().public);
    assert!(!store.hearing_summary("b").await.unwrap().unwrap().public);
    assert!(store.set_hearing_public("a", false).await.unwrap());
    assert!(!store.hearing_summary("a").await.unwrap().unwrap().public);
    assert!(store.set_hearing_public("a", true).await.unwrap());
    assert!(
        !store.set_hearing_public("b", true).await.unwrap(),
        "an open hearing stays as it opened"
    );
    assert!(!store.hearing_summary("b").await.unwrap().unwrap().public);
    assert!(!store.set_hearing_public("nobody", true).await.unwrap());
    let list = store.list_hearings().await.unwrap();
    assert_eq!(list.len(), 2);
    let a = list.iter().find(|s| s.record.id == "a").unwrap();
    assert_eq!(a.state, HearingState::Scheduled);
    assert_eq!(a.scheduled_at.as_deref(), Some("2026-03-01T09:30:00+08:00"));
    let b = store.hearing_summary("b").await.unwrap().unwrap();
    assert_eq!(b.state, HearingState::Open, "the demo path opens at once");
    // Compare-and-set: only from the state it is in.
    assert!(!store
        .set_hearing_state("a", HearingState::Open, HearingState::Paused)
        .await
        .unwrap());
    assert!(store
        .set_hearing_state("a", HearingState::Scheduled, HearingState::Open)
        .await
        .unwrap());
    assert_eq!(
        store.hearing_summary("a").await.unwrap().unwrap().state,
        HearingState::Open
    );
}
both!(hearing_states_and_listing_, hearing_states_and_listing);

async fn recordings_end_and_seal(db: &TestDatabase) {
    let store = db.open().await;
    store.create_hearing(&hearing("h")).await.unwrap();
    store
        .recording_started("r1", "h", "/data/r1")
        .await
        .unwrap();
    store
        .recording_started("r2", "h", "/data/r2")
        .await
        .unwrap();
    store.recording_ended("r1", "finalised").await.unwrap();
    let r1 = store.recording("r1").await.unwrap().unwrap();
    assert_eq!(r1.state, "finalised");
    assert!(r1.ended_at.is_some() && r1.sealed_at.is_none());
    assert_eq!(store.recordings_for("h").await.unwrap().len(), 2);
    assert_eq!(store.seal_recordings("h").await.unwrap(), 2);
    assert_eq!(store.seal_recordings("h").await.unwrap(), 0, "sealed once");
    assert!(store
        .recording("r2")
        .await
        .unwrap()
        .unwrap()
        .sealed_at
        .is_some());
    assert_eq!(store.recording("zz").await.unwrap(), None);
}
both!(recordings_end_and_seal_, recordings_end_and_seal);

async fn users_and_sessions(db: &TestDatabase) {
    let store = db.open().await;
    let user = UserRecord {
        id: "u1".into(),
        username: "li".into(),
        display_name: "Clerk Li".into(),
        role: AccountRole::Clerk,
        disabled: false,
    };
    store.create_user(&user, "$argon2id$fake").await.unwrap();
    let dup = UserRecord {
        id: "u2".into(),
        ..user.clone()
    };
    assert!(matches!(
        store.create_user(&dup, "x").await,
        Err(StoreError::Duplicate(_))
    ));
    let (found, hash) = store.user_by_name("li").await.unwrap().unwrap();
    assert_eq!((found, hash.as_str()), (user.clone(), "$argon2id$fake"));
    assert_eq!(store.user_by_name("LI").await.unwrap(), None);
    store.create_session("hash1", "u1", 1000).await.unwrap();
    assert_eq!(
        store.session("hash1", 999).await.unwrap().unwrap().user,
        user
    );
    assert_eq!(store.session("hash1", 1000).await.unwrap(), None, "expired");
    assert_eq!(store.session("other", 0).await.unwrap(), None);
    store.delete_session("hash1", 0).await.unwrap();
    assert_eq!(store.session("hash1", 0).await.unwrap(), None);
    assert_eq!(store.list_users().await.unwrap(), vec![user]);
}
both!(users_and_sessions_, users_and_sessions);

async fn audit_chain_appends_checks_and_refuses_rewrites(db: &TestDatabase) {
    let store = db.open().await;
    assert_eq!(store.verify_audit_chain().await.unwrap(), 0, "empty chain");
    store.create_hearing(&hearing("h")).await.unwrap();
    // Concurrent appends from many tasks still make one gapless chain.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.append_audit(&AuditEvent::new(
                format!("user:{i}"),
                actions::JOIN,
                if i % 2 == 0 { Some("h") } else { None },
                json!({ "i": i, "名": "张三" }),
            ))
            .await
            .unwrap()
        }));
    }
    let mut seqs: Vec<i64> = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().seq);
    }
    seqs.sort();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    assert_eq!(store.verify_audit_chain().await.unwrap(), 20);
    let for_h = store.audit_entries(Some("h"), None, 100).await.unwrap();
    assert_eq!(for_h.len(), 10);
    assert!(
        for_h.windows(2).all(|w| w[0].seq > w[1].seq),
        "newest first"
    );
    let page = store.audit_entries(None, Some(5), 3).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![4, 3, 2]
    );

    // The table refuses updates and deletes.
    let update = sqlx_exec(db, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").await;
    assert!(update.is_err(), "update must be refused");
    let delete = sqlx_exec(db, "DELETE FROM audit_log WHERE seq = 20").await;
    assert!(delete.is_err(), "delete must be refused");
    assert_eq!(store.verify_audit_chain().await.unwrap(), 20);

    // Someone who drops the guard and rewrites an entry is found out.
    let drop_guard = match db.backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "DROP TRIGGER audit_log_no_change ON audit_log",
    };
    sqlx_exec(db, drop_guard).await.unwrap();
    sqlx_exec(db, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
        .await
        .unwrap();
    match store.verify_audit_chain().await {
        Err(VerifyError::Chain(ChainError::Altered(3))) => {}
        other => panic!("tampering not found: {other:?}"),
    }
}
both!(
    audit_chain_,
    audit_chain_appends_checks_and_refuses_rewrites
);

/// Runs raw SQL on the test database, beside the store.
async fn sqlx_exec(db: &TestDatabase, sql: &str) -> Result<(), sqlx::Error> {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await?;
    conn.execute(sql).await?;
    Ok(())
}

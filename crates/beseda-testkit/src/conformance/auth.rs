//! Sessions and personal API tokens.

use super::{assert_code, new_manager};
use beseda_core::ids::{ApiTokenId, ManagerId};
use beseda_core::secret::TokenHash;
use beseda_core::store::{NewSession, Store};
use beseda_core::time::Timestamp;

fn session(hash: &str, manager: ManagerId, expires_at: i64) -> NewSession {
    NewSession {
        token_hash: TokenHash(hash.into()),
        manager_id: manager,
        created_at: Timestamp(1_000),
        expires_at: Timestamp(expires_at),
        ip: Some("127.0.0.1".into()),
        user_agent: None,
    }
}

pub async fn a_new_password_ends_every_session(store: &dyn Store) {
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let boris = store
        .create_manager(&new_manager("boris@example.com", "Boris"))
        .await
        .unwrap();
    store
        .create_session(&session("a1", anna.id, 10_000))
        .await
        .unwrap();
    store
        .create_session(&session("a2", anna.id, 10_000))
        .await
        .unwrap();
    store
        .create_session(&session("b1", boris.id, 10_000))
        .await
        .unwrap();

    store
        .set_password(anna.id, "new-hash", Timestamp(2_000))
        .await
        .unwrap();
    let creds = store
        .manager_credentials(&anna.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.password_hash, "new-hash");
    for h in ["a1", "a2"] {
        assert_eq!(
            store
                .session_manager(&TokenHash(h.into()), Timestamp(3_000))
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        store
            .session_manager(&TokenHash("b1".into()), Timestamp(3_000))
            .await
            .unwrap(),
        Some(boris.id)
    );
    assert_code(
        store
            .set_password(ManagerId(999_999), "x", Timestamp(2_000))
            .await,
        "not_found",
    );
}

pub async fn sessions_expire_and_end(store: &dyn Store) {
    let m = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    store
        .create_session(&session("live", m.id, 10_000))
        .await
        .unwrap();
    store
        .create_session(&session("old", m.id, 5_000))
        .await
        .unwrap();
    let live = TokenHash("live".into());
    assert_eq!(
        store
            .session_manager(&live, Timestamp(9_999))
            .await
            .unwrap(),
        Some(m.id)
    );
    assert_eq!(
        store
            .session_manager(&live, Timestamp(10_000))
            .await
            .unwrap(),
        None,
        "a session ends at its expiry"
    );
    assert_eq!(
        store
            .session_manager(&TokenHash("unknown".into()), Timestamp(1))
            .await
            .unwrap(),
        None
    );

    assert_eq!(
        store
            .delete_expired_sessions(Timestamp(6_000))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .session_manager(&live, Timestamp(6_000))
            .await
            .unwrap(),
        Some(m.id)
    );
    store.delete_session(&live).await.unwrap();
    assert_eq!(
        store
            .session_manager(&live, Timestamp(6_000))
            .await
            .unwrap(),
        None
    );
}

pub async fn api_tokens_belong_to_their_owner(store: &dyn Store) {
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let boris = store
        .create_manager(&new_manager("boris@example.com", "Boris"))
        .await
        .unwrap();
    let t = store
        .create_api_token(
            anna.id,
            "CRM sync",
            &TokenHash("t1".into()),
            Timestamp(1_000),
            Timestamp(10_000),
        )
        .await
        .unwrap();
    assert_eq!(
        (t.name.as_str(), t.created_at, t.last_used_at, t.expires_at),
        ("CRM sync", Timestamp(1_000), None, Timestamp(10_000))
    );

    assert_eq!(
        store
            .api_token_manager(&TokenHash("t1".into()), Timestamp(2_000))
            .await
            .unwrap(),
        Some(anna.id)
    );
    assert_eq!(
        store
            .api_token_manager(&TokenHash("nope".into()), Timestamp(2_000))
            .await
            .unwrap(),
        None
    );
    let listed = store.list_api_tokens(anna.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(Timestamp(2_000)));
    assert!(store.list_api_tokens(boris.id).await.unwrap().is_empty());

    assert!(
        !store.delete_api_token(boris.id, t.id).await.unwrap(),
        "another manager's token stays"
    );
    assert!(
        !store
            .delete_api_token(anna.id, ApiTokenId(999_999))
            .await
            .unwrap()
    );
    assert!(store.delete_api_token(anna.id, t.id).await.unwrap());
    let signs_in = |hash: &'static str, at: i64| async move {
        store
            .api_token_manager(&TokenHash(hash.into()), Timestamp(at))
            .await
            .unwrap()
    };
    assert_eq!(signs_in("t1", 3_000).await, None);

    // A token ends at its expiry, and with a new password.
    let expiring = TokenHash("t2".into());
    store
        .create_api_token(boris.id, "A", &expiring, Timestamp(1_000), Timestamp(5_000))
        .await
        .unwrap();
    assert_eq!(signs_in("t2", 4_999).await, Some(boris.id));
    assert_eq!(signs_in("t2", 5_000).await, None, "expired");
    store
        .create_api_token(
            boris.id,
            "B",
            &TokenHash("t3".into()),
            Timestamp(1_000),
            Timestamp(9_000),
        )
        .await
        .unwrap();
    store
        .set_password(boris.id, "another hash", Timestamp(6_000))
        .await
        .unwrap();
    assert_eq!(
        signs_in("t3", 6_001).await,
        None,
        "ended by the new password"
    );
    assert!(store.list_api_tokens(boris.id).await.unwrap().is_empty());
}

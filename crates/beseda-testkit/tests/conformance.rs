//! Runs the storage conformance suite on SQLite and on PostgreSQL.

use beseda_testkit::{TestBackend, TestDb, conformance};

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let db = TestDb::new(TestBackend::Sqlite).await.expect("sqlite");
                    conformance::$case(&*db.open_store().await).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(db) = TestDb::new(TestBackend::Postgres).await else { return };
                    conformance::$case(&*db.open_store().await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    health_answers,
    attachments_bind_to_one_message_and_are_listed,
    the_list_filters_pages_counts_searches_and_deletes,
    history_is_imported_once_read_and_quoted_by_external_id,
    unsent_uploads_are_swept_and_sent_ones_stay,
    managers_are_created_found_and_listed,
    a_taken_email_is_a_conflict,
    managers_are_updated_field_by_field,
    a_new_password_ends_every_session,
    sessions_expire_and_end,
    api_tokens_belong_to_their_owner,
    groups_grant_their_members,
    company_data_is_counted,
    a_dialog_is_imported_with_its_keys,
    a_repeated_import_changes_nothing,
    inbound_messages_are_deduplicated_and_reopen_dialogs,
    rights_are_checked_again_under_the_dialog_lock,
    events_are_logged_in_order_with_their_audience,
    unread_counters_count_what_each_manager_read,
    tags_quick_replies_and_time_limits_are_kept,
    modules_own_their_channels_and_deliveries_keep_dialog_order,
    widgets_keep_their_settings_visitors_and_presence,
    two_cards_of_one_person_merge_into_one,
    connected_channels_keep_their_key_and_sealed_credentials,
    connectors_keep_echoes_polling_leases_and_half_made_channels,
    connectors_find_accounts_keep_reactions_and_follow_watermarks,
    waiting_marks_are_due_claimed_once_settled_and_cleared,
    orders_are_numbered_linked_sourced_and_changed,
);

/// Opening a migrated database again applies nothing and keeps the data, on both backends.
#[tokio::test]
async fn migrations_rerun_on_restart_without_change() {
    for backend in [TestBackend::Sqlite, TestBackend::Postgres] {
        let Some(db) = TestDb::new(backend).await else {
            continue;
        };
        let first = db.open_store().await;
        conformance::a_taken_email_is_a_conflict(&*first).await;
        drop(first);
        let second = db.open_store().await;
        use beseda_core::store::ManagerStore;
        assert_eq!(
            second.list_managers().await.unwrap().len(),
            1,
            "{backend:?}"
        );
    }
}

#[test]
fn both_backends_have_the_same_migration_versions() {
    let names = |m: &[beseda_store_sql::EmbeddedMigration]| {
        m.iter().map(|(v, n, _)| (*v, *n)).collect::<Vec<_>>()
    };
    assert_eq!(
        names(beseda_store_sqlite::MIGRATIONS),
        names(beseda_store_postgres::MIGRATIONS)
    );
    // Every file in a migrations directory is embedded, in order (a file not listed never runs).
    for (crate_dir, embedded) in [
        ("beseda-store-sqlite", beseda_store_sqlite::MIGRATIONS),
        ("beseda-store-postgres", beseda_store_postgres::MIGRATIONS),
    ] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(crate_dir)
            .join("migrations");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|f| f.unwrap().path())
            .collect();
        paths.sort();
        let files: Vec<String> = paths
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        let sql: Vec<&str> = embedded.iter().map(|(_, _, sql)| *sql).collect();
        assert_eq!(
            files.len(),
            sql.len(),
            "{crate_dir}: every migration file is embedded"
        );
        assert!(
            files.iter().zip(&sql).all(|(f, s)| f == s),
            "{crate_dir}: in order"
        );
    }
}

//! The two stores' migrations must build the same schema: the same tables, columns (name, type
//! family, nullability) and indexes (columns, uniqueness). A migration written for one backend
//! and forgotten for the other fails here, column by column.

use beseda_testkit::{TestBackend, TestDb};
use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use std::collections::{BTreeMap, BTreeSet};

/// A table as both dialects can describe it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// Column name → (type family, nullable).
    columns: BTreeMap<String, (&'static str, bool)>,
    /// Each index: its name (or `unique(columns)` for a constraint's), columns, uniqueness.
    indexes: BTreeSet<(String, Vec<String>, bool)>,
}

type Schema = BTreeMap<String, Table>;

/// Indexes only PostgreSQL has, because each dialect searches text its own way (DESIGN.md §4):
/// PostgreSQL's trigram indexes here, SQLite's FTS5 tables (`*_fts*`) left out of its listing.
const DIALECT_SEARCH: [&str; 3] = [
    "messages_body_trgm",
    "contacts_search_trgm",
    "clients_search_trgm",
];

/// SQLite has no boolean and one integer type: PostgreSQL's BIGINT, INTEGER and BOOLEAN all
/// are SQLite's INTEGER.
fn family(declared: &str) -> &'static str {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "boolean" => "integer",
        "text" => "text",
        other => panic!("a column type the test does not know: {other}"),
    }
}

fn constraint_key(columns: &[String]) -> String {
    format!("unique({})", columns.join(", "))
}

async fn sqlite_schema(url: &str) -> Schema {
    let mut db = SqliteConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND name NOT LIKE '%\\_fts' ESCAPE '\\' \
         AND name NOT LIKE '%\\_fts\\_%' ESCAPE '\\'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for t in tables {
        let mut table = Table::default();
        for c in sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)")
            .bind(&t)
            .fetch_all(&mut db)
            .await
            .unwrap()
        {
            let nullable = c.get::<i64, _>("notnull") == 0 && c.get::<i64, _>("pk") == 0;
            table.columns.insert(
                c.get("name"),
                (family(&c.get::<String, _>("type")), nullable),
            );
        }
        for i in sqlx::query("SELECT name, \"unique\", origin FROM pragma_index_list(?)")
            .bind(&t)
            .fetch_all(&mut db)
            .await
            .unwrap()
        {
            let (name, origin): (String, String) = (i.get("name"), i.get("origin"));
            if origin == "pk" {
                continue;
            }
            let columns: Vec<String> = sqlx::query_scalar::<_, Option<String>>(
                "SELECT name FROM pragma_index_info(?) ORDER BY seqno",
            )
            .bind(&name)
            .fetch_all(&mut db)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.unwrap_or_else(|| "<expression>".into()))
            .collect();
            let key = if origin == "u" {
                constraint_key(&columns)
            } else {
                name
            };
            table
                .indexes
                .insert((key, columns, i.get::<i64, _>("unique") == 1));
        }
        schema.insert(t, table);
    }
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let mut db = PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for t in tables {
        let mut table = Table::default();
        for c in sqlx::query(
            "SELECT column_name::text AS name, data_type::text AS type, is_nullable::text AS nullable \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(&t)
        .fetch_all(&mut db)
        .await
        .unwrap()
        {
            table.columns.insert(
                c.get("name"),
                (
                    family(&c.get::<String, _>("type")),
                    c.get::<String, _>("nullable") == "YES",
                ),
            );
        }
        for i in sqlx::query(
            "SELECT ic.relname::text AS name, ix.indisunique AS is_unique, \
               EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid) AS constraint_index, \
               ARRAY(SELECT COALESCE(a.attname::text, '<expression>') \
                     FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
                     LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum \
                     ORDER BY k.n) AS columns \
             FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid \
             JOIN pg_class tc ON tc.oid = ix.indrelid \
             JOIN pg_namespace ns ON ns.oid = tc.relnamespace \
             WHERE ns.nspname = 'public' AND tc.relname = $1 AND NOT ix.indisprimary",
        )
        .bind(&t)
        .fetch_all(&mut db)
        .await
        .unwrap()
        {
            let columns: Vec<String> = i.get("columns");
            let key = if i.get::<bool, _>("constraint_index") {
                constraint_key(&columns)
            } else {
                i.get("name")
            };
            table
                .indexes
                .insert((key, columns, i.get::<bool, _>("is_unique")));
        }
        schema.insert(t, table);
    }
    schema
}

fn without_search(mut schema: Schema) -> Schema {
    for table in schema.values_mut() {
        table
            .indexes
            .retain(|(name, ..)| !DIALECT_SEARCH.contains(&name.as_str()));
    }
    schema
}

#[tokio::test]
async fn both_stores_migrate_to_the_same_tables_columns_and_indexes() {
    let Some(pg) = TestDb::new(TestBackend::Postgres).await else {
        return;
    };
    let lite = TestDb::new(TestBackend::Sqlite).await.unwrap();
    lite.open_store().await;
    pg.open_store().await;
    let (lite, pg) = (
        without_search(sqlite_schema(&lite.url).await),
        without_search(postgres_schema(&pg.url).await),
    );
    assert!(lite.len() > 20 && lite.contains_key("dialogs"), "{lite:?}");
    assert_eq!(
        lite.keys().collect::<Vec<_>>(),
        pg.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    for (name, table) in &lite {
        let other = &pg[name];
        assert_eq!(table.columns, other.columns, "the columns of {name}");
        assert_eq!(table.indexes, other.indexes, "the indexes of {name}");
    }
}

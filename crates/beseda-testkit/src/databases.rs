//! Fresh databases for tests: a SQLite file in a temporary directory, or a new PostgreSQL
//! database on the server named by `BESEDA_TEST_POSTGRES_URL`, dropped when the test ends.

use beseda_store_sql::SqlStore;
use rand::RngCore;
use sqlx::{Connection, PgConnection};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// A database that lives as long as this value.
pub struct TestDb {
    /// The URL the server or the store opens.
    pub url: String,
    /// For SQLite: the directory that holds the file (and may hold a server's data).
    pub dir: tempfile::TempDir,
    drop_pg: Option<(String, String)>,
}

impl TestDb {
    /// A fresh database on `backend`, or `None` when PostgreSQL is not configured or not
    /// reachable outside CI (the caller skips). In CI (`CI=true`) a missing PostgreSQL fails.
    pub async fn new(backend: TestBackend) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            TestBackend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("beseda.db").display());
                Some(TestDb {
                    url,
                    dir,
                    drop_pg: None,
                })
            }
            TestBackend::Postgres => {
                let admin_url = match postgres_admin_url().await {
                    Ok(url) => url,
                    Err(why) if in_ci() => panic!("PostgreSQL is required in CI: {why}"),
                    Err(why) => {
                        eprintln!("SKIPPED (PostgreSQL half): {why}");
                        return None;
                    }
                };
                let name = format!("beseda_test_{:016x}", rand::rng().next_u64());
                let mut conn = PgConnection::connect(&admin_url)
                    .await
                    .expect("PostgreSQL connection");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")))
                    .execute(&mut conn)
                    .await
                    .expect("create the test database");
                let url = with_database(&admin_url, &name);
                Some(TestDb {
                    url,
                    dir,
                    drop_pg: Some((admin_url, name)),
                })
            }
        }
    }

    /// The store on this database, migrated.
    pub async fn open_store(&self) -> Arc<SqlStore> {
        let store = if self.url.starts_with("sqlite:") {
            beseda_store_sqlite::open(&self.url).await
        } else {
            beseda_store_postgres::open(&self.url).await
        };
        Arc::new(store.expect("open the test store"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.drop_pg.take() else {
            return;
        };
        // Drop runs outside async; a short-lived runtime on its own thread drops the database.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

async fn postgres_admin_url() -> Result<String, String> {
    let url = std::env::var("BESEDA_TEST_POSTGRES_URL")
        .map_err(|_| "BESEDA_TEST_POSTGRES_URL is not set".to_owned())?;
    let conn = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        PgConnection::connect(&url),
    )
    .await
    .map_err(|_| format!("no answer from {url}"))?
    .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let _ = conn.close().await;
    Ok(url)
}

/// The same server URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced_in_any_url_shape() {
        assert_eq!(
            super::with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}

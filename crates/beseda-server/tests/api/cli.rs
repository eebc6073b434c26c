//! The `beseda` binary as an operator uses it: start-up errors, migrations, the demo, users.

use beseda_testkit::{TestBackend, TestDb};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn beseda(db_url: &str, dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_beseda"));
    c.current_dir(dir)
        .env_clear()
        .env("BESEDA_DATABASE_URL", db_url)
        .env("BESEDA_DATA_DIR", dir.join("data"))
        .env("BESEDA_LOG", "warn");
    c
}

fn run(c: &mut Command) -> (bool, String, String) {
    let out = c.output().expect("run beseda");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_database_url_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "mysql://localhost/beseda",
        "postgres://nobody@127.0.0.1:1/none",
    ] {
        let (ok, _, err) = run(beseda(url, dir.path()).args(["serve"]));
        assert!(!ok, "{url} must fail");
        let lines: Vec<_> = err.lines().filter(|l| l.starts_with("beseda:")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains("BESEDA_DATABASE_URL"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (ok, _, err) = run(beseda("sqlite://x.db", dir.path())
        .env("BESEDA_LISTEN", "nowhere")
        .args(["migrate"]));
    assert!(!ok && err.contains("BESEDA_LISTEN"), "{err}");
}

/// The demo on both backends: loads, refuses a second time, adds with --force.
#[tokio::test]
async fn demo_fills_an_empty_database_on_both_backends() {
    for backend in [TestBackend::Sqlite, TestBackend::Postgres] {
        let Some(db) = TestDb::new(backend).await else {
            continue;
        };
        let dir = db.dir.path();
        let (ok, out, err) = run(beseda(&db.url, dir).args(["demo", "--clients", "25"]));
        assert!(ok, "{backend:?}: {err}");
        assert!(out.contains("7 channels, 25 clients"), "{out}");
        let (ok, _, err) = run(beseda(&db.url, dir).args(["demo", "--clients", "5"]));
        assert!(
            !ok && err.contains("--force") && err.lines().count() == 1,
            "{err}"
        );
        let (ok, out, err) = run(beseda(&db.url, dir).args(["demo", "--clients", "5", "--force"]));
        assert!(ok, "{err}");
        assert!(
            !out.contains("password"),
            "the demo managers exist already: {out}"
        );

        use beseda_core::store::{CompanyStore, ManagerStore};
        let store = db.open_store().await;
        let counts = store.data_counts().await.unwrap();
        assert_eq!(
            (counts.channels, counts.clients, counts.dialogs),
            (14, 30, 30),
            "{backend:?}"
        );
        assert!(counts.messages >= 30);
        assert_eq!(
            store.list_managers().await.unwrap().len(),
            12,
            "managers are reused"
        );
        assert_eq!(
            store.list_tags().await.unwrap().len(),
            10,
            "tags are reused"
        );
        assert_eq!(store.list_groups().await.unwrap().len(), 3);
    }
}

#[tokio::test]
async fn users_are_created_and_reset_from_the_command_line() {
    let db = TestDb::new(TestBackend::Sqlite).await.unwrap();
    let dir = db.dir.path();
    let (ok, out, err) = run(beseda(&db.url, dir).args([
        "user",
        "create",
        "--email",
        "ops@example.com",
        "--name",
        "Ops",
        "--admin",
    ]));
    assert!(ok, "{err}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .expect("a generated password")
        .to_owned();
    assert!(password.len() >= 16);
    let (ok, _, err) = run(beseda(&db.url, dir).args([
        "user",
        "create",
        "--email",
        "ops@example.com",
        "--name",
        "Again",
    ]));
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, out, err) = run(beseda(&db.url, dir)
        .env("BESEDA_NEW_PASSWORD", "chosen by ops")
        .args(["user", "reset-password", "--email", "OPS@example.com"]));
    assert!(ok && !out.contains("Password:"), "{out}{err}");
    let (ok, _, err) =
        run(beseda(&db.url, dir).args(["user", "reset-password", "--email", "nobody@example.com"]));
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, out, _) = run(beseda(&db.url, dir).args(["migrate"]));
    assert!(ok && out.contains("sqlite"));
}

/// The README's run command: an empty database gets an administrator with a printed password
/// and the demo company, and the server answers.
#[tokio::test]
async fn serve_with_demo_starts_a_working_inbox_on_an_empty_database() {
    let db = TestDb::new(TestBackend::Sqlite).await.unwrap();
    let mut child = beseda(&db.url, db.dir.path())
        .env("BESEDA_LISTEN", "127.0.0.1:0")
        .args(["serve", "--demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    let (mut password, mut url) = (None, None);
    while url.is_none() && started.elapsed() < Duration::from_secs(60) {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            break;
        };
        if let Some(rest) = line.strip_prefix(
            "Created the administrator. Sign in as admin@beseda.local with the password ",
        ) {
            password = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = line.strip_prefix("Beseda is ready at ") {
            url = rest
                .split_whitespace()
                .next()
                .map(|u| u.trim_end_matches('/').to_owned());
        }
    }
    let (password, url) = (
        password.expect("a printed password"),
        url.expect("the ready line"),
    );
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "admin@beseda.local", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let managers: serde_json::Value = client
        .get(format!("{url}/api/v1/managers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        managers.as_array().unwrap().len(),
        13,
        "the administrator and the demo company's managers"
    );
    // SIGTERM shuts the server down gracefully: it exits on its own, successfully.
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

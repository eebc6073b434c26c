//! A fake bot's webhook on loopback: it checks each POST's signature, keeps the event frames in
//! the order they first came (a repeat of an event id is counted, not kept twice, as a real bot
//! should dedupe), and fails as told.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use beseda_core::transport::verify_webhook;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Inner {
    secret: Option<String>,
    fail_next: usize,
    frames: Vec<serde_json::Value>,
    tries: usize,
    bad_signatures: usize,
}

#[derive(Clone)]
pub struct FakeBot {
    inner: Arc<Mutex<Inner>>,
    pub webhook_url: String,
}

impl FakeBot {
    pub async fn start() -> FakeBot {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/events", post(hook))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let webhook_url = format!("http://{}/events", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeBot { inner, webhook_url }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn set_secret(&self, secret: &str) {
        self.lock().secret = Some(secret.to_owned());
    }

    /// Answers the next `n` POSTs with 500.
    pub fn fail_next(&self, n: usize) {
        self.lock().fail_next = n;
    }

    /// The frames taken, each once, in order.
    pub fn frames(&self) -> Vec<serde_json::Value> {
        self.lock().frames.clone()
    }

    /// Every POST that was signed, failed ones included.
    pub fn tries(&self) -> usize {
        self.lock().tries
    }

    pub fn bad_signatures(&self) -> usize {
        self.lock().bad_signatures
    }
}

async fn hook(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut m = inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let timestamp = header("x-beseda-timestamp")
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0);
    let signed = match (&m.secret, header("x-beseda-signature")) {
        (Some(secret), Some(sig)) => verify_webhook(secret, timestamp, &body, sig),
        _ => false,
    };
    if !signed {
        m.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    m.tries += 1;
    if m.fail_next > 0 {
        m.fail_next -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let frame: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let id = header("x-beseda-event-id").and_then(|i| i.parse::<i64>().ok());
    if frame["id"].as_i64() == id && !m.frames.iter().any(|f| f["id"].as_i64() == id) {
        m.frames.push(frame);
    }
    StatusCode::NO_CONTENT
}

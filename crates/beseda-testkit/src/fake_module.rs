//! A fake integration module on loopback, speaking the webhook side of the transport API: it
//! checks each webhook's signature, remembers what it received (deduplicating by our message
//! id, as a real module should), and answers as told — sent, async, refused, or failing.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use beseda_core::transport::verify_webhook;
use std::sync::{Arc, Mutex};

/// How the module answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `{"external_id": "fake-<our id>"}`.
    Sent,
    /// `{"async": true}`: it reports later through the API.
    Async,
    /// `{"error": {"code", "message"}}`.
    Refuse { code: String, message: String },
}

#[derive(Default)]
struct Inner {
    secret: Option<String>,
    answer: Option<Answer>,
    /// Answer this many webhooks with 500 before behaving.
    fail_next: usize,
    /// Every webhook that arrived, in order (message id, text), repeats included.
    attempts: Vec<(i64, String)>,
    /// Each message once, in the order first received.
    delivered: Vec<(i64, String)>,
    bad_signatures: usize,
    payloads: Vec<serde_json::Value>,
    hang_next: usize,
}

#[derive(Clone)]
pub struct FakeModule {
    inner: Arc<Mutex<Inner>>,
    pub webhook_url: String,
}

impl FakeModule {
    /// Starts the module on a free loopback port.
    pub async fn start() -> FakeModule {
        let inner = Arc::new(Mutex::new(Inner {
            answer: Some(Answer::Sent),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let webhook_url = format!("http://{}/hook", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeModule { inner, webhook_url }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The secret our webhooks are signed with (given when the module is connected).
    pub fn set_secret(&self, secret: &str) {
        self.lock().secret = Some(secret.to_owned());
    }

    pub fn answer(&self, answer: Answer) {
        self.lock().answer = Some(answer);
    }

    /// The next `n` webhooks are taken (and counted as delivered) but never answered, as when
    /// the sender dies while waiting.
    pub fn hang_next(&self, n: usize) {
        self.lock().hang_next = n;
    }

    pub fn fail_next(&self, n: usize) {
        self.lock().fail_next = n;
    }

    pub fn attempts(&self) -> Vec<(i64, String)> {
        self.lock().attempts.clone()
    }

    pub fn delivered(&self) -> Vec<(i64, String)> {
        self.lock().delivered.clone()
    }

    pub fn bad_signatures(&self) -> usize {
        self.lock().bad_signatures
    }

    /// The `message` objects of the signed webhooks received, first to last.
    pub fn payloads(&self) -> Vec<serde_json::Value> {
        self.lock().payloads.clone()
    }
}

async fn hook(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    let (hang, answer) = take(&inner, &headers, &body);
    if hang {
        std::future::pending::<()>().await;
    }
    answer
}

/// Records one webhook and decides the answer; whether to hang before giving it.
fn take(inner: &Mutex<Inner>, headers: &HeaderMap, body: &[u8]) -> (bool, Response) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut m = inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let timestamp = header("x-beseda-timestamp")
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0);
    let signed = match (&m.secret, header("x-beseda-signature")) {
        (Some(secret), Some(sig)) => verify_webhook(secret, timestamp, body, &sig),
        _ => false,
    };
    if !signed {
        m.bad_signatures += 1;
        return (false, StatusCode::UNAUTHORIZED.into_response());
    }
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    m.payloads.push(v["message"].clone());
    let id = v["message"]["id"].as_i64().unwrap_or(0);
    let text = v["message"]["text"].as_str().unwrap_or_default().to_owned();
    m.attempts.push((id, text.clone()));
    if m.fail_next > 0 {
        m.fail_next -= 1;
        return (false, StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    if !m.delivered.iter().any(|(seen, _)| *seen == id) {
        m.delivered.push((id, text));
    }
    let hang = m.hang_next > 0;
    m.hang_next = m.hang_next.saturating_sub(1);
    let answer = match m.answer.clone().unwrap_or(Answer::Sent) {
        Answer::Sent => serde_json::json!({ "external_id": format!("fake-{id}") }),
        Answer::Async => serde_json::json!({ "async": true }),
        Answer::Refuse { code, message } => {
            serde_json::json!({ "error": { "code": code, "message": message } })
        }
    };
    (hang, axum::Json(answer).into_response())
}

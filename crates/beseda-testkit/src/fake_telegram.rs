//! A fake Telegram Bot API on loopback, answering in the Bot API's own shapes
//! (`{"ok": true, "result": …}` or `{"ok": false, "error_code", "description", "parameters"}`):
//! it knows one bot's token, keeps the webhook it was given, records what was sent, fails as
//! told, and pushes updates to the webhook with the secret header as Telegram does.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// What one `sendMessage` carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentText {
    pub chat_id: String,
    pub text: String,
    /// The message it replies to, if any.
    pub reply_to: Option<i64>,
    /// A reply keyboard's buttons, row by row flattened (`reply_markup.keyboard`).
    pub keyboard: Vec<String>,
}

/// What one `sendPhoto`, `sendDocument` or `sendMediaGroup` carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentFiles {
    pub method: String,
    pub chat_id: String,
    pub caption: Option<String>,
    pub reply_to: Option<i64>,
    /// Each file's name and size, in order.
    pub files: Vec<(String, usize)>,
}

#[derive(Default)]
struct Inner {
    token: String,
    webhook: Option<(String, String)>,
    sent: Vec<SentText>,
    sent_files: Vec<SentFiles>,
    /// When each message was sent (texts and files alike), and to which chat.
    sent_at: Vec<(std::time::Instant, String)>,
    /// Answers to give the next sends instead of sending: (error code, description, retry after).
    failures: VecDeque<(i64, String, Option<u64>)>,
    next_id: i64,
    /// Edits and deletions: the method, the chat, the message and the new text or caption.
    changes: Vec<(String, String, i64, Option<String>)>,
    /// Messages sent with files: they have a caption, no text.
    file_messages: std::collections::HashSet<i64>,
    /// The webhook's last error as `getWebhookInfo` tells it: when, and what.
    webhook_error: Option<(i64, String)>,
    /// Users' profile photos: the file id of each one's current photo.
    profile_photos: std::collections::HashMap<i64, String>,
    /// Updates waiting for `getUpdates`, oldest first.
    queued: VecDeque<Value>,
    /// The offset each `getUpdates` asked from.
    polled: Vec<Option<i64>>,
    /// Files by id: their path and bytes.
    files: std::collections::HashMap<String, (String, Vec<u8>)>,
}

#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Mutex<Inner>>,
    /// Where the Bot API listens: give it as the connector's base URL.
    pub api: String,
}

fn refused(code: i64, description: &str, retry_after: Option<u64>) -> Value {
    let mut v = json!({"ok": false, "error_code": code, "description": description});
    if let Some(s) = retry_after {
        v["parameters"] = json!({"retry_after": s});
    }
    v
}

/// The file-sending methods take a multipart form: its fields and files.
async fn form_method(
    inner: Arc<Mutex<Inner>>,
    bot: String,
    name: String,
    mut form: axum::extract::Multipart,
) -> Json<Value> {
    let mut fields = std::collections::HashMap::new();
    let mut files = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        let key = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file) => {
                let bytes = field.bytes().await.unwrap_or_default();
                files.push((file, bytes.len()));
            }
            None => {
                fields.insert(key, field.text().await.unwrap_or_default());
            }
        }
    }
    let mut s = inner.lock().expect("fake state");
    if bot.strip_prefix("bot") != Some(s.token.as_str()) {
        return Json(refused(401, "Unauthorized", None));
    }
    if let Some((code, description, retry_after)) = s.failures.pop_front() {
        return Json(refused(code, &description, retry_after));
    }
    let chat_id = fields.get("chat_id").cloned().unwrap_or_default();
    let media: Value = fields
        .get("media")
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or(Value::Null);
    let caption = fields
        .get("caption")
        .cloned()
        .or_else(|| media[0]["caption"].as_str().map(str::to_owned));
    let reply_to = fields
        .get("reply_parameters")
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .and_then(|r| r["message_id"].as_i64());
    let count = files.len().max(1);
    s.sent_at.push((std::time::Instant::now(), chat_id.clone()));
    s.sent_files.push(SentFiles {
        method: name.clone(),
        chat_id: chat_id.clone(),
        caption,
        reply_to,
        files,
    });
    let chat: i64 = chat_id.parse().unwrap_or_default();
    let mut made = Vec::new();
    for _ in 0..count {
        s.next_id += 1;
        let id = s.next_id;
        s.file_messages.insert(id);
        made.push(json!({"message_id": s.next_id, "chat": {"id": chat, "type": "private"}, "date": 1_700_000_000}));
    }
    let result = if name == "sendMediaGroup" {
        Value::from(made)
    } else {
        made.remove(0)
    };
    Json(json!({"ok": true, "result": result}))
}

async fn method(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((bot, name)): Path<(String, String)>,
    request: axum::extract::Request,
) -> Json<Value> {
    use axum::extract::FromRequest;
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if multipart {
        return match axum::extract::Multipart::from_request(request, &()).await {
            Ok(form) => form_method(inner, bot, name, form).await,
            Err(_) => Json(refused(400, "Bad Request: a broken form", None)),
        };
    }
    let body: Value = match axum::body::to_bytes(request.into_body(), 1 << 20).await {
        Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    if name == "getUpdates" {
        return Json(get_updates(&inner, &bot, &body).await);
    }
    let mut s = inner.lock().expect("fake state");
    if bot.strip_prefix("bot") != Some(s.token.as_str()) {
        return Json(refused(401, "Unauthorized", None));
    }
    let answer = match name.as_str() {
        "getMe" => {
            json!({"ok": true, "result": {"id": 777, "is_bot": true, "first_name": "Shop bot", "username": "shop_bot"}})
        }
        "setWebhook" => {
            let url = body["url"].as_str().unwrap_or_default().to_owned();
            let secret = body["secret_token"].as_str().unwrap_or_default().to_owned();
            s.webhook = Some((url, secret));
            json!({"ok": true, "result": true, "description": "Webhook was set"})
        }
        "getFile" => {
            let id = body["file_id"].as_str().unwrap_or_default();
            match s.files.get(id) {
                Some((path, bytes)) => {
                    json!({"ok": true, "result": {"file_id": id, "file_unique_id": id,
                    "file_size": bytes.len(), "file_path": path}})
                }
                None => refused(400, "Bad Request: invalid file_id", None),
            }
        }
        "editMessageText" | "editMessageCaption" | "deleteMessage" => {
            let chat = match &body["chat_id"] {
                Value::String(c) => c.clone(),
                other => other.to_string(),
            };
            let id = body["message_id"].as_i64().unwrap_or_default();
            if id <= 1000 || id > s.next_id {
                return Json(refused(400, "Bad Request: message to edit not found", None));
            }
            if name == "editMessageText" && s.file_messages.contains(&id) {
                return Json(refused(
                    400,
                    "Bad Request: there is no text in the message to edit",
                    None,
                ));
            }
            let text = body["text"]
                .as_str()
                .or(body["caption"].as_str())
                .map(str::to_owned);
            s.changes
                .push((name.clone(), chat.clone(), id, text.clone()));
            if name == "deleteMessage" {
                json!({"ok": true, "result": true})
            } else {
                json!({"ok": true, "result": {"message_id": id, "chat": {"id": chat.parse::<i64>().unwrap_or_default(), "type": "private"},
                    "date": 1_700_000_000, "edit_date": 1_700_000_100, "text": text}})
            }
        }
        "getUserProfilePhotos" => {
            let user = body["user_id"]
                .as_i64()
                .or_else(|| body["user_id"].as_str().and_then(|u| u.parse().ok()))
                .unwrap_or_default();
            let photos: Vec<Value> = s
                .profile_photos
                .get(&user)
                .map(|id| {
                    json!([{"file_id": format!("{id}-small"), "file_unique_id": "s", "width": 160, "height": 160},
                        {"file_id": id, "file_unique_id": "m", "width": 640, "height": 640},
                        {"file_id": format!("{id}-large"), "file_unique_id": "l", "width": 1280, "height": 1280}])
                })
                .into_iter()
                .collect();
            json!({"ok": true, "result": {"total_count": photos.len(), "photos": photos}})
        }
        "getWebhookInfo" => {
            let mut info = json!({"url": s.webhook.as_ref().map(|w| w.0.clone()).unwrap_or_default(),
                "has_custom_certificate": false, "pending_update_count": 0});
            if let Some((date, message)) = &s.webhook_error {
                info["last_error_date"] = json!(date);
                info["last_error_message"] = json!(message);
            }
            json!({"ok": true, "result": info})
        }
        "deleteWebhook" => {
            s.webhook = None;
            json!({"ok": true, "result": true, "description": "Webhook was deleted"})
        }
        "sendMessage" => {
            if let Some((code, description, retry_after)) = s.failures.pop_front() {
                return Json(refused(code, &description, retry_after));
            }
            let chat_id = match &body["chat_id"] {
                Value::String(c) => c.clone(),
                other => other.to_string(),
            };
            s.next_id += 1;
            let id = s.next_id;
            s.sent_at.push((std::time::Instant::now(), chat_id.clone()));
            s.sent.push(SentText {
                chat_id: chat_id.clone(),
                text: body["text"].as_str().unwrap_or_default().to_owned(),
                reply_to: body["reply_parameters"]["message_id"].as_i64(),
                keyboard: body["reply_markup"]["keyboard"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(|b| b["text"].as_str().map(str::to_owned))
                    .collect(),
            });
            let chat: i64 = chat_id.parse().unwrap_or_default();
            json!({"ok": true, "result": {"message_id": id, "chat": {"id": chat, "type": "private"},
                "date": 1_700_000_000, "text": body["text"]}})
        }
        _ => refused(404, "Not Found: method not found", None),
    };
    Json(answer)
}

/// `getUpdates`: the updates from `offset` on (those before it are confirmed and forgotten),
/// waiting up to `timeout` seconds for one; refused while a webhook is set, as Telegram does.
async fn get_updates(inner: &Arc<Mutex<Inner>>, bot: &str, body: &Value) -> Value {
    let offset = body["offset"].as_i64();
    let deadline = std::time::Instant::now()
        + std::time::Duration::from_secs(body["timeout"].as_u64().unwrap_or(0));
    {
        let mut s = inner.lock().expect("fake state");
        if bot.strip_prefix("bot") != Some(s.token.as_str()) {
            return refused(401, "Unauthorized", None);
        }
        if s.webhook.is_some() {
            return refused(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                None,
            );
        }
        s.polled.push(offset);
    }
    loop {
        {
            let mut s = inner.lock().expect("fake state");
            if let Some(o) = offset {
                s.queued
                    .retain(|u| u["update_id"].as_i64().unwrap_or_default() >= o);
            }
            if !s.queued.is_empty() || std::time::Instant::now() >= deadline {
                let updates: Vec<Value> = s.queued.iter().take(100).cloned().collect();
                return json!({"ok": true, "result": updates});
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn file(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((bot, path)): Path<(String, String)>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let s = inner.lock().expect("fake state");
    if bot.strip_prefix("bot") != Some(s.token.as_str()) {
        return axum::http::StatusCode::UNAUTHORIZED.into_response();
    }
    match s.files.values().find(|(p, _)| *p == path) {
        Some((_, bytes)) => bytes.clone().into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

impl FakeTelegram {
    /// Starts the Bot API for the bot with `token` on a free loopback port.
    pub async fn start(token: &str) -> FakeTelegram {
        let inner = Arc::new(Mutex::new(Inner {
            token: token.to_owned(),
            next_id: 1000,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/{bot}/{method}", post(method))
            .route("/file/{bot}/{*path}", axum::routing::get(file))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let api = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTelegram { inner, api }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake state")
    }

    /// A file the bot's clients sent, served by `getFile` and the file address.
    pub fn add_file(&self, file_id: &str, path: &str, bytes: Vec<u8>) {
        self.lock()
            .files
            .insert(file_id.to_owned(), (path.to_owned(), bytes));
    }

    /// The webhook address and secret the bot was given.
    pub fn webhook(&self) -> Option<(String, String)> {
        self.lock().webhook.clone()
    }

    /// Every message sent, in order.
    pub fn sent(&self) -> Vec<SentText> {
        self.lock().sent.clone()
    }

    /// When each message was sent, on the fake's clock, and to which chat.
    pub fn sent_at(&self) -> Vec<(std::time::Instant, String)> {
        self.lock().sent_at.clone()
    }

    /// Every sending of files, in order.
    pub fn sent_files(&self) -> Vec<SentFiles> {
        self.lock().sent_files.clone()
    }

    /// The next send is refused with this error (and `retry_after`, for a 429).
    pub fn fail_next(&self, code: i64, description: &str, retry_after: Option<u64>) {
        self.lock()
            .failures
            .push_back((code, description.to_owned(), retry_after));
    }

    /// Telegram could not deliver to the webhook: `getWebhookInfo` says so, with the Unix
    /// time.
    pub fn webhook_failed(&self, date: i64, message: &str) {
        self.lock().webhook_error = Some((date, message.to_owned()));
    }

    /// Every edit and deletion: the method, the chat, the message and the new text.
    pub fn changes(&self) -> Vec<(String, String, i64, Option<String>)> {
        self.lock().changes.clone()
    }

    /// The user's profile photo is the file `file_id` (in its 640-pixel size; the others
    /// are not served).
    pub fn set_profile_photo(&self, user: i64, file_id: &str) {
        self.lock().profile_photos.insert(user, file_id.to_owned());
    }

    /// An update for `getUpdates` to give.
    pub fn queue(&self, update: Value) {
        self.lock().queued.push_back(update);
    }

    /// The offset each `getUpdates` asked from, in order.
    pub fn polled(&self) -> Vec<Option<i64>> {
        self.lock().polled.clone()
    }

    /// Posts an update to the webhook as Telegram does, with the secret header; gives the
    /// status our server answered.
    pub async fn push(&self, update: &Value) -> u16 {
        let (url, secret) = self.webhook().expect("a webhook is set");
        reqwest_post(&url, &secret, update).await
    }
}

async fn reqwest_post(url: &str, secret: &str, update: &Value) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("x-telegram-bot-api-secret-token", secret)
        .json(update)
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

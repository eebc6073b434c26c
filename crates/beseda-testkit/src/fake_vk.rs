//! A fake VK API on loopback, answering in VK's own shapes (`{"response": …}` or
//! `{"error": {"error_code", "error_msg"}}`) for one community's token: it keeps the callback
//! server it was given and confirms it as VK does (a `confirmation` call whose answer must be
//! the community's code), records what was sent and uploaded, refuses a repeated `random_id`,
//! sends the community's copy of each message back (`message_reply`), fails as told, serves
//! the clients' files, and pushes callbacks with the secret.

use axum::Json;
use axum::Router;
use axum::extract::{Form, Multipart, Path, State};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The community behind the fake's token.
pub const GROUP_ID: i64 = 77;
/// The code VK expects our server to answer its confirmation call with.
pub const CONFIRMATION_CODE: &str = "c0nf1rm5";

/// What one `messages.send` carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentVk {
    /// VK's id of the message.
    pub id: i64,
    pub peer_id: i64,
    pub random_id: i64,
    pub message: String,
    /// The attachments' names (`photo-77_1_key`, `doc-77_2`).
    pub attachments: Vec<String>,
    pub reply_to: Option<i64>,
    /// The keyboard's text buttons' labels, row by row, and whether it hides after a tap.
    pub keyboard: Option<(Vec<String>, bool)>,
}

/// Our callback server, as VK keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackServer {
    pub id: i64,
    pub url: String,
    pub secret: String,
    /// `unconfigured` until confirmed, then `ok` or `failed`, as VK shows it.
    pub status: String,
    /// The events it receives.
    pub events: Vec<String>,
}

#[derive(Default)]
struct Inner {
    token: String,
    base: String,
    server: Option<CallbackServer>,
    sent: Vec<SentVk>,
    /// Sent messages by (peer, random id): a repeat answers the first message's id.
    by_random_id: HashMap<(i64, i64), i64>,
    /// Each uploaded file: the upload server's kind (`photo`, `doc`), its name and size.
    uploads: Vec<(String, String, usize)>,
    failures: VecDeque<(i64, String)>,
    next_id: i64,
    files: HashMap<String, Vec<u8>>,
    /// Edits and deletions: the method, the peer, the message and the new text.
    changes: Vec<(String, i64, i64, Option<String>)>,
    /// How many times a file was served.
    served: usize,
    calls: Vec<String>,
}

#[derive(Clone)]
pub struct FakeVk {
    inner: Arc<Mutex<Inner>>,
    /// Where the API listens: give it as the connector's base URL.
    pub api: String,
}

fn error(code: i64, message: &str) -> Value {
    json!({"error": {"error_code": code, "error_msg": message, "request_params": []}})
}

fn number(params: &HashMap<String, String>, key: &str) -> i64 {
    params
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}

async fn method(
    State(fake): State<FakeVk>,
    Path(name): Path<String>,
    Form(params): Form<HashMap<String, String>>,
) -> Json<Value> {
    let mut s = fake.lock();
    s.calls.push(name.clone());
    if params.get("access_token") != Some(&s.token) {
        return Json(error(
            5,
            "User authorization failed: invalid access_token (4).",
        ));
    }
    if params.get("v").map(String::as_str) != Some("5.199") {
        return Json(error(8, "Invalid request: v (version) is required"));
    }
    let answer = match name.as_str() {
        "groups.getById" => json!({"response": {"groups": [{"id": GROUP_ID,
            "name": "Мебельный магазин", "screen_name": "shop", "type": "page"}], "profiles": []}}),
        "groups.getCallbackConfirmationCode" => {
            json!({"response": {"code": CONFIRMATION_CODE}})
        }
        "groups.addCallbackServer" => {
            s.next_id += 1;
            let server = CallbackServer {
                id: s.next_id,
                url: params.get("url").cloned().unwrap_or_default(),
                secret: params.get("secret_key").cloned().unwrap_or_default(),
                status: "unconfigured".into(),
                events: Vec::new(),
            };
            let id = server.id;
            s.server = Some(server);
            // VK checks the address right away, after it answers.
            let confirming = fake.clone();
            tokio::spawn(async move { confirming.confirm().await });
            json!({"response": {"server_id": id}})
        }
        "groups.setCallbackSettings" => match &mut s.server {
            Some(server) if server.id == number(&params, "server_id") => {
                server.events = params
                    .iter()
                    .filter(|(k, v)| k.starts_with("message_") && v.as_str() == "1")
                    .map(|(k, _)| k.clone())
                    .collect();
                server.events.sort();
                json!({"response": 1})
            }
            _ => error(
                100,
                "One of the parameters specified was missing or invalid: server_id",
            ),
        },
        "groups.getCallbackServers" => {
            let items: Vec<Value> = s
                .server
                .iter()
                .map(|c| {
                    json!({"id": c.id, "title": "Beseda", "creator_id": 1, "url": c.url,
                    "secret_key": c.secret, "status": c.status})
                })
                .collect();
            json!({"response": {"count": items.len(), "items": items}})
        }
        "groups.deleteCallbackServer" => {
            s.server = None;
            json!({"response": 1})
        }
        "users.get" => {
            let id = number(&params, "user_ids");
            json!({"response": [{"id": id, "first_name": "Иван", "last_name": "Петров",
                "screen_name": format!("user{id}"), "photo_200": format!("{}/files/avatar-{id}.jpg", s.base),
                "can_access_closed": true, "is_closed": false}]})
        }
        "messages.edit" | "messages.delete" => {
            if let Some((code, message)) = s.failures.pop_front() {
                return Json(error(code, &message));
            }
            let id = number(
                &params,
                if name == "messages.edit" {
                    "message_id"
                } else {
                    "message_ids"
                },
            );
            if !s.sent.iter().any(|m| m.id == id) {
                return Json(error(
                    100,
                    "One of the parameters specified was missing or invalid: message not found",
                ));
            }
            let change = (
                name.clone(),
                number(&params, "peer_id"),
                id,
                params.get("message").cloned(),
            );
            s.changes.push(change);
            if name == "messages.edit" {
                json!({"response": 1})
            } else {
                json!({"response": {id.to_string(): 1}})
            }
        }
        "photos.getMessagesUploadServer" => {
            json!({"response": {"album_id": -64, "upload_url": format!("{}/upload/photo", s.base), "group_id": GROUP_ID}})
        }
        "docs.getMessagesUploadServer" => {
            json!({"response": {"upload_url": format!("{}/upload/doc", s.base)}})
        }
        "photos.saveMessagesPhoto" => {
            s.next_id += 1;
            json!({"response": [{"id": s.next_id, "owner_id": -GROUP_ID, "access_key": "k3y",
                "album_id": -64, "date": 1_700_000_000, "sizes": []}]})
        }
        "docs.save" => {
            s.next_id += 1;
            json!({"response": {"type": "doc", "doc": {"id": s.next_id, "owner_id": -GROUP_ID,
                "title": params.get("title"), "size": 1, "ext": "pdf", "url": "https://vk.com/doc", "date": 1_700_000_000, "type": 1}}})
        }
        "messages.send" => {
            if let Some((code, message)) = s.failures.pop_front() {
                return Json(error(code, &message));
            }
            let peer = number(&params, "peer_id");
            let random_id = number(&params, "random_id");
            if let Some(first) = s.by_random_id.get(&(peer, random_id)) {
                return Json(json!({"response": first}));
            }
            s.next_id += 1;
            let id = s.next_id;
            s.by_random_id.insert((peer, random_id), id);
            let sent = SentVk {
                id,
                peer_id: peer,
                random_id,
                message: params.get("message").cloned().unwrap_or_default(),
                attachments: params
                    .get("attachment")
                    .map(|a| a.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
                reply_to: params.get("reply_to").and_then(|r| r.parse().ok()),
                keyboard: params
                    .get("keyboard")
                    .and_then(|k| serde_json::from_str::<Value>(k).ok())
                    .map(|k| {
                        let labels = k["buttons"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_array)
                            .flatten()
                            .filter_map(|b| b["action"]["label"].as_str().map(str::to_owned))
                            .collect();
                        (labels, k["one_time"] == true)
                    }),
            };
            let copy = json!({"id": id, "date": 1_700_000_000, "peer_id": peer, "from_id": -GROUP_ID,
                "out": 1, "text": sent.message, "random_id": random_id, "attachments": [],
                "conversation_message_id": id, "admin_author_id": 1});
            s.sent.push(sent);
            // VK sends the community's copy of the message to the callback server.
            let echoing = fake.clone();
            tokio::spawn(async move {
                echoing.push("message_reply", copy).await;
            });
            json!({"response": id})
        }
        _ => error(3, "Unknown method passed"),
    };
    Json(answer)
}

async fn upload(
    State(fake): State<FakeVk>,
    Path(kind): Path<String>,
    mut form: Multipart,
) -> Json<Value> {
    let mut got = None;
    while let Ok(Some(field)) = form.next_field().await {
        let field_name = field.name().unwrap_or_default().to_owned();
        let file = field.file_name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.unwrap_or_default();
        got = Some((field_name, file, bytes.len()));
    }
    let expected = if kind == "photo" { "photo" } else { "file" };
    let Some((field, file, size)) = got.filter(|(f, _, _)| f == expected) else {
        return Json(
            json!({"error": "no file", "error_descr": format!("the field {expected} is missing")}),
        );
    };
    let mut s = fake.lock();
    s.uploads.push((kind.clone(), file, size));
    s.next_id += 1;
    Json(if field == "photo" {
        json!({"server": 1, "photo": format!("[{{\"photo\":\"p{}\"}}]", s.next_id), "hash": "h4sh"})
    } else {
        json!({"file": format!("f{}", s.next_id)})
    })
}

async fn file(State(fake): State<FakeVk>, Path(name): Path<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut s = fake.lock();
    s.served += 1;
    match s.files.get(&name) {
        Some(bytes) => bytes.clone().into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// A document's address redirects to where it is stored, as VK's do.
async fn doc(Path(name): Path<String>) -> axum::response::Redirect {
    axum::response::Redirect::temporary(&format!("/files/{name}"))
}

impl FakeVk {
    /// Starts the API for the community with `token` on a free loopback port.
    pub async fn start(token: &str) -> FakeVk {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let api = format!("http://{}", listener.local_addr().expect("address"));
        let fake = FakeVk {
            inner: Arc::new(Mutex::new(Inner {
                token: token.to_owned(),
                base: api.clone(),
                next_id: 1000,
                ..Inner::default()
            })),
            api,
        };
        let app = Router::new()
            .route("/method/{name}", post(method))
            .route("/upload/{kind}", post(upload))
            .route("/files/{name}", get(file))
            .route("/doc/{name}", get(doc))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake state")
    }

    /// VK's check of a new callback server: a `confirmation` call, answered with the code.
    async fn confirm(&self) {
        let Some(server) = self.server() else { return };
        let answer = reqwest::Client::new()
            .post(&server.url)
            .json(&json!({"type": "confirmation", "group_id": GROUP_ID}))
            .send()
            .await;
        let confirmed = match answer {
            Ok(r) if r.status().is_success() => r.text().await.ok(),
            _ => None,
        };
        if let Some(s) = &mut self.lock().server {
            s.status = if confirmed.as_deref() == Some(CONFIRMATION_CODE) {
                "ok".into()
            } else {
                "failed".into()
            };
        }
    }

    /// A client's file: its address on the fake (`/files/{name}`, or `/doc/{name}`, which
    /// redirects there).
    pub fn add_file(&self, name: &str, bytes: Vec<u8>) -> String {
        self.lock().files.insert(name.to_owned(), bytes);
        format!("{}/files/{name}", self.api)
    }

    /// Every edit and deletion: the method, the peer, the message and the new text.
    pub fn changes(&self) -> Vec<(String, i64, i64, Option<String>)> {
        self.lock().changes.clone()
    }

    /// How many times the clients' files were downloaded.
    pub fn served(&self) -> usize {
        self.lock().served
    }

    /// The callback server VK keeps for the community.
    pub fn server(&self) -> Option<CallbackServer> {
        self.lock().server.clone()
    }

    /// Every message sent, in order.
    pub fn sent(&self) -> Vec<SentVk> {
        self.lock().sent.clone()
    }

    /// Every file uploaded: the upload server's kind, the file's name and size.
    pub fn uploads(&self) -> Vec<(String, String, usize)> {
        self.lock().uploads.clone()
    }

    /// The API methods called, in order.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// The next `messages.send` is refused with this error.
    pub fn fail_next(&self, code: i64, message: &str) {
        self.lock().failures.push_back((code, message.to_owned()));
    }

    /// Sends a callback of `kind` to the callback server as VK does (the community and the
    /// secret in the body); our server's status and answer.
    pub async fn push(&self, kind: &str, object: Value) -> (u16, String) {
        let (server, event) = {
            let mut s = self.lock();
            s.next_id += 1;
            (s.server.clone(), s.next_id)
        };
        let Some(server) = server else {
            return (0, String::new());
        };
        let body = json!({"type": kind, "event_id": format!("e{event}"), "v": "5.199",
            "object": object, "group_id": GROUP_ID, "secret": server.secret});
        match reqwest::Client::new()
            .post(&server.url)
            .json(&body)
            .send()
            .await
        {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(_) => (0, String::new()),
        }
    }
}

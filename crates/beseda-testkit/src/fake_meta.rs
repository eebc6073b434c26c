//! A fake of Meta's Graph API on loopback, for the WhatsApp Cloud API and the Messenger
//! Platform (a Facebook page, and the Instagram account linked to it), answering in Graph's
//! own shapes (the object, or `{"error": {"message", "type", "code", "fbtrace_id"}}`) for one
//! token: it knows two phone numbers of one business account with its templates, and one page
//! with its Instagram account; it records what was sent, uploaded, marked read and subscribed,
//! fails as told, serves media behind the token as WhatsApp does and attachments publicly as
//! Messenger's CDN does. It also plays Meta calling our server: it pushes webhooks signed with
//! the app secret (`X-Hub-Signature-256`) and makes the subscription's verification request,
//! and builds the webhook bodies in Meta's documented shapes.

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The access token every Graph call must carry (`Authorization: Bearer …`).
pub const TOKEN: &str = "EAAG-meta-token";
/// The app's secret: Meta signs its webhooks with it.
pub const APP_SECRET: &str = "app-secret-9f8e";
/// The Graph API version every call goes under (`/v21.0/…`).
pub const GRAPH_VERSION: &str = "v21.0";
/// The business account the phone numbers belong to.
pub const WABA_ID: &str = "102290129340398";
/// The first phone number.
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const DISPLAY_PHONE: &str = "+1 555-010-0001";
pub const VERIFIED_NAME: &str = "Мебельный магазин";
/// The second phone number of the same business account.
pub const PHONE_NUMBER_ID_2: &str = "106540352242933";
pub const DISPLAY_PHONE_2: &str = "+1 555-010-0002";
pub const VERIFIED_NAME_2: &str = "Мебель: опт";
/// The Facebook page, and the Instagram account linked to it.
pub const PAGE_ID: &str = "1122334455";
pub const PAGE_NAME: &str = "Мебель на Тверской";
pub const IG_ID: &str = "17841400000000001";
pub const IG_USERNAME: &str = "mebel.shop";
/// The app Messenger names as the sender of echoes of what the app sent.
pub const APP_ID: i64 = 1_517_776_481_860_111;

const FBTRACE_ID: &str = "AbCdEf";

/// What one WhatsApp `POST /{phone number}/messages` carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentWhatsapp {
    pub phone_number_id: String,
    pub to: String,
    /// The `type`: `text`, `image`, `document`, `audio`, `video`, `template`…
    pub kind: String,
    /// The text's body, or the media's caption.
    pub text: Option<String>,
    /// The uploaded media's id.
    pub media_id: Option<String>,
    /// A document's file name.
    pub filename: Option<String>,
    /// The message it replies to (`context.message_id`).
    pub context: Option<String>,
    /// A template's name, language code and the texts of its body's parameters.
    pub template: Option<(String, String, Vec<String>)>,
    /// An interactive message's reply buttons' titles (its body is `text`).
    pub buttons: Vec<String>,
    /// The id Meta gave it (`wamid.OUT<n>`).
    pub id: String,
}

/// What one Messenger (or Instagram) `POST /{page}/messages` carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessenger {
    pub recipient: String,
    /// `RESPONSE`, `UPDATE` or `MESSAGE_TAG`; empty when not given.
    pub messaging_type: String,
    pub tag: Option<String>,
    pub text: Option<String>,
    /// The attachment's type and its `attachment_id` (or, when sent by address, its `url`).
    pub attachment: Option<(String, String)>,
    pub metadata: Option<String>,
    /// The message it replies to (`reply_to.mid`).
    pub reply_to: Option<String>,
    /// Its quick replies' titles.
    pub quick_replies: Vec<String>,
    /// The id Meta gave it (`m_OUT<n>`).
    pub id: String,
}

/// A refusal to give the next send instead of sending.
struct Failure {
    code: i64,
    subcode: Option<i64>,
    details: String,
}

#[derive(Default)]
struct Inner {
    calls: Vec<String>,
    subscribed: Vec<String>,
    sent_whatsapp: Vec<SentWhatsapp>,
    sent_messenger: Vec<SentMessenger>,
    marked_read: Vec<String>,
    /// Each upload: the file's name, its type (a MIME type, or Messenger's attachment type)
    /// and size.
    uploads: Vec<(String, String, usize)>,
    /// How many times a file was downloaded (WhatsApp media and CDN files alike).
    served: usize,
    /// WhatsApp media by id: the bytes and the MIME type.
    media: HashMap<String, (Vec<u8>, String)>,
    /// Files on the public CDN, by name.
    files: HashMap<String, Vec<u8>>,
    /// Users' profiles by id, as Graph answers them.
    profiles: HashMap<String, Value>,
    /// The business account's templates, as Graph lists them.
    templates: Vec<Value>,
    failures: VecDeque<Failure>,
    /// Counters of the ids given, each kind on its own so that a test can predict them.
    next_wamid: u64,
    next_mid: u64,
    next_media: u64,
    next_attachment: u64,
}

#[derive(Clone)]
pub struct FakeMeta {
    inner: Arc<Mutex<Inner>>,
    /// Where the API listens (without the version): give it as the connector's base URL.
    pub api: String,
}

/// A phone number the business account has.
struct Phone {
    id: &'static str,
    display: &'static str,
    name: &'static str,
}

const PHONES: [Phone; 2] = [
    Phone {
        id: PHONE_NUMBER_ID,
        display: DISPLAY_PHONE,
        name: VERIFIED_NAME,
    },
    Phone {
        id: PHONE_NUMBER_ID_2,
        display: DISPLAY_PHONE_2,
        name: VERIFIED_NAME_2,
    },
];

fn phone(id: &str) -> Option<&'static Phone> {
    PHONES.iter().find(|p| p.id == id)
}

/// What a Graph id names, as far as the fake knows.
#[derive(Clone, Copy)]
enum Node {
    Phone(&'static Phone),
    Waba,
    Page,
    Instagram,
    Media,
    Profile,
    Unknown,
}

fn node(s: &Inner, id: &str) -> Node {
    if let Some(p) = phone(id) {
        Node::Phone(p)
    } else if id == WABA_ID {
        Node::Waba
    } else if id == PAGE_ID || id == "me" {
        // The page's token makes `me` the page.
        Node::Page
    } else if id == IG_ID {
        Node::Instagram
    } else if s.media.contains_key(id) {
        Node::Media
    } else if s.profiles.contains_key(id) {
        Node::Profile
    } else {
        Node::Unknown
    }
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn ok(body: Value) -> Response {
    answer(StatusCode::OK, body)
}

fn invalid_token() -> Response {
    answer(
        StatusCode::UNAUTHORIZED,
        json!({"error": {"message": "Invalid OAuth access token - Cannot parse access token",
            "type": "OAuthException", "code": 190, "fbtrace_id": FBTRACE_ID}}),
    )
}

/// Graph's answer about an id it does not know (or a call the id does not take).
fn unsupported(method: &Method, id: &str) -> Response {
    let message = format!(
        "Unsupported {} request. Object with ID '{id}' does not exist, cannot be loaded due to \
         missing permissions, or does not support this operation. Please read the Graph API \
         documentation at https://developers.facebook.com/docs/graph-api",
        method.as_str().to_lowercase()
    );
    answer(
        StatusCode::BAD_REQUEST,
        json!({"error": {"message": message, "type": "GraphMethodException", "code": 100,
            "error_subcode": 33, "fbtrace_id": FBTRACE_ID}}),
    )
}

/// Graph's answer about an edge the object does not have.
fn no_edge(edge: &str) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        json!({"error": {"message": format!("(#100) Tried accessing nonexisting field ({edge})"),
            "type": "OAuthException", "code": 100, "fbtrace_id": FBTRACE_ID}}),
    )
}

fn missing(parameter: &str) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        json!({"error": {"message": format!("(#100) The parameter {parameter} is required"),
            "type": "OAuthException", "code": 100, "fbtrace_id": FBTRACE_ID}}),
    )
}

/// A refusal as the Cloud API gives it: the details again in `error_data`, and 429 for the
/// rate limit.
fn whatsapp_failure(f: &Failure) -> Response {
    let status = if f.code == 130_429 {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut error = json!({"message": format!("(#{}) {}", f.code, f.details),
        "type": "OAuthException", "code": f.code,
        "error_data": {"messaging_product": "whatsapp", "details": f.details},
        "fbtrace_id": FBTRACE_ID});
    if let Some(subcode) = f.subcode {
        error["error_subcode"] = json!(subcode);
    }
    answer(status, json!({ "error": error }))
}

/// A refusal as the Send API gives it: the subcode tells what exactly went wrong.
fn messenger_failure(f: &Failure) -> Response {
    let mut error = json!({"message": f.details, "type": "OAuthException", "code": f.code,
        "fbtrace_id": FBTRACE_ID});
    if let Some(subcode) = f.subcode {
        error["error_subcode"] = json!(subcode);
    }
    answer(StatusCode::BAD_REQUEST, json!({ "error": error }))
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(TOKEN)
}

/// A string field, or a number written as one (ids come either way).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// The signature header's value Meta gives a webhook body: `sha256=` and the lowercase hex
/// HMAC-SHA256 of the exact bytes, keyed with the app secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// A file part of a multipart form.
struct Part {
    field: String,
    file_name: String,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

/// A request's body, whichever way it came: JSON, a form, or a multipart form.
#[derive(Default)]
struct Payload {
    json: Value,
    fields: HashMap<String, String>,
    files: Vec<Part>,
}

impl Payload {
    async fn read(request: Request) -> Payload {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut payload = Payload::default();
        if content_type.starts_with("multipart/") {
            let Ok(mut form) = Multipart::from_request(request, &()).await else {
                return payload;
            };
            while let Ok(Some(field)) = form.next_field().await {
                let name = field.name().unwrap_or_default().to_owned();
                match field.file_name().map(str::to_owned) {
                    Some(file_name) => {
                        let content_type = field.content_type().map(str::to_owned);
                        let bytes = field.bytes().await.unwrap_or_default().to_vec();
                        payload.files.push(Part {
                            field: name,
                            file_name,
                            content_type,
                            bytes,
                        });
                    }
                    None => {
                        let value = field.text().await.unwrap_or_default();
                        payload.fields.insert(name, value);
                    }
                }
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            if let Ok(Form(fields)) = Form::from_request(request, &()).await {
                payload.fields = fields;
            }
        } else if let Ok(bytes) = axum::body::to_bytes(request.into_body(), 1 << 20).await {
            payload.json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        }
        payload
    }
}

async fn graph_node(
    State(fake): State<FakeMeta>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    fake.graph(id, None, request).await
}

async fn graph_edge(
    State(fake): State<FakeMeta>,
    Path((id, edge)): Path<(String, String)>,
    request: Request,
) -> Response {
    fake.graph(id, Some(edge), request).await
}

/// WhatsApp media's download address: it too wants the token.
async fn whatsapp_media(
    State(fake): State<FakeMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&headers) {
        return invalid_token();
    }
    let mut s = fake.lock();
    let Some((bytes, mime)) = s.media.get(&id).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    s.served += 1;
    ([(header::CONTENT_TYPE, mime)], bytes).into_response()
}

/// Messenger's CDN: public addresses, as the attachments' payloads give them.
async fn cdn(State(fake): State<FakeMeta>, Path(name): Path<String>) -> Response {
    let mut s = fake.lock();
    let Some(bytes) = s.files.get(&name).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    s.served += 1;
    ([(header::CONTENT_TYPE, guess_mime(&name))], bytes).into_response()
}

fn guess_mime(name: &str) -> &'static str {
    let extension = name.rsplit('.').next().unwrap_or_default();
    match extension.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "aac" | "m4a" => "audio/mp4",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

fn default_templates() -> Vec<Value> {
    vec![
        json!({"name": "order_ready", "language": "ru", "status": "APPROVED",
            "category": "UTILITY", "id": "1357924680001",
            "components": [{"type": "BODY",
                "text": "Здравствуйте, {{1}}! Ваш заказ {{2}} готов к выдаче."}]}),
        json!({"name": "hello_world", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "id": "1357924680002",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
                {"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta."},
                {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"}]}),
        json!({"name": "draft_promo", "language": "ru", "status": "REJECTED",
            "category": "UTILITY", "id": "1357924680003",
            "components": [{"type": "BODY", "text": "Скидка {{1}}%"}]}),
    ]
}

impl FakeMeta {
    /// Starts the Graph API on a free loopback port.
    pub async fn start() -> FakeMeta {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let api = format!("http://{}", listener.local_addr().expect("address"));
        let fake = FakeMeta {
            inner: Arc::new(Mutex::new(Inner {
                templates: default_templates(),
                ..Inner::default()
            })),
            api,
        };
        let app = Router::new()
            .route(&format!("/{GRAPH_VERSION}/{{id}}"), get(graph_node))
            .route(
                &format!("/{GRAPH_VERSION}/{{id}}/{{edge}}"),
                get(graph_edge).post(graph_edge).delete(graph_edge),
            )
            .route("/whatsapp-media/{id}", get(whatsapp_media))
            .route("/cdn/{name}", get(cdn))
            // WhatsApp takes documents up to 100 MB.
            .layer(DefaultBodyLimit::max(100 << 20))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake state")
    }

    async fn graph(&self, id: String, edge: Option<String>, request: Request) -> Response {
        let method = request.method().clone();
        self.lock()
            .calls
            .push(format!("{method} {}", request.uri().path()));
        if !authorized(request.headers()) {
            return invalid_token();
        }
        let query: HashMap<String, String> = Query::try_from_uri(request.uri())
            .map(|Query(q)| q)
            .unwrap_or_default();
        let body = Payload::read(request).await;
        let mut s = self.lock();
        let target = node(&s, &id);
        let Some(edge) = edge else {
            return if method == Method::GET {
                self.object(&s, target, &id)
            } else {
                unsupported(&method, &id)
            };
        };
        match (target, method.as_str(), edge.as_str()) {
            (Node::Unknown, _, _) => unsupported(&method, &id),
            (Node::Waba, "POST", "subscribed_apps") => {
                s.subscribed.push(WABA_ID.to_owned());
                ok(json!({"success": true}))
            }
            // The app subscribed to the account or page, as Graph lists it; and unsubscribed.
            (Node::Waba | Node::Page, "GET", "subscribed_apps") => {
                let key = if matches!(target, Node::Waba) {
                    WABA_ID
                } else {
                    PAGE_ID
                };
                let data: Vec<Value> = s
                    .subscribed
                    .iter()
                    .filter(|e| e.split(':').next() == Some(key))
                    .map(|_| json!({"id": APP_ID.to_string(), "name": "Beseda", "link": "https://beseda.example"}))
                    .collect();
                ok(json!({"data": data}))
            }
            (Node::Waba | Node::Page, "DELETE", "subscribed_apps") => {
                let key = if matches!(target, Node::Waba) {
                    WABA_ID
                } else {
                    PAGE_ID
                };
                s.subscribed.retain(|e| e.split(':').next() != Some(key));
                ok(json!({"success": true}))
            }
            (Node::Waba, "GET", "message_templates") => {
                let data: Vec<Value> = s
                    .templates
                    .iter()
                    .filter(|t| {
                        ["status", "name"]
                            .iter()
                            .all(|key| query.get(*key).is_none_or(|want| t[*key] == **want))
                    })
                    .cloned()
                    .collect();
                ok(json!({"data": data, "paging": {"cursors": {"before": "a", "after": "b"}}}))
            }
            (Node::Phone(p), "POST", "messages") => whatsapp_send(&mut s, p.id, &body.json),
            (Node::Phone(_), "POST", "media") => whatsapp_upload(&mut s, &body),
            (Node::Page, "POST", "subscribed_apps") => {
                let fields = query
                    .get("subscribed_fields")
                    .or(body.fields.get("subscribed_fields"))
                    .cloned()
                    .or_else(|| match &body.json["subscribed_fields"] {
                        Value::Array(items) => Some(
                            items
                                .iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(","),
                        ),
                        other => other.as_str().map(str::to_owned),
                    });
                let Some(fields) = fields.filter(|f| !f.is_empty()) else {
                    return missing("subscribed_fields");
                };
                s.subscribed.push(format!("{PAGE_ID}:{fields}"));
                ok(json!({"success": true}))
            }
            (Node::Page, "POST", "messages") => messenger_send(&mut s, &body.json),
            (Node::Page, "POST", "message_attachments") => messenger_upload(&mut s, &body),
            _ => no_edge(&edge),
        }
    }

    /// `GET /{id}`: the object Graph keeps under the id.
    fn object(&self, s: &Inner, target: Node, id: &str) -> Response {
        match target {
            Node::Phone(p) => ok(json!({"id": p.id, "display_phone_number": p.display,
                "verified_name": p.name, "quality_rating": "GREEN"})),
            Node::Waba => ok(json!({"id": WABA_ID, "name": VERIFIED_NAME,
                "currency": "USD", "timezone_id": "1",
                "message_template_namespace": "c2b5a1f0_7d3e_4f6a_9b8c_0d1e2f3a4b5c"})),
            Node::Page => ok(json!({"id": PAGE_ID, "name": PAGE_NAME,
                "instagram_business_account": {"id": IG_ID, "username": IG_USERNAME}})),
            Node::Instagram => ok(json!({"id": IG_ID, "username": IG_USERNAME})),
            Node::Media => {
                let (bytes, mime) = &s.media[id];
                ok(json!({"messaging_product": "whatsapp",
                    "url": format!("{}/whatsapp-media/{id}?ext=1", self.api),
                    "mime_type": mime, "sha256": sha256_hex(bytes),
                    "file_size": bytes.len(), "id": id}))
            }
            Node::Profile => ok(s.profiles[id].clone()),
            Node::Unknown => unsupported(&Method::GET, id),
        }
    }

    /// A client's file on Messenger's CDN: served publicly at `file_url(name)`, which it gives.
    pub fn add_file(&self, name: &str, bytes: Vec<u8>) -> String {
        self.lock().files.insert(name.to_owned(), bytes);
        self.file_url(name)
    }

    /// Where Messenger's CDN serves the file `name`.
    pub fn file_url(&self, name: &str) -> String {
        format!("{}/cdn/{name}", self.api)
    }

    /// A WhatsApp media a client sent: its id resolves to a download address, as uploads do.
    pub fn add_media(&self, id: &str, bytes: Vec<u8>, mime: &str) {
        self.lock()
            .media
            .insert(id.to_owned(), (bytes, mime.to_owned()));
    }

    /// A WhatsApp media the fake holds (uploaded or added): its bytes and MIME type.
    pub fn media(&self, id: &str) -> Option<(Vec<u8>, String)> {
        self.lock().media.get(id).cloned()
    }

    /// A user's profile, answered as is to `GET /{id}`.
    pub fn set_profile(&self, id: &str, profile: Value) {
        self.lock().profiles.insert(id.to_owned(), profile);
    }

    /// Replaces the business account's templates, each as `message_templates` lists it.
    pub fn set_templates(&self, templates: Vec<Value>) {
        self.lock().templates = templates;
    }

    /// The next send (WhatsApp or Messenger, whichever comes first) is refused with this
    /// error.
    pub fn fail_next(&self, code: i64, details: &str) {
        self.fail_next_with(code, None, details);
    }

    /// The next send is refused with this error and subcode.
    pub fn fail_next_with(&self, code: i64, subcode: Option<i64>, details: &str) {
        self.lock().failures.push_back(Failure {
            code,
            subcode,
            details: details.to_owned(),
        });
    }

    /// The Graph calls made, in order, as `METHOD path` (without the query).
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// The subscriptions made, in order: the business account's id, or
    /// `"<page>:<fields>"` for the page.
    pub fn subscribed(&self) -> Vec<String> {
        self.lock().subscribed.clone()
    }

    /// Every WhatsApp message sent, in order.
    pub fn sent_whatsapp(&self) -> Vec<SentWhatsapp> {
        self.lock().sent_whatsapp.clone()
    }

    /// Every Messenger and Instagram message sent, in order.
    pub fn sent_messenger(&self) -> Vec<SentMessenger> {
        self.lock().sent_messenger.clone()
    }

    /// What was marked read, in order: WhatsApp message ids, and `seen:<recipient>` for
    /// Messenger's `mark_seen`.
    pub fn marked_read(&self) -> Vec<String> {
        self.lock().marked_read.clone()
    }

    /// Every upload: the file's name, its type (the MIME type for WhatsApp, the attachment
    /// type for Messenger) and size.
    pub fn uploads(&self) -> Vec<(String, String, usize)> {
        self.lock().uploads.clone()
    }

    /// How many files were downloaded (WhatsApp media and CDN files alike).
    pub fn served(&self) -> usize {
        self.lock().served
    }

    /// Posts a webhook to `url` as Meta does, signed with the app secret; our server's status
    /// and answer (status 0 when it could not be reached).
    pub async fn push(&self, url: &str, body: &Value) -> (u16, String) {
        deliver(url, body, Some(APP_SECRET)).await
    }

    /// Posts a webhook signed with another secret, as a forger would.
    pub async fn push_signed_with(&self, url: &str, body: &Value, secret: &str) -> (u16, String) {
        deliver(url, body, Some(secret)).await
    }

    /// Posts a webhook without the signature header.
    pub async fn push_unsigned(&self, url: &str, body: &Value) -> (u16, String) {
        deliver(url, body, None).await
    }

    /// Meta's verification of a webhook address; the same as the module's [`verify`].
    pub async fn verify(url: &str, token: &str, challenge: &str) -> (u16, String) {
        verify(url, token, challenge).await
    }
}

fn whatsapp_send(s: &mut Inner, phone_number_id: &str, body: &Value) -> Response {
    if body["status"] == "read" {
        s.marked_read
            .push(body["message_id"].as_str().unwrap_or_default().to_owned());
        return ok(json!({"success": true}));
    }
    if body["messaging_product"] != "whatsapp" {
        return missing("messaging_product");
    }
    let Some(to) = text(&body["to"]) else {
        return missing("to");
    };
    if let Some(failure) = s.failures.pop_front() {
        return whatsapp_failure(&failure);
    }
    let kind = body["type"].as_str().unwrap_or("text").to_owned();
    let content = &body[kind.as_str()];
    let text_or_caption = match kind.as_str() {
        "text" => &content["body"],
        "interactive" => &content["body"]["text"],
        _ => &content["caption"],
    };
    // Reply buttons as the Cloud API takes them: one to three, titles of at most 20
    // characters, under a body of at most 1,024.
    let buttons: Vec<String> = content["action"]["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["reply"]["title"].as_str().map(str::to_owned))
        .collect();
    if kind == "interactive"
        && (content["type"] != "button"
            || !(1..=3).contains(&buttons.len())
            || buttons.iter().any(|b| b.chars().count() > 20)
            || text_or_caption
                .as_str()
                .is_none_or(|t| t.chars().count() > 1024))
    {
        return missing("interactive");
    }
    let template = (kind == "template").then(|| {
        let parameters = content["components"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| {
                c["type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case("body"))
            })
            .flat_map(|c| c["parameters"].as_array().into_iter().flatten())
            .filter_map(|p| p["text"].as_str().map(str::to_owned))
            .collect();
        (
            content["name"].as_str().unwrap_or_default().to_owned(),
            content["language"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            parameters,
        )
    });
    s.next_wamid += 1;
    let id = format!("wamid.OUT{}", s.next_wamid);
    s.sent_whatsapp.push(SentWhatsapp {
        phone_number_id: phone_number_id.to_owned(),
        to: to.clone(),
        text: text_or_caption.as_str().map(str::to_owned),
        media_id: content["id"].as_str().map(str::to_owned),
        filename: content["filename"].as_str().map(str::to_owned),
        context: body["context"]["message_id"].as_str().map(str::to_owned),
        template,
        buttons,
        kind,
        id: id.clone(),
    });
    ok(json!({"messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": id}]}))
}

fn whatsapp_upload(s: &mut Inner, body: &Payload) -> Response {
    if body.fields.get("messaging_product").map(String::as_str) != Some("whatsapp") {
        return missing("messaging_product");
    }
    let Some(file) = body.files.iter().find(|p| p.field == "file") else {
        return missing("file");
    };
    let mime = body
        .fields
        .get("type")
        .cloned()
        .or_else(|| file.content_type.clone())
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    s.next_media += 1;
    let id = format!("MEDIA{}", s.next_media);
    s.uploads
        .push((file.file_name.clone(), mime.clone(), file.bytes.len()));
    s.media.insert(id.clone(), (file.bytes.clone(), mime));
    ok(json!({ "id": id }))
}

fn messenger_send(s: &mut Inner, body: &Value) -> Response {
    let Some(recipient) = text(&body["recipient"]["id"]) else {
        return missing("recipient");
    };
    if let Some(action) = body["sender_action"].as_str() {
        if action == "mark_seen" {
            s.marked_read.push(format!("seen:{recipient}"));
        }
        return ok(json!({ "recipient_id": recipient }));
    }
    if let Some(failure) = s.failures.pop_front() {
        return messenger_failure(&failure);
    }
    let message = &body["message"];
    // Quick replies as the Send API takes them: at most 13, titles of at most 20 characters.
    let quick_replies: Vec<String> = message["quick_replies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q["title"].as_str().map(str::to_owned))
        .collect();
    if quick_replies.len() > 13 || quick_replies.iter().any(|q| q.chars().count() > 20) {
        return missing("quick_replies");
    }
    let attachment = message["attachment"].as_object().map(|a| {
        let payload = &a.get("payload").cloned().unwrap_or_default();
        (
            a.get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            text(&payload["attachment_id"])
                .or_else(|| text(&payload["url"]))
                .unwrap_or_default(),
        )
    });
    s.next_mid += 1;
    let id = format!("m_OUT{}", s.next_mid);
    s.sent_messenger.push(SentMessenger {
        recipient: recipient.clone(),
        messaging_type: body["messaging_type"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        tag: body["tag"].as_str().map(str::to_owned),
        text: message["text"].as_str().map(str::to_owned),
        attachment,
        metadata: message["metadata"].as_str().map(str::to_owned),
        reply_to: body["reply_to"]["mid"].as_str().map(str::to_owned),
        quick_replies,
        id: id.clone(),
    });
    ok(json!({"recipient_id": recipient, "message_id": id}))
}

fn messenger_upload(s: &mut Inner, body: &Payload) -> Response {
    let message: Value = body
        .fields
        .get("message")
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default();
    let Some(kind) = message["attachment"]["type"].as_str() else {
        return missing("message");
    };
    let Some(file) = body.files.iter().find(|p| p.field == "filedata") else {
        return missing("filedata");
    };
    s.next_attachment += 1;
    s.uploads
        .push((file.file_name.clone(), kind.to_owned(), file.bytes.len()));
    ok(json!({"attachment_id": format!("ATT{}", s.next_attachment)}))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client")
}

/// Posts the body's exact bytes, signed (when a secret is given) over those same bytes.
async fn deliver(url: &str, body: &Value, secret: Option<&str>) -> (u16, String) {
    let bytes = serde_json::to_vec(body).expect("JSON serializes");
    let mut request = client()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, "facebookexternalua");
    if let Some(secret) = secret {
        request = request.header("x-hub-signature-256", signature(secret, &bytes));
    }
    match request.body(bytes).send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    }
}

/// Meta's verification of a webhook address: `GET url?hub.mode=subscribe&hub.verify_token=…&
/// hub.challenge=…`; our server's status and answer (which must be the challenge).
pub async fn verify(url: &str, token: &str, challenge: &str) -> (u16, String) {
    let Ok(address) = reqwest::Url::parse_with_params(
        url,
        [
            ("hub.mode", "subscribe"),
            ("hub.verify_token", token),
            ("hub.challenge", challenge),
        ],
    ) else {
        return (0, String::new());
    };
    match client().get(address).send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    }
}

/// A WhatsApp webhook: `{"object": "whatsapp_business_account", "entry": …}`.
pub fn whatsapp_hook(entries: Vec<Value>) -> Value {
    json!({"object": "whatsapp_business_account", "entry": entries})
}

/// One entry of a WhatsApp webhook, for the business account: a `messages` change whose
/// value names the phone number (its display number as digits, as Meta writes it) and holds
/// `value_fields` (from [`wa_message`] or [`wa_status`]).
pub fn whatsapp_entry(phone_number_id: &str, value_fields: Value) -> Value {
    let display = phone(phone_number_id).map_or(DISPLAY_PHONE, |p| p.display);
    let digits: String = display.chars().filter(char::is_ascii_digit).collect();
    let mut value = Map::new();
    value.insert("messaging_product".into(), json!("whatsapp"));
    value.insert(
        "metadata".into(),
        json!({"display_phone_number": digits, "phone_number_id": phone_number_id}),
    );
    if let Value::Object(fields) = value_fields {
        value.extend(fields);
    }
    json!({"id": WABA_ID, "changes": [{"field": "messages", "value": value}]})
}

/// The value fields of a client's message: the sender's profile and the message of `kind`
/// with its `content` under the kind's key (`text`: `{"body"}`; `image`: `{"id",
/// "mime_type", "sha256", "caption"?}`; `reaction`: `{"message_id", "emoji"}`; `location`:
/// `{"latitude", "longitude", "name", "address"}`; `contacts`: an array of contacts).
pub fn wa_message(
    from: &str,
    name: &str,
    wamid: &str,
    timestamp: i64,
    kind: &str,
    content: Value,
) -> Value {
    let mut message = json!({"from": from, "id": wamid, "timestamp": timestamp.to_string(),
        "type": kind});
    message[kind] = content;
    json!({"contacts": [{"profile": {"name": name}, "wa_id": from}], "messages": [message]})
}

/// Makes the message (the value fields of [`wa_message`], or a bare message) a reply to
/// `quoted_wamid`, a message of the business's first number.
pub fn wa_reply_context(message: &mut Value, quoted_wamid: &str) {
    let digits: String = DISPLAY_PHONE.chars().filter(char::is_ascii_digit).collect();
    wa_reply_context_from(message, &digits, quoted_wamid);
}

/// Makes the message a reply to `quoted_wamid`, which `from` sent.
pub fn wa_reply_context_from(message: &mut Value, from: &str, quoted_wamid: &str) {
    let context = json!({"from": from, "id": quoted_wamid});
    if message["messages"].is_array() {
        message["messages"][0]["context"] = context;
    } else {
        message["context"] = context;
    }
}

/// The value fields of a status of our message: `sent`, `delivered` and `read`, or `failed`
/// with the error's code and text (as its title, message and details). Sent and delivered
/// carry the conversation and pricing, as Meta's do.
pub fn wa_status(
    wamid: &str,
    status: &str,
    recipient: &str,
    timestamp: i64,
    error: Option<(i64, &str)>,
) -> Value {
    let mut item = json!({"id": wamid, "status": status, "timestamp": timestamp.to_string(),
        "recipient_id": recipient});
    if status == "sent" || status == "delivered" {
        let mut conversation = json!({"id": format!("conv-{recipient}"),
            "origin": {"type": "service"}});
        if status == "sent" {
            conversation["expiration_timestamp"] = json!((timestamp + 86_400).to_string());
        }
        item["conversation"] = conversation;
        item["pricing"] = json!({"billable": true, "pricing_model": "CBP", "category": "service"});
    }
    if let Some((code, message)) = error {
        item["errors"] = json!([{"code": code, "title": message, "message": message,
            "error_data": {"details": message},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]);
    }
    json!({ "statuses": [item] })
}

/// A Messenger or Instagram webhook: `object` is `page` or `instagram`.
pub fn page_hook(object: &str, entries: Vec<Value>) -> Value {
    json!({"object": object, "entry": entries})
}

/// One entry of a page's (or the Instagram account's) webhook: its id and events.
pub fn page_entry(id: &str, time_ms: i64, messaging: Vec<Value>) -> Value {
    json!({"id": id, "time": time_ms, "messaging": messaging})
}

/// A client's message: a text, attachments (`{"type", "payload": {"url"}}`), or both.
pub fn fb_message(
    sender: &str,
    recipient: &str,
    time_ms: i64,
    mid: &str,
    text: Option<&str>,
    attachments: Vec<Value>,
) -> Value {
    let mut message = json!({ "mid": mid });
    if let Some(text) = text {
        message["text"] = json!(text);
    }
    if !attachments.is_empty() {
        message["attachments"] = Value::Array(attachments);
    }
    json!({"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": time_ms,
        "message": message})
}

/// The echo of what the page sent (through us, or from Meta's own inbox): from the page to
/// the user, with the app's id and the metadata it was sent with. An empty text is left out.
pub fn fb_echo(
    page: &str,
    user: &str,
    time_ms: i64,
    mid: &str,
    text: &str,
    metadata: Option<&str>,
) -> Value {
    let mut message = json!({"is_echo": true, "app_id": APP_ID, "mid": mid});
    if !text.is_empty() {
        message["text"] = json!(text);
    }
    if let Some(metadata) = metadata {
        message["metadata"] = json!(metadata);
    }
    json!({"sender": {"id": page}, "recipient": {"id": user}, "timestamp": time_ms,
        "message": message})
}

/// The user's Messenger got the page's messages up to the watermark.
pub fn fb_delivery(user: &str, page: &str, watermark_ms: i64, mids: Vec<&str>) -> Value {
    json!({"sender": {"id": user}, "recipient": {"id": page}, "timestamp": watermark_ms,
        "delivery": {"mids": mids, "watermark": watermark_ms}})
}

/// The user read the page's messages up to the watermark.
pub fn fb_read(user: &str, page: &str, watermark_ms: i64) -> Value {
    json!({"sender": {"id": user}, "recipient": {"id": page}, "timestamp": watermark_ms,
        "read": {"watermark": watermark_ms}})
}

/// The user read the Instagram account's message `mid` (Instagram names the message, not a
/// watermark).
pub fn ig_read(user: &str, ig: &str, mid: &str) -> Value {
    json!({"sender": {"id": user}, "recipient": {"id": ig}, "timestamp": 1_700_000_000_000_i64,
        "read": {"mid": mid}})
}

/// The user reacted to the message `mid`; the reaction's name follows the emoji as
/// Messenger names them (`love` for a heart, `other` for what it has no name for).
pub fn fb_reaction(user: &str, page: &str, time_ms: i64, mid: &str, emoji: &str) -> Value {
    let reaction = match emoji.trim_end_matches('\u{fe0f}') {
        "\u{2764}" => "love",
        "\u{1f44d}" => "like",
        "\u{1f606}" => "smile",
        "\u{1f62e}" => "wow",
        "\u{1f622}" => "sad",
        "\u{1f620}" => "angry",
        _ => "other",
    };
    json!({"sender": {"id": user}, "recipient": {"id": page}, "timestamp": time_ms,
        "reaction": {"mid": mid, "action": "react", "reaction": reaction, "emoji": emoji}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_hmac_sha256_does() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_whatsapp_entry_names_the_number_and_keeps_the_message() {
        let hook = whatsapp_hook(vec![whatsapp_entry(
            PHONE_NUMBER_ID_2,
            wa_message(
                "79161234567",
                "Анна",
                "wamid.IN1",
                1_700_000_000,
                "text",
                json!({"body": "Привет"}),
            ),
        )]);
        let value = &hook["entry"][0]["changes"][0]["value"];
        assert_eq!(value["metadata"]["display_phone_number"], "15550100002");
        assert_eq!(value["metadata"]["phone_number_id"], PHONE_NUMBER_ID_2);
        assert_eq!(value["messages"][0]["text"]["body"], "Привет");
        assert_eq!(value["messages"][0]["timestamp"], "1700000000");
    }
}

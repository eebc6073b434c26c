//! VK communities (Callback API and API 5.199): a community's token checked with
//! `groups.getById`, a callback server registered with a secret (VK checks the address first
//! with a `confirmation` call, answered with the community's code), updates parsed into the
//! core's inbound messages, and replies sent with `messages.send`, their files through VK's
//! upload servers. A message's id on our side is VK's message id in the community's mailbox.

use crate::ConnectorError;
use crate::http::read_capped;
use crate::pace::Pace;
use beseda_core::attachment::AttachmentKind;
use beseda_core::connector::{
    HookState, Identity, Incoming, OutgoingFile, Profile, RemoteFile, SendResult,
};
use beseda_core::dialog::{ContactDetails, InboundMessage};
use beseda_core::ids::{ChannelId, MessageId};
use beseda_core::secret::same_secret;
use beseda_core::time::Timestamp;
use beseda_core::transport::{DeliveryJob, Failure};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// VK's own address; tests give another.
pub const DEFAULT_API: &str = "https://api.vk.com";
/// The API version every call and callback speaks.
pub const VERSION: &str = "5.199";
/// Peers from this id up are group chats, not people.
const FIRST_CHAT_PEER: i64 = 2_000_000_000;

/// VK lets a community's token make 20 calls a second; a reply with files makes several, so
/// replies are spaced at 10 a second.
pub fn pace() -> Pace {
    Pace::new(10, None)
}

/// One community on one VK API server.
pub struct VkGroup {
    api: String,
    token: String,
    http: reqwest::Client,
}

/// A refusal as VK words it: `{"error": {"error_code", "error_msg"}}`.
#[derive(Debug, Deserialize)]
pub struct VkError {
    pub error_code: i64,
    pub error_msg: String,
}

#[derive(Deserialize)]
struct Answer<T> {
    response: Option<T>,
    error: Option<VkError>,
}

#[derive(Deserialize)]
struct Group {
    id: i64,
    name: String,
}

/// `groups.getById`: a list before 5.194, `{"groups": […]}` since.
#[derive(Deserialize)]
#[serde(untagged)]
enum Groups {
    Listed { groups: Vec<Group> },
    Bare(Vec<Group>),
}

#[derive(Deserialize)]
struct Size {
    url: String,
    #[serde(default)]
    width: u64,
    #[serde(default)]
    height: u64,
}

#[derive(Deserialize)]
struct Photo {
    #[serde(default)]
    sizes: Vec<Size>,
}

#[derive(Deserialize)]
struct Doc {
    title: Option<String>,
    size: Option<u64>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct AudioMessage {
    link_ogg: Option<String>,
    link_mp3: Option<String>,
}

#[derive(Deserialize)]
struct Sticker {
    #[serde(default)]
    images: Vec<Size>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(rename = "type")]
    kind: String,
    photo: Option<Photo>,
    doc: Option<Doc>,
    audio_message: Option<AudioMessage>,
    sticker: Option<Sticker>,
}

#[derive(Deserialize)]
struct Coordinates {
    latitude: f64,
    longitude: f64,
}

#[derive(Deserialize)]
struct Geo {
    coordinates: Coordinates,
}

#[derive(Deserialize)]
struct Replied {
    id: i64,
}

#[derive(Deserialize)]
struct Message {
    id: i64,
    date: i64,
    peer_id: i64,
    #[serde(default)]
    text: String,
    #[serde(default)]
    out: i64,
    #[serde(default)]
    random_id: i64,
    #[serde(default)]
    attachments: Vec<Attachment>,
    reply_message: Option<Replied>,
    geo: Option<Geo>,
}

#[derive(Deserialize)]
struct NewMessage {
    message: Message,
}

#[derive(Deserialize)]
struct ReadUpTo {
    peer_id: i64,
    read_message_id: i64,
}

/// Every callback: its type, the community, the secret and the object.
#[derive(Deserialize)]
struct Callback {
    #[serde(rename = "type")]
    kind: String,
    group_id: i64,
    secret: Option<String>,
    #[serde(default)]
    object: Value,
}

/// Whether a callback is the community's and carries our secret; VK's confirmation call,
/// made before any secret is known to it, needs only the community.
pub fn verify(group_id: Option<&str>, secret: &str, body: &[u8]) -> bool {
    let Ok(c) = serde_json::from_slice::<Callback>(body) else {
        return false;
    };
    if group_id != Some(c.group_id.to_string().as_str()) {
        return false;
    }
    c.kind == "confirmation" || c.secret.is_some_and(|s| same_secret(&s, secret))
}

/// The files of a message: a photo's largest size, documents, voice messages and stickers
/// (as images); VK gives each by its address.
fn files_of(m: &Message) -> Vec<RemoteFile> {
    let file = |url: &str, name: &str, size: Option<u64>| RemoteFile {
        id: url.to_owned(),
        file_name: Some(name.to_owned()),
        size,
    };
    let largest = |sizes: &[Size]| {
        sizes
            .iter()
            .max_by_key(|s| s.width * s.height)
            .map(|s| s.url.clone())
    };
    let mut out = Vec::new();
    for a in &m.attachments {
        match (a.kind.as_str(), a) {
            ("photo", Attachment { photo: Some(p), .. }) => {
                if let Some(url) = largest(&p.sizes) {
                    out.push(file(&url, "photo.jpg", None));
                }
            }
            ("doc", Attachment { doc: Some(d), .. }) => {
                if let Some(url) = &d.url {
                    out.push(file(url, d.title.as_deref().unwrap_or("document"), d.size));
                }
            }
            (
                "audio_message",
                Attachment {
                    audio_message: Some(v),
                    ..
                },
            ) => match (&v.link_ogg, &v.link_mp3) {
                (Some(url), _) => out.push(file(url, "voice.ogg", None)),
                (None, Some(url)) => out.push(file(url, "voice.mp3", None)),
                (None, None) => {}
            },
            (
                "sticker",
                Attachment {
                    sticker: Some(s), ..
                },
            ) => {
                if let Some(url) = largest(&s.images) {
                    out.push(file(&url, "sticker.png", None));
                }
            }
            _ => {}
        }
    }
    out
}

/// A message's text, with a shared location as words and a map link, and a line for each
/// attachment that has no file to keep (a video, a post, a link).
fn text_of(m: &Message) -> String {
    let mut lines = Vec::new();
    if !m.text.is_empty() {
        lines.push(m.text.clone());
    }
    if let Some(g) = &m.geo {
        lines.push(crate::location_text(
            g.coordinates.latitude,
            g.coordinates.longitude,
        ));
    }
    for a in &m.attachments {
        if !matches!(
            a.kind.as_str(),
            "photo" | "doc" | "audio_message" | "sticker"
        ) {
            lines.push(format!("[{}]", a.kind));
        }
    }
    lines.join("\n")
}

/// The core's message for one of VK's: the client is the peer.
fn inbound(channel: ChannelId, m: &Message) -> InboundMessage {
    InboundMessage {
        channel_id: channel,
        contact_external_id: m.peer_id.to_string(),
        // VK's updates carry no names: the client's profile is asked for when new.
        contact_name: String::new(),
        external_id: m.id.to_string(),
        body: text_of(m),
        sent_at: Timestamp(m.date.saturating_mul(1000)),
        attachments: Vec::new(),
        quote_external_id: m
            .reply_message
            .as_ref()
            .filter(|r| r.id > 0)
            .map(|r| r.id.to_string()),
        details: ContactDetails {
            profile_url: Some(format!("https://vk.com/id{}", m.peer_id)),
            ..ContactDetails::default()
        },
    }
}

fn object<T: DeserializeOwned>(v: Value) -> Result<T, ConnectorError> {
    serde_json::from_value(v).map_err(|e| ConnectorError::Malformed(e.to_string()))
}

/// Parses one callback of a community's channel. Only conversations with people reach the
/// inbox; a message the community wrote (`message_reply`) is an echo of the company's.
pub fn parse(channel: ChannelId, body: &[u8]) -> Result<Incoming, ConnectorError> {
    let c: Callback =
        serde_json::from_slice(body).map_err(|e| ConnectorError::Malformed(e.to_string()))?;
    let person = |peer: i64| peer > 0 && peer < FIRST_CHAT_PEER;
    Ok(match c.kind.as_str() {
        "confirmation" => Incoming::Confirm,
        "message_new" => {
            let m = object::<NewMessage>(c.object)?.message;
            if !person(m.peer_id) || m.out != 0 {
                return Ok(Incoming::Ignored("not a person's message".into()));
            }
            Incoming::Message {
                files: files_of(&m),
                message: Box::new(inbound(channel, &m)),
            }
        }
        "message_reply" => {
            let m: Message = object(c.object)?;
            if !person(m.peer_id) {
                return Ok(Incoming::Ignored("a chat's message".into()));
            }
            Incoming::Echo {
                ours: Some(m.random_id).filter(|r| *r != 0),
                message: Box::new(inbound(channel, &m)),
            }
        }
        "message_edit" => {
            let m: Message = object(c.object)?;
            let text = text_of(&m);
            if !person(m.peer_id) || m.out != 0 || text.is_empty() {
                return Ok(Incoming::Ignored("not a client's edit".into()));
            }
            Incoming::Edited {
                external_id: m.id.to_string(),
                text,
            }
        }
        "message_read" => {
            let r: ReadUpTo = object(c.object)?;
            if !person(r.peer_id) {
                return Ok(Incoming::Ignored("a chat's read receipt".into()));
            }
            Incoming::Read {
                external_id: r.read_message_id.to_string(),
            }
        }
        other => Incoming::Ignored(format!("a callback of type {other}")),
    })
}

/// The `random_id` of our message: VK keeps it with the message, refuses a second message with
/// the same one (so a retried delivery never doubles it), and sends it back with the
/// community's copy, which tells our messages from those written on VK itself.
pub fn random_id(message: MessageId) -> i64 {
    // VK takes a 32-bit number; ids beyond it wrap (the copy is then known by VK's id alone).
    match message.0 % i64::from(i32::MAX) {
        0 => i64::from(i32::MAX),
        id => id,
    }
}

impl VkGroup {
    pub fn with_client(api: &str, token: &str, http: reqwest::Client) -> VkGroup {
        VkGroup {
            api: api.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http,
        }
    }

    /// The community's key in the sending pace: a digest of its token, which is not kept
    /// there itself.
    pub fn key(&self) -> String {
        crate::pace::token_key(&self.token)
    }

    /// Calls an API method: a form with the token and the version.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &[(&str, String)],
    ) -> Result<Result<T, VkError>, ConnectorError> {
        let url = format!("{}/method/{method}", self.api);
        let mut form: Vec<(&str, String)> = params.to_vec();
        form.push(("access_token", self.token.clone()));
        form.push(("v", VERSION.to_owned()));
        let resp = self
            .http
            .post(url)
            .form(&form)
            .send()
            .await
            .map_err(|e| ConnectorError::Unreachable(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let bytes = read_capped(resp).await?;
        let answer: Answer<T> = serde_json::from_slice(&bytes).map_err(|_| {
            ConnectorError::Unreachable(format!("the VK API answered {status} without JSON"))
        })?;
        match (answer.response, answer.error) {
            (_, Some(e)) => Ok(Err(e)),
            (Some(r), None) => Ok(Ok(r)),
            (None, None) => Err(ConnectorError::Malformed(format!(
                "{method} answered neither a response nor an error"
            ))),
        }
    }

    /// Like [`VkGroup::call`], a refusal being the platform's error.
    async fn must<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &[(&str, String)],
    ) -> Result<T, ConnectorError> {
        self.call(method, params)
            .await?
            .map_err(|e| ConnectorError::Platform {
                code: e.error_code,
                description: e.error_msg,
            })
    }

    /// The community behind the token; a refused token is a credentials error.
    pub async fn check(&self) -> Result<Identity, ConnectorError> {
        match self.call::<Groups>("groups.getById", &[]).await? {
            Ok(Groups::Listed { groups } | Groups::Bare(groups)) => {
                let g = groups.into_iter().next().ok_or_else(|| {
                    ConnectorError::Credentials("the token is not a community's".into())
                })?;
                Ok(Identity {
                    external_id: g.id.to_string(),
                    name: g.name,
                })
            }
            Err(e) => Err(ConnectorError::Credentials(e.error_msg)),
        }
    }

    /// The code VK's confirmation call is answered with.
    pub async fn confirmation_code(&self, group: &str) -> Result<String, ConnectorError> {
        #[derive(Deserialize)]
        struct Code {
            code: String,
        }
        let c: Code = self
            .must(
                "groups.getCallbackConfirmationCode",
                &[("group_id", group.to_owned())],
            )
            .await?;
        Ok(c.code)
    }

    /// Registers our callback server for the community's message events, with the secret VK
    /// sends back in each; its id, to remove it.
    pub async fn add_callback_server(
        &self,
        group: &str,
        url: &str,
        secret: &str,
    ) -> Result<String, ConnectorError> {
        #[derive(Deserialize)]
        struct Added {
            server_id: i64,
        }
        let added: Added = self
            .must(
                "groups.addCallbackServer",
                &[
                    ("group_id", group.to_owned()),
                    ("url", url.to_owned()),
                    ("title", "Beseda".to_owned()),
                    ("secret_key", secret.to_owned()),
                ],
            )
            .await?;
        let server = added.server_id.to_string();
        let mut settings = vec![
            ("group_id", group.to_owned()),
            ("server_id", server.clone()),
            ("api_version", VERSION.to_owned()),
        ];
        for event in [
            "message_new",
            "message_reply",
            "message_edit",
            "message_read",
        ] {
            settings.push((event, "1".to_owned()));
        }
        self.must::<Value>("groups.setCallbackSettings", &settings)
            .await?;
        Ok(server)
    }

    pub async fn delete_callback_server(
        &self,
        group: &str,
        server: &str,
    ) -> Result<(), ConnectorError> {
        self.must::<Value>(
            "groups.deleteCallbackServer",
            &[
                ("group_id", group.to_owned()),
                ("server_id", server.to_owned()),
            ],
        )
        .await
        .map(drop)
    }

    /// VK's status of our callback server: `ok`, or why not.
    pub async fn callback_state(
        &self,
        group: &str,
        server: &str,
    ) -> Result<HookState, ConnectorError> {
        #[derive(Deserialize)]
        struct Server {
            status: String,
        }
        #[derive(Deserialize)]
        struct Servers {
            items: Vec<Server>,
        }
        let found: Servers = self
            .must(
                "groups.getCallbackServers",
                &[
                    ("group_id", group.to_owned()),
                    ("server_ids", server.to_owned()),
                ],
            )
            .await?;
        let error = match found.items.first().map(|s| s.status.as_str()) {
            Some("ok") => None,
            Some("failed") => Some("VK could not confirm this server's address".to_owned()),
            Some("wait" | "unconfigured") => {
                Some("VK has not confirmed the address yet".to_owned())
            }
            Some(other) => Some(format!("VK shows the callback server as {other}")),
            None => Some("VK no longer has the callback server".to_owned()),
        };
        Ok(HookState {
            ok: error.is_none(),
            error,
            error_at: None,
        })
    }

    /// A client's name, photo and page (`users.get`).
    pub async fn profile(&self, user: &str) -> Result<Option<Profile>, ConnectorError> {
        #[derive(Deserialize)]
        struct User {
            id: i64,
            first_name: String,
            last_name: Option<String>,
            screen_name: Option<String>,
            photo_200: Option<String>,
        }
        let users: Vec<User> = self
            .must(
                "users.get",
                &[
                    ("user_ids", user.to_owned()),
                    ("fields", "photo_200,screen_name".to_owned()),
                ],
            )
            .await?;
        Ok(users.into_iter().next().map(|u| Profile {
            name: Some(match u.last_name.filter(|l| !l.is_empty()) {
                Some(last) => format!("{} {last}", u.first_name),
                None => u.first_name,
            }),
            avatar_url: u.photo_200,
            photo: None,
            profile_url: Some(match &u.screen_name {
                Some(s) => format!("https://vk.com/{s}"),
                None => format!("https://vk.com/id{}", u.id),
            }),
            nickname: u.screen_name,
        }))
    }

    /// Sends a reply: its files uploaded first, then one `messages.send` with them, the text
    /// and the quote.
    pub async fn send(&self, reply: &DeliveryJob, files: Vec<OutgoingFile>) -> SendResult {
        let peer = reply.contact_external_id.clone();
        let mut attachments = Vec::with_capacity(files.len());
        for f in files {
            match self.upload(&peer, f).await {
                Ok(Ok(a)) => attachments.push(a),
                Ok(Err(e)) => return refusal(e),
                Err(e) => return SendResult::RetryAfter(None, e.to_string()),
            }
        }
        let mut params = vec![
            ("peer_id", peer),
            ("random_id", random_id(reply.message_id).to_string()),
            ("message", reply.text.clone()),
        ];
        if !attachments.is_empty() {
            params.push(("attachment", attachments.join(",")));
        }
        if !reply.buttons.is_empty() {
            // Quick replies: a one-time keyboard, a button a row; a tap sends its label.
            let rows: Vec<Value> = reply
                .buttons
                .iter()
                .map(|b| serde_json::json!([{"action": {"type": "text", "label": b}, "color": "secondary"}]))
                .collect();
            let keyboard = serde_json::json!({"one_time": true, "buttons": rows});
            params.push(("keyboard", keyboard.to_string()));
        }
        if let Some(q) = reply
            .quote_external_id
            .as_ref()
            .filter(|q| q.parse::<i64>().is_ok())
        {
            params.push(("reply_to", q.clone()));
        }
        match self.call::<i64>("messages.send", &params).await {
            Ok(Ok(id)) => SendResult::Sent {
                external_id: id.to_string(),
            },
            Ok(Err(e)) => refusal(e),
            Err(e) => SendResult::RetryAfter(None, e.to_string()),
        }
    }

    /// Edits (`Some(text)`) or deletes for everyone (`None`) one of the community's messages
    /// to `peer` (VK allows either for a day).
    pub async fn change(&self, peer: &str, external_id: &str, text: Option<&str>) -> SendResult {
        let answer = match text {
            Some(t) => {
                let params = [
                    ("peer_id", peer.to_owned()),
                    ("message_id", external_id.to_owned()),
                    ("message", t.to_owned()),
                    ("keep_forward_messages", "1".to_owned()),
                ];
                self.call::<Value>("messages.edit", &params).await
            }
            None => {
                let params = [
                    ("peer_id", peer.to_owned()),
                    ("message_ids", external_id.to_owned()),
                    ("delete_for_all", "1".to_owned()),
                ];
                self.call::<Value>("messages.delete", &params).await
            }
        };
        match answer {
            Ok(Ok(_)) => SendResult::Sent {
                external_id: external_id.to_owned(),
            },
            Ok(Err(e)) => refusal(e),
            Err(e) => SendResult::RetryAfter(None, e.to_string()),
        }
    }

    /// One file through VK's upload server for messages: an image as a photo, anything else
    /// as a document; the attachment's name for `messages.send`.
    async fn upload(
        &self,
        peer: &str,
        f: OutgoingFile,
    ) -> Result<Result<String, VkError>, ConnectorError> {
        #[derive(Deserialize)]
        struct Server {
            upload_url: String,
        }
        #[derive(Deserialize)]
        struct Saved {
            id: i64,
            owner_id: i64,
            access_key: Option<String>,
        }
        let image = f.view.kind == AttachmentKind::Image;
        let (get_server, field) = if image {
            ("photos.getMessagesUploadServer", "photo")
        } else {
            ("docs.getMessagesUploadServer", "file")
        };
        let mut params = vec![("peer_id", peer.to_owned())];
        if !image {
            params.push(("type", "doc".to_owned()));
        }
        let server = match self.call::<Server>(get_server, &params).await? {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let title = f.view.file_name.clone();
        let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(f.body))
            .file_name(title.clone());
        let form = reqwest::multipart::Form::new().part(field, part);
        let resp = self
            .http
            .post(&server.upload_url)
            .multipart(form)
            .send()
            .await
            .map_err(|e| ConnectorError::Unreachable(e.without_url().to_string()))?;
        let uploaded: Value = serde_json::from_slice(&read_capped(resp).await?).map_err(|_| {
            ConnectorError::Unreachable("VK's upload server answered without JSON".into())
        })?;
        let text = |key: &str| {
            uploaded[key]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_default()
        };
        let name = |kind: &str, s: Saved| match s.access_key {
            Some(key) => format!("{kind}{}_{}_{key}", s.owner_id, s.id),
            None => format!("{kind}{}_{}", s.owner_id, s.id),
        };
        if image {
            let params = [
                ("server", uploaded["server"].to_string()),
                ("photo", text("photo")),
                ("hash", text("hash")),
            ];
            Ok(self
                .call::<Vec<Saved>>("photos.saveMessagesPhoto", &params)
                .await?
                .and_then(|saved| {
                    saved
                        .into_iter()
                        .next()
                        .map(|s| name("photo", s))
                        .ok_or(VkError {
                            error_code: 0,
                            error_msg: "VK saved no photo".into(),
                        })
                }))
        } else {
            #[derive(Deserialize)]
            struct SavedDoc {
                doc: Saved,
            }
            let params = [("file", text("file")), ("title", title)];
            Ok(self
                .call::<SavedDoc>("docs.save", &params)
                .await?
                .map(|d| name("doc", d.doc)))
        }
    }
}

/// What a refused call means: wait and try again, or a visible failure with the reason.
fn refusal(e: VkError) -> SendResult {
    match e.error_code {
        // Too many requests a second: a second's wait.
        6 => SendResult::RetryAfter(Some(Duration::from_secs(1)), e.error_msg),
        // Flood control, or VK's own trouble: the worker's backoff.
        9 | 10 => SendResult::RetryAfter(None, e.error_msg),
        901 | 902 => SendResult::Failed(Failure {
            code: "blocked_by_client".into(),
            message: "the client does not accept the community's messages".into(),
        }),
        5 => SendResult::Failed(Failure {
            code: "credentials_refused".into(),
            message: "VK no longer accepts the community's token".into(),
        }),
        _ => SendResult::Failed(Failure {
            code: "platform_refused".into(),
            message: format!("VK refused the message: {}", e.error_msg),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn callback(kind: &str, object: Value) -> Vec<u8> {
        json!({"type": kind, "event_id": "e1", "v": VERSION, "object": object,
            "group_id": 77, "secret": "s3cret"})
        .to_string()
        .into_bytes()
    }

    fn message(id: i64, text: &str) -> Value {
        json!({"id": id, "date": 1_700_000_000, "from_id": 42, "peer_id": 42, "out": 0,
            "text": text, "conversation_message_id": id, "random_id": 0, "attachments": []})
    }

    #[test]
    fn a_client_message_comes_in_with_its_files_quote_and_place() {
        let mut m = message(17, "Вот фото");
        m["reply_message"] = json!({"id": 15, "text": "Пришлите фото"});
        m["geo"] = json!({"type": "point", "coordinates": {"latitude": 55.75, "longitude": 37.62}});
        m["attachments"] = json!([
            {"type": "photo", "photo": {"id": 1, "owner_id": 42, "sizes": [
                {"type": "s", "url": "https://cdn/s.jpg", "width": 75, "height": 56},
                {"type": "x", "url": "https://cdn/x.jpg", "width": 604, "height": 453}]}},
            {"type": "doc", "doc": {"id": 2, "owner_id": 42, "title": "price.pdf", "size": 1234, "ext": "pdf", "url": "https://cdn/doc"}},
            {"type": "audio_message", "audio_message": {"duration": 3, "link_ogg": "https://cdn/v.ogg", "link_mp3": "https://cdn/v.mp3"}},
            {"type": "video", "video": {"id": 3, "owner_id": 42}}
        ]);
        let body = callback("message_new", json!({"message": m, "client_info": {}}));
        let Incoming::Message { message, files } = parse(ChannelId(1), &body).unwrap() else {
            panic!("a message")
        };
        assert_eq!(message.external_id, "17");
        assert_eq!(message.contact_external_id, "42");
        assert_eq!(message.quote_external_id.as_deref(), Some("15"));
        assert!(
            message
                .body
                .starts_with("Вот фото\n📍 55.750000, 37.620000"),
            "{}",
            message.body
        );
        assert!(message.body.ends_with("[video]"));
        let urls: Vec<_> = files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            urls,
            ["https://cdn/x.jpg", "https://cdn/doc", "https://cdn/v.ogg"]
        );
        assert_eq!(files[1].size, Some(1234));
    }

    #[test]
    fn echoes_edits_reads_and_confirmations_are_told_apart() {
        let mut ours = message(18, "Ответ");
        ours["out"] = json!(1);
        ours["random_id"] = json!(555);
        assert!(matches!(
            parse(ChannelId(1), &callback("message_reply", ours)).unwrap(),
            Incoming::Echo { ours: Some(555), message } if message.external_id == "18"
        ));
        assert!(matches!(
            parse(ChannelId(1), &callback("message_edit", message(17, "Исправлено"))).unwrap(),
            Incoming::Edited { external_id, text } if external_id == "17" && text == "Исправлено"
        ));
        let read = json!({"from_id": 42, "peer_id": 42, "read_message_id": 18});
        assert!(matches!(
            parse(ChannelId(1), &callback("message_read", read)).unwrap(),
            Incoming::Read { external_id } if external_id == "18"
        ));
        let mut chat = message(19, "всем привет");
        chat["peer_id"] = json!(2_000_000_001);
        assert!(matches!(
            parse(
                ChannelId(1),
                &callback("message_new", json!({"message": chat}))
            )
            .unwrap(),
            Incoming::Ignored(_)
        ));
        let confirm = json!({"type": "confirmation", "group_id": 77}).to_string();
        assert!(matches!(
            parse(ChannelId(1), confirm.as_bytes()).unwrap(),
            Incoming::Confirm
        ));
        assert!(verify(Some("77"), "s3cret", confirm.as_bytes()));
        assert!(!verify(Some("78"), "s3cret", confirm.as_bytes()));
        let body = callback("message_new", json!({"message": message(1, "x")}));
        assert!(verify(Some("77"), "s3cret", &body));
        assert!(!verify(Some("77"), "other", &body));
        assert!(!verify(Some("77"), "s3cret", b"<html>"));
    }

    #[test]
    fn refusals_map_to_waits_and_visible_failures() {
        let e = |code| VkError {
            error_code: code,
            error_msg: "x".into(),
        };
        assert!(matches!(refusal(e(6)), SendResult::RetryAfter(Some(_), _)));
        assert!(matches!(refusal(e(9)), SendResult::RetryAfter(None, _)));
        assert!(matches!(refusal(e(901)), SendResult::Failed(f) if f.code == "blocked_by_client"));
        assert!(matches!(refusal(e(902)), SendResult::Failed(f) if f.code == "blocked_by_client"));
        assert!(matches!(refusal(e(100)), SendResult::Failed(f) if f.code == "platform_refused"));
        assert_eq!(random_id(MessageId(5)), 5);
        assert_ne!(random_id(MessageId(i64::from(i32::MAX))), 0);
    }
}

//! Telegram's Bot API: a bot's token checked with `getMe`, its webhook set with a secret that
//! Telegram sends back in `X-Telegram-Bot-Api-Secret-Token`, updates parsed into the core's
//! inbound messages, and replies sent with `sendMessage`. A message's id on our side is
//! `"<chat id>:<message id>"`: Telegram numbers messages per chat.

use crate::ConnectorError;
use crate::http::{client, read_capped};
use crate::pace::Pace;
use beseda_core::attachment::AttachmentKind;
use beseda_core::connector::OutgoingFile;
use beseda_core::connector::{HookState, Identity, Incoming, Polled, RemoteFile, SendResult};
use beseda_core::dialog::{ContactDetails, InboundMessage};
use beseda_core::files::ByteStream;
use beseda_core::ids::ChannelId;
use beseda_core::secret::same_secret;
use beseda_core::time::Timestamp;
use beseda_core::transport::{DeliveryJob, Failure};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;

/// Telegram's limits on a bot's sending: about 30 messages a second in all, and one a second
/// to one chat. Replies are spaced at 25 a second and 1.1 s per chat, so that the jitter of the
/// way there does not push a second's count over the limits.
pub fn pace() -> Pace {
    Pace::new(25, Some(Duration::from_millis(1100)))
}

/// Telegram's own address; tests and self-hosted Bot API servers give another.
pub const DEFAULT_API: &str = "https://api.telegram.org";

/// The header Telegram puts the webhook's secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// One bot on one Bot API server.
pub struct TelegramBot {
    api: String,
    token: String,
    http: reqwest::Client,
}

/// Every Bot API answer: `{"ok": true, "result": …}` or `{"ok": false, "error_code", …}`.
#[derive(Deserialize)]
struct Answer<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<i64>,
    description: Option<String>,
    parameters: Option<ResponseParameters>,
}

#[derive(Deserialize)]
struct ResponseParameters {
    retry_after: Option<u64>,
}

/// A refusal as the Bot API words it.
struct ApiRefusal {
    code: i64,
    description: String,
    retry_after: Option<u64>,
}

#[derive(Deserialize)]
struct User {
    id: i64,
    #[serde(default)]
    is_bot: bool,
    first_name: String,
    last_name: Option<String>,
    username: Option<String>,
    language_code: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct FileRef {
    file_id: String,
    file_name: Option<String>,
    file_size: Option<u64>,
}

#[derive(Deserialize)]
struct Contact {
    phone_number: String,
    user_id: Option<i64>,
}

#[derive(Deserialize)]
struct Location {
    latitude: f64,
    longitude: f64,
}

#[derive(Deserialize)]
struct ReplyTo {
    message_id: i64,
}

#[derive(Deserialize)]
struct Message {
    message_id: i64,
    from: Option<User>,
    chat: Chat,
    date: i64,
    text: Option<String>,
    caption: Option<String>,
    reply_to_message: Option<ReplyTo>,
    #[serde(default)]
    photo: Vec<FileRef>,
    document: Option<FileRef>,
    voice: Option<FileRef>,
    audio: Option<FileRef>,
    video: Option<FileRef>,
    sticker: Option<FileRef>,
    contact: Option<Contact>,
    location: Option<Location>,
}

#[derive(Deserialize)]
struct Update {
    #[serde(rename = "update_id")]
    _update_id: i64,
    message: Option<Message>,
    edited_message: Option<Message>,
}

/// Our id of a Telegram message.
pub fn message_key(chat: i64, message: i64) -> String {
    format!("{chat}:{message}")
}

/// The files of a message: the largest size of a photo, or its document, voice, audio, video
/// or sticker.
fn files_of(m: &Message) -> Vec<RemoteFile> {
    let named = |f: &FileRef, default: &str| RemoteFile {
        id: f.file_id.clone(),
        file_name: f.file_name.clone().or_else(|| Some(default.to_owned())),
        size: f.file_size,
    };
    let mut out = Vec::new();
    // Telegram lists a photo's sizes smallest first.
    if let Some(largest) = m.photo.last() {
        out.push(named(largest, "photo.jpg"));
    }
    let others = [
        (&m.document, "document"),
        (&m.voice, "voice.ogg"),
        (&m.audio, "audio.mp3"),
        (&m.video, "video.mp4"),
        (&m.sticker, "sticker.webp"),
    ];
    for (file, default) in others {
        if let Some(f) = file {
            out.push(named(f, default));
        }
    }
    out
}

/// A message's text: its text or caption, or a shared location as words and a map link.
fn text_of(m: &Message) -> String {
    if let Some(t) = m.text.as_ref().or(m.caption.as_ref()) {
        return t.clone();
    }
    match (&m.location, &m.contact) {
        (Some(l), _) => crate::location_text(l.latitude, l.longitude),
        (None, Some(c)) => format!("☎ {}", c.phone_number),
        (None, None) => String::new(),
    }
}

/// Parses one webhook body of a bot's channel. Only private chats with people reach the inbox.
pub fn parse(channel: ChannelId, body: &[u8]) -> Result<Incoming, ConnectorError> {
    let update: Update =
        serde_json::from_slice(body).map_err(|e| ConnectorError::Malformed(e.to_string()))?;
    if let Some(m) = update.edited_message {
        let text = text_of(&m);
        if m.chat.kind != "private" || text.is_empty() {
            return Ok(Incoming::Ignored("an edit without text".into()));
        }
        return Ok(Incoming::Edited {
            external_id: message_key(m.chat.id, m.message_id),
            text,
        });
    }
    let Some(m) = update.message else {
        return Ok(Incoming::Ignored("an update of another kind".into()));
    };
    let Some(from) = m.from.as_ref().filter(|u| !u.is_bot) else {
        return Ok(Incoming::Ignored("not from a person".into()));
    };
    if m.chat.kind != "private" {
        return Ok(Incoming::Ignored(format!("a {} chat", m.chat.kind)));
    }
    let name = match &from.last_name {
        Some(last) => format!("{} {last}", from.first_name),
        None => from.first_name.clone(),
    };
    // A contact the client shares of themselves gives their phone to the card.
    let phone = m
        .contact
        .as_ref()
        .filter(|c| c.user_id == Some(from.id))
        .map(|c| c.phone_number.clone());
    let message = InboundMessage {
        channel_id: channel,
        contact_external_id: m.chat.id.to_string(),
        contact_name: name,
        external_id: message_key(m.chat.id, m.message_id),
        body: text_of(&m),
        sent_at: Timestamp(m.date.saturating_mul(1000)),
        attachments: Vec::new(),
        quote_external_id: m
            .reply_to_message
            .as_ref()
            .map(|r| message_key(m.chat.id, r.message_id)),
        details: ContactDetails {
            nickname: from.username.clone(),
            phone,
            profile_url: from.username.as_ref().map(|u| format!("https://t.me/{u}")),
            language: from.language_code.clone(),
            ..ContactDetails::default()
        },
    };
    Ok(Incoming::Message {
        files: files_of(&m),
        message: Box::new(message),
    })
}

/// Whether a webhook call carries the secret we gave Telegram, compared in constant time.
pub fn verify(secret: &str, header: Option<&str>) -> bool {
    header.is_some_and(|h| same_secret(h, secret))
}

impl TelegramBot {
    /// The bot's id: the part of its token before the colon (not a secret).
    pub fn id(&self) -> &str {
        self.token.split(':').next().unwrap_or_default()
    }

    pub fn new(api: &str, token: &str) -> TelegramBot {
        TelegramBot::with_client(api, token, client())
    }

    /// A bot on a shared client, so that its calls reuse the connections to the Bot API.
    pub fn with_client(api: &str, token: &str, http: reqwest::Client) -> TelegramBot {
        TelegramBot {
            api: api.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http,
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        body: Value,
    ) -> Result<Result<T, ApiRefusal>, ConnectorError> {
        let url = format!("{}/bot{}/{method}", self.api, self.token);
        answer_of(self.http.post(url).json(&body).send().await).await
    }

    async fn call_form<T: DeserializeOwned>(
        &self,
        method: &str,
        form: reqwest::multipart::Form,
    ) -> Result<Result<T, ApiRefusal>, ConnectorError> {
        let url = format!("{}/bot{}/{method}", self.api, self.token);
        answer_of(self.http.post(url).multipart(form).send().await).await
    }
}

/// A Bot API answer read: its result, or the refusal in its words.
async fn answer_of<T: DeserializeOwned>(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<Result<T, ApiRefusal>, ConnectorError> {
    {
        // The error's text would hold the URL, and the URL the token.
        let resp = sent.map_err(|e| ConnectorError::Unreachable(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let bytes = read_capped(resp).await?;
        let answer: Answer<T> = serde_json::from_slice(&bytes).map_err(|_| {
            ConnectorError::Unreachable(format!("the Bot API answered {status} without JSON"))
        })?;
        match (answer.ok, answer.result) {
            (true, Some(result)) => Ok(Ok(result)),
            _ => Ok(Err(ApiRefusal {
                code: answer.error_code.unwrap_or(i64::from(status)),
                description: answer.description.unwrap_or_default(),
                retry_after: answer.parameters.and_then(|p| p.retry_after),
            })),
        }
    }
}

impl From<ApiRefusal> for ConnectorError {
    fn from(r: ApiRefusal) -> ConnectorError {
        ConnectorError::Platform {
            code: r.code,
            description: r.description,
        }
    }
}

impl TelegramBot {
    /// Like [`TelegramBot::call`], a refusal being the platform's error.
    async fn must<T: DeserializeOwned>(
        &self,
        method: &str,
        body: Value,
    ) -> Result<T, ConnectorError> {
        Ok(self.call(method, body).await??)
    }

    /// The bot behind the token (`getMe`); a refused token is a credentials error.
    pub async fn check(&self) -> Result<Identity, ConnectorError> {
        match self.call::<User>("getMe", json!({})).await? {
            Ok(me) => Ok(Identity {
                external_id: me.id.to_string(),
                name: me.username.map_or(me.first_name, |u| format!("@{u}")),
            }),
            Err(r) => Err(ConnectorError::Credentials(r.description)),
        }
    }

    /// Points the bot's updates at `url`, with the secret Telegram will send back.
    pub async fn set_webhook(&self, url: &str, secret: &str) -> Result<(), ConnectorError> {
        let body = json!({
            "url": url,
            "secret_token": secret,
            "allowed_updates": ["message", "edited_message"],
        });
        self.must::<bool>("setWebhook", body).await.map(drop)
    }

    /// The bot's next updates from `offset` on, waiting up to `wait` for one (`getUpdates`,
    /// long polling); each as its own body, as a webhook call would bring it.
    pub async fn get_updates(
        &self,
        offset: Option<i64>,
        wait: Duration,
    ) -> Result<Vec<Polled>, ConnectorError> {
        let mut body = json!({
            "timeout": wait.as_secs(),
            "allowed_updates": ["message", "edited_message"],
        });
        if let Some(o) = offset {
            body["offset"] = json!(o);
        }
        let updates: Vec<Value> = self.must("getUpdates", body).await?;
        updates
            .into_iter()
            .map(|u| {
                let id = u["update_id"]
                    .as_i64()
                    .ok_or_else(|| ConnectorError::Malformed("an update without its id".into()))?;
                Ok(Polled {
                    body: u.to_string().into_bytes(),
                    next_offset: id + 1,
                })
            })
            .collect()
    }

    /// What Telegram says of the webhook (`getWebhookInfo`): its last error, if any.
    pub async fn webhook_state(&self) -> Result<HookState, ConnectorError> {
        #[derive(Deserialize)]
        struct Info {
            #[serde(default)]
            url: String,
            last_error_date: Option<i64>,
            last_error_message: Option<String>,
        }
        let info: Info = self.must("getWebhookInfo", json!({})).await?;
        Ok(if info.url.is_empty() {
            HookState {
                ok: false,
                error: Some("Telegram has no webhook for the bot".into()),
                error_at: None,
            }
        } else {
            HookState {
                ok: info.last_error_message.is_none(),
                error: info.last_error_message,
                error_at: info
                    .last_error_date
                    .map(|d| Timestamp(d.saturating_mul(1000))),
            }
        })
    }

    /// The user's current profile photo (`getUserProfilePhotos`), in the largest size up to
    /// 640 pixels: enough for a card.
    pub async fn profile_photo(&self, user: &str) -> Result<Option<RemoteFile>, ConnectorError> {
        #[derive(Deserialize)]
        struct Size {
            file_id: String,
            width: u32,
            file_size: Option<u64>,
        }
        #[derive(Deserialize)]
        struct Photos {
            photos: Vec<Vec<Size>>,
        }
        let photos: Photos = self
            .must("getUserProfilePhotos", json!({"user_id": user, "limit": 1}))
            .await?;
        let sizes = photos.photos.into_iter().next().unwrap_or_default();
        let fitting = sizes
            .iter()
            .filter(|s| s.width <= 640)
            .max_by_key(|s| s.width);
        Ok(fitting.or(sizes.first()).map(|s| RemoteFile {
            id: s.file_id.clone(),
            file_name: Some("photo.jpg".into()),
            size: s.file_size,
        }))
    }

    /// Stops the bot's updates coming to us.
    pub async fn delete_webhook(&self) -> Result<(), ConnectorError> {
        self.must::<bool>("deleteWebhook", json!({}))
            .await
            .map(drop)
    }

    /// A file's bytes: `getFile` names its path, then the file is streamed from the Bot API's
    /// file address (which holds the token, so it never appears in an error).
    pub async fn download(&self, file_id: &str) -> Result<ByteStream<'static>, ConnectorError> {
        #[derive(Deserialize)]
        struct File {
            file_path: Option<String>,
        }
        let file: File = self.must("getFile", json!({"file_id": file_id})).await?;
        let path = file.file_path.ok_or_else(|| {
            ConnectorError::Malformed("the Bot API gave no path for the file".into())
        })?;
        let url = format!("{}/file/bot{}/{path}", self.api, self.token);
        crate::http::stream(&self.http, &url).await
    }

    /// Sends a reply: its text, or its files with the text as their caption, quoting the
    /// client's message it answers. Several images go as one album. Quick replies are a reply
    /// keyboard that hides after a tap; it hangs on a text message, so with files the text
    /// follows them.
    pub async fn send(&self, reply: &DeliveryJob, files: Vec<OutgoingFile>) -> SendResult {
        let chat = reply.contact_external_id.as_str();
        let quote = reply
            .quote_external_id
            .as_deref()
            .and_then(|q| q.split_once(':'))
            .and_then(|(_, id)| id.parse::<i64>().ok());
        let keyboard = (!reply.buttons.is_empty()).then(|| {
            let rows: Vec<Value> = reply.buttons.iter().map(|b| json!([{"text": b}])).collect();
            json!({"keyboard": rows, "one_time_keyboard": true, "resize_keyboard": true})
        });
        let sent = match (files.is_empty(), keyboard) {
            (true, keyboard) => self.send_text(chat, &reply.text, quote, keyboard).await,
            (false, None) => self.send_files(chat, &reply.text, quote, files).await,
            (false, Some(keyboard)) => match self.send_files(chat, "", quote, files).await {
                Ok(Ok(first)) => self
                    .send_text(chat, &reply.text, None, Some(keyboard))
                    .await
                    .map(|r| r.map(|_| first)),
                refused => refused,
            },
        };
        match sent {
            Ok(Ok(m)) => SendResult::Sent {
                external_id: message_key(m.chat.id, m.message_id),
            },
            Ok(Err(r)) => refusal(r),
            Err(e) => SendResult::RetryAfter(None, e.to_string()),
        }
    }

    /// Edits (`Some(text)`) or deletes (`None`) one of the bot's messages, known by our id
    /// of it (`"<chat>:<message>"`): its text, or its caption when it is a file's.
    pub async fn change(&self, external_id: &str, text: Option<&str>) -> SendResult {
        let Some((chat, id)) = external_id
            .split_once(':')
            .and_then(|(c, m)| Some((c, m.parse::<i64>().ok()?)))
        else {
            return SendResult::Failed(Failure {
                code: "platform_refused".into(),
                message: format!("{external_id:?} is not a Telegram message's id"),
            });
        };
        let mut body = json!({"chat_id": chat, "message_id": id});
        let answer = match text {
            None => self.call::<bool>("deleteMessage", body).await,
            Some(t) => {
                body["text"] = json!(t);
                match self.call::<Value>("editMessageText", body.clone()).await {
                    Ok(Err(r)) if r.description.contains("no text in the message") => {
                        body["caption"] = body["text"].take();
                        self.call::<Value>("editMessageCaption", body).await
                    }
                    other => other,
                }
                .map(|r| r.map(|_| true))
            }
        };
        match answer {
            Ok(Ok(_)) => SendResult::Sent {
                external_id: external_id.to_owned(),
            },
            Ok(Err(r)) => refusal(r),
            Err(e) => SendResult::RetryAfter(None, e.to_string()),
        }
    }

    async fn send_text(
        &self,
        chat: &str,
        text: &str,
        quote: Option<i64>,
        keyboard: Option<Value>,
    ) -> Result<Result<SentMessage, ApiRefusal>, ConnectorError> {
        let mut body = json!({"chat_id": chat, "text": text});
        if let Some(id) = quote {
            body["reply_parameters"] = reply_parameters(id);
        }
        if let Some(k) = keyboard {
            body["reply_markup"] = k;
        }
        self.call::<SentMessage>("sendMessage", body).await
    }

    /// The files, captioned with the text where it fits a caption (else the text goes first on
    /// its own); the answer is the first message Telegram made.
    async fn send_files(
        &self,
        chat: &str,
        text: &str,
        quote: Option<i64>,
        files: Vec<OutgoingFile>,
    ) -> Result<Result<SentMessage, ApiRefusal>, ConnectorError> {
        let mut first = None;
        let mut caption = Some(text).filter(|t| !t.is_empty());
        let mut quote = quote;
        if caption.is_some_and(|t| t.chars().count() > CAPTION_CHARS) {
            match self.send_text(chat, text, quote, None).await? {
                Ok(m) => first = Some(m),
                Err(r) => return Ok(Err(r)),
            }
            (caption, quote) = (None, None);
        }
        let album = files.len() > 1 && files.iter().all(|f| f.view.kind == AttachmentKind::Image);
        let sent = if album {
            match self.send_album(chat, caption, quote, files).await? {
                Ok(m) => m,
                Err(r) => return Ok(Err(r)),
            }
        } else {
            let mut answer = None;
            for f in files {
                let (method, field) = match f.view.kind {
                    AttachmentKind::Image => ("sendPhoto", "photo"),
                    _ => ("sendDocument", "document"),
                };
                let mut form = form_for(chat, caption.take(), quote.take());
                form = form.part(field, file_part(f));
                match self.call_form::<SentMessage>(method, form).await? {
                    Ok(m) => {
                        answer.get_or_insert(m);
                    }
                    Err(r) => return Ok(Err(r)),
                }
            }
            answer.ok_or_else(|| ConnectorError::Malformed("no file to send".into()))?
        };
        Ok(Ok(first.unwrap_or(sent)))
    }

    async fn send_album(
        &self,
        chat: &str,
        caption: Option<&str>,
        quote: Option<i64>,
        files: Vec<OutgoingFile>,
    ) -> Result<Result<SentMessage, ApiRefusal>, ConnectorError> {
        let media: Vec<Value> = (0..files.len())
            .map(|i| {
                let mut item = json!({"type": "photo", "media": format!("attach://f{i}")});
                if i == 0
                    && let Some(c) = caption
                {
                    item["caption"] = json!(c);
                }
                item
            })
            .collect();
        let mut form = form_for(chat, None, quote).text("media", Value::from(media).to_string());
        for (i, f) in files.into_iter().enumerate() {
            form = form.part(format!("f{i}"), file_part(f));
        }
        match self
            .call_form::<Vec<SentMessage>>("sendMediaGroup", form)
            .await?
        {
            // A refusal is answered like any send's: a wait, or the reason the manager sees.
            Ok(messages) => messages
                .into_iter()
                .next()
                .map(Ok)
                .ok_or_else(|| ConnectorError::Malformed("an empty album".into())),
            Err(r) => Ok(Err(r)),
        }
    }
}

/// Telegram's longest caption, in characters.
const CAPTION_CHARS: usize = 1024;

#[derive(Deserialize)]
struct SentMessage {
    message_id: i64,
    chat: Chat,
}

fn reply_parameters(id: i64) -> Value {
    json!({"message_id": id, "allow_sending_without_reply": true})
}

/// A file-sending method's form: the chat, and the caption and quote when there are.
fn form_for(chat: &str, caption: Option<&str>, quote: Option<i64>) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new().text("chat_id", chat.to_owned());
    if let Some(c) = caption {
        form = form.text("caption", c.to_owned());
    }
    if let Some(id) = quote {
        form = form.text("reply_parameters", reply_parameters(id).to_string());
    }
    form
}

/// One file streamed from our store into the request; Telegram tells its type from the name
/// and the content.
fn file_part(f: OutgoingFile) -> reqwest::multipart::Part {
    reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(f.body))
        .file_name(f.view.file_name.clone())
}

/// What a refused send means: wait as told, or a visible failure with the reason.
fn refusal(r: ApiRefusal) -> SendResult {
    match r.code {
        429 => SendResult::RetryAfter(
            Some(Duration::from_secs(r.retry_after.unwrap_or(1))),
            r.description,
        ),
        code if code >= 500 => SendResult::RetryAfter(None, r.description),
        403 => SendResult::Failed(Failure {
            code: "blocked_by_client".into(),
            message: "the client blocked the bot or never started it".into(),
        }),
        _ => SendResult::Failed(Failure {
            code: "platform_refused".into(),
            message: format!("Telegram refused the message: {}", r.description),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(message: Value) -> Vec<u8> {
        json!({"update_id": 10, "message": message})
            .to_string()
            .into_bytes()
    }

    fn from() -> Value {
        json!({"id": 42, "is_bot": false, "first_name": "Анна", "last_name": "Петрова",
            "username": "anna_p", "language_code": "ru"})
    }

    #[test]
    fn a_private_text_message_becomes_an_inbound_message() {
        let body = update(
            json!({"message_id": 5, "from": from(), "chat": {"id": 42, "type": "private"},
            "date": 1_700_000_000, "text": "Здравствуйте", "reply_to_message": {"message_id": 3}}),
        );
        let Incoming::Message { message, files } = parse(ChannelId(1), &body).unwrap() else {
            panic!("a message")
        };
        assert_eq!(message.external_id, "42:5");
        assert_eq!(message.contact_external_id, "42");
        assert_eq!(message.contact_name, "Анна Петрова");
        assert_eq!(message.body, "Здравствуйте");
        assert_eq!(message.quote_external_id.as_deref(), Some("42:3"));
        assert_eq!(message.sent_at, Timestamp(1_700_000_000_000));
        assert_eq!(
            message.details.profile_url.as_deref(),
            Some("https://t.me/anna_p")
        );
        assert!(files.is_empty());
    }

    #[test]
    fn photos_come_in_their_largest_size_and_shared_phones_go_to_the_card() {
        let body = update(
            json!({"message_id": 6, "from": from(), "chat": {"id": 42, "type": "private"},
            "date": 1, "caption": "this one", "photo": [
                {"file_id": "small", "file_unique_id": "a", "width": 90, "height": 90, "file_size": 1000},
                {"file_id": "large", "file_unique_id": "b", "width": 1280, "height": 1280, "file_size": 90000}]}),
        );
        let Incoming::Message { message, files } = parse(ChannelId(1), &body).unwrap() else {
            panic!("a message")
        };
        assert_eq!(message.body, "this one");
        assert_eq!(files.len(), 1);
        assert_eq!(
            (files[0].id.as_str(), files[0].size),
            ("large", Some(90_000))
        );
        let shared = update(
            json!({"message_id": 7, "from": from(), "chat": {"id": 42, "type": "private"},
            "date": 1, "contact": {"phone_number": "+79001234567", "first_name": "Анна", "user_id": 42}}),
        );
        let Incoming::Message { message, .. } = parse(ChannelId(1), &shared).unwrap() else {
            panic!("a message")
        };
        assert_eq!(message.details.phone.as_deref(), Some("+79001234567"));
    }

    #[test]
    fn edits_groups_bots_and_strangers_are_told_apart() {
        let edit = json!({"update_id": 11, "edited_message": {"message_id": 5, "from": from(),
            "chat": {"id": 42, "type": "private"}, "date": 1, "edit_date": 2, "text": "Исправлено"}});
        assert!(matches!(
            parse(ChannelId(1), edit.to_string().as_bytes()).unwrap(),
            Incoming::Edited { external_id, text } if external_id == "42:5" && text == "Исправлено"
        ));
        let group = update(
            json!({"message_id": 1, "from": from(), "chat": {"id": -100, "type": "supergroup"},
            "date": 1, "text": "hi all"}),
        );
        assert!(matches!(
            parse(ChannelId(1), &group).unwrap(),
            Incoming::Ignored(_)
        ));
        let other = json!({"update_id": 12, "my_chat_member": {}});
        assert!(matches!(
            parse(ChannelId(1), other.to_string().as_bytes()).unwrap(),
            Incoming::Ignored(_)
        ));
        assert!(parse(ChannelId(1), b"<html>").is_err());
    }

    #[test]
    fn the_webhook_secret_must_match() {
        assert!(verify("s3cret", Some("s3cret")));
        assert!(!verify("s3cret", Some("s3cre")));
        assert!(!verify("s3cret", None));
    }

    #[test]
    fn refusals_map_to_waits_and_visible_failures() {
        let r = |code, retry_after| ApiRefusal {
            code,
            description: "x".into(),
            retry_after,
        };
        assert!(
            matches!(refusal(r(429, Some(7))), SendResult::RetryAfter(Some(d), _) if d == Duration::from_secs(7))
        );
        assert!(matches!(
            refusal(r(502, None)),
            SendResult::RetryAfter(None, _)
        ));
        assert!(
            matches!(refusal(r(403, None)), SendResult::Failed(f) if f.code == "blocked_by_client")
        );
        assert!(
            matches!(refusal(r(400, None)), SendResult::Failed(f) if f.code == "platform_refused")
        );
    }
}

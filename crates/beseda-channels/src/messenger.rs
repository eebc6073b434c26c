//! The Messenger Platform: a Facebook page's conversations, and those of the Instagram
//! professional account linked to it, through the page's token. The page is subscribed to
//! the app's webhook; `messaging` events are parsed into the core's updates (messages, the
//! company's own from Meta's inbox as echoes, delivery and read watermarks, reactions);
//! replies go through the Send API, files uploaded as attachments first.

use crate::ConnectorError;
use crate::meta::{Graph, GraphError, Hook, must, refusal};
use crate::pace::Pace;
use beseda_core::attachment::AttachmentKind;
use beseda_core::connector::{
    HookState, Identity, Incoming, OutgoingFile, Profile, Reaction, RemoteFile, SendResult,
};
use beseda_core::dialog::{ContactDetails, DeliveryStatus, InboundMessage};
use beseda_core::ids::ChannelId;
use beseda_core::time::Timestamp;
use beseda_core::transport::DeliveryJob;
use serde::Deserialize;
use serde_json::{Value, json};

/// The Send API allows a page some hundreds of calls a second; a reply is spaced well below.
pub fn pace() -> Pace {
    Pace::new(40, None)
}

/// The webhook fields a page is subscribed to.
pub const FIELDS: &str =
    "messages,message_echoes,message_deliveries,message_reads,message_reactions";

/// What our messages carry in the Send API's `metadata`, which the echo brings back: tells
/// our own messages from those written in Meta's inbox.
const OURS: &str = "beseda:";

/// A page, for its Messenger conversations or its linked Instagram account's.
pub struct Page {
    graph: Graph,
    page: String,
    instagram: bool,
    human_agent: bool,
}

#[derive(Deserialize)]
struct Party {
    id: String,
}

#[derive(Deserialize)]
struct Event {
    sender: Party,
    recipient: Party,
    #[serde(default)]
    timestamp: i64,
    message: Option<Value>,
    delivery: Option<Value>,
    read: Option<Value>,
    reaction: Option<Value>,
    postback: Option<Value>,
}

/// A message's files: Meta gives each by its address.
fn files_of(message: &Value) -> Vec<RemoteFile> {
    let mut out = Vec::new();
    for a in message["attachments"].as_array().into_iter().flatten() {
        let name = match a["type"].as_str().unwrap_or_default() {
            "image" => "photo.jpg",
            "video" => "video.mp4",
            "audio" => "audio.mp4",
            "file" => "file",
            _ => continue,
        };
        if let Some(url) = a["payload"]["url"].as_str() {
            out.push(RemoteFile {
                id: url.to_owned(),
                file_name: Some(
                    a["name"]
                        .as_str()
                        .or_else(|| a["title"].as_str())
                        .unwrap_or(name)
                        .to_owned(),
                ),
                size: None,
            });
        }
    }
    out
}

/// A message's words, with a line for a place or a shared link that has no file to keep.
fn text_of(message: &Value) -> String {
    let mut lines = Vec::new();
    if let Some(t) = message["text"].as_str().filter(|t| !t.is_empty()) {
        lines.push(t.to_owned());
    }
    for a in message["attachments"].as_array().into_iter().flatten() {
        let p = &a["payload"];
        match a["type"].as_str().unwrap_or_default() {
            "image" | "video" | "audio" | "file" => {}
            "location" => lines.push(crate::location_text(
                p["coordinates"]["lat"].as_f64().unwrap_or_default(),
                p["coordinates"]["long"].as_f64().unwrap_or_default(),
            )),
            other => lines.push(match p["url"].as_str() {
                Some(url) => format!("[{other}] {url}"),
                None => format!("[{other}]"),
            }),
        }
    }
    lines.join("\n")
}

fn inbound(channel: ChannelId, client: &str, at: i64, message: &Value) -> InboundMessage {
    InboundMessage {
        channel_id: channel,
        contact_external_id: client.to_owned(),
        // The webhook carries no names: the client's profile is asked for when new.
        contact_name: String::new(),
        external_id: message["mid"].as_str().unwrap_or_default().to_owned(),
        body: text_of(message),
        sent_at: Timestamp(at),
        attachments: Vec::new(),
        quote_external_id: message["reply_to"]["mid"].as_str().map(str::to_owned),
        details: ContactDetails::default(),
    }
}

/// The updates of one page or Instagram account (`account`, the entries' id) in a webhook call.
pub fn parse(
    channel: ChannelId,
    account: &str,
    body: &[u8],
) -> Result<Vec<Incoming>, ConnectorError> {
    let hook = Hook::parse(body)?;
    let mut out = Vec::new();
    if !matches!(hook.object.as_str(), "page" | "instagram") {
        return Ok(out);
    }
    for entry in hook.entry {
        if entry["id"].as_str() != Some(account) {
            continue;
        }
        let events: Vec<Event> = serde_json::from_value(entry["messaging"].clone())
            .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
        for e in events {
            out.extend(update_of(channel, account, e));
        }
    }
    Ok(out)
}

fn update_of(channel: ChannelId, account: &str, e: Event) -> Vec<Incoming> {
    let client = if e.sender.id == account {
        &e.recipient.id
    } else {
        &e.sender.id
    };
    if let Some(m) = &e.message {
        if m["is_echo"].as_bool() == Some(true) {
            let ours = m["metadata"]
                .as_str()
                .and_then(|s| s.strip_prefix(OURS))
                .and_then(|id| id.parse().ok());
            return vec![Incoming::Echo {
                message: Box::new(inbound(channel, client, e.timestamp, m)),
                ours,
            }];
        }
        if m["is_deleted"].as_bool() == Some(true) {
            return vec![Incoming::Ignored("a deleted message".into())];
        }
        return vec![Incoming::Message {
            files: files_of(m),
            message: Box::new(inbound(channel, client, e.timestamp, m)),
        }];
    }
    if let Some(d) = &e.delivery {
        // The message ids where Meta gives them, and everything up to the watermark.
        let mut out: Vec<Incoming> = d["mids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|mid| Incoming::Status {
                external_id: mid.to_owned(),
                status: DeliveryStatus::Delivered,
                failure: None,
            })
            .collect();
        if let Some(at) = d["watermark"].as_i64() {
            out.push(Incoming::Watermark {
                contact: client.clone(),
                at: Timestamp(at),
                status: DeliveryStatus::Delivered,
            });
        }
        return out;
    }
    if let Some(r) = &e.read {
        // Messenger reads up to a moment; Instagram up to a message.
        if let Some(at) = r["watermark"].as_i64() {
            return vec![Incoming::Watermark {
                contact: client.clone(),
                at: Timestamp(at),
                status: DeliveryStatus::Read,
            }];
        }
        if let Some(mid) = r["mid"].as_str() {
            return vec![Incoming::Read {
                external_id: mid.to_owned(),
            }];
        }
    }
    if let Some(r) = &e.reaction {
        let mid = r["mid"].as_str().unwrap_or_default();
        let emoji = if r["action"].as_str() == Some("unreact") {
            ""
        } else {
            r["emoji"].as_str().unwrap_or("❤")
        };
        return vec![Incoming::Reaction {
            contact: client.clone(),
            reaction: Reaction {
                // Meta gives a reaction no id of its own: its message, what and when.
                external_id: format!("reaction:{mid}:{emoji}:{}", e.timestamp),
                message: mid.to_owned(),
                emoji: emoji.to_owned(),
            },
        }];
    }
    if let Some(p) = &e.postback {
        let title = p["title"].as_str().unwrap_or_default();
        let message = json!({"mid": p["mid"].as_str().map_or_else(
            || format!("postback:{}:{}", client, e.timestamp), str::to_owned), "text": title});
        return vec![Incoming::Message {
            files: Vec::new(),
            message: Box::new(inbound(channel, client, e.timestamp, &message)),
        }];
    }
    vec![Incoming::Ignored(
        "a messaging event the inbox does not take".into(),
    )]
}

#[derive(Deserialize)]
struct Listed {
    #[serde(default)]
    data: Vec<Value>,
}

impl Page {
    pub fn new(graph: Graph, page: &str, instagram: bool, human_agent: bool) -> Page {
        Page {
            graph,
            page: page.to_owned(),
            instagram,
            human_agent,
        }
    }

    pub fn key(&self) -> String {
        self.graph.key()
    }

    /// The page behind the id and token, or its linked Instagram account.
    pub async fn check(&self) -> Result<Identity, ConnectorError> {
        #[derive(Deserialize)]
        struct PageInfo {
            id: String,
            #[serde(default)]
            name: String,
            instagram_business_account: Option<Instagram>,
        }
        #[derive(Deserialize)]
        struct Instagram {
            id: String,
            #[serde(default)]
            username: String,
        }
        let p: PageInfo = must(
            self.graph
                .get(
                    &self.page,
                    &[("fields", "name,instagram_business_account{id,username}")],
                )
                .await,
        )?;
        if !self.instagram {
            return Ok(Identity {
                external_id: p.id,
                name: p.name,
            });
        }
        let ig = p.instagram_business_account.ok_or_else(|| {
            ConnectorError::Credentials(
                "the page has no Instagram professional account linked to it".into(),
            )
        })?;
        Ok(Identity {
            external_id: ig.id,
            name: format!("@{}", ig.username),
        })
    }

    /// Subscribes the page to our app's webhook, for the fields the inbox takes.
    pub async fn subscribe(&self) -> Result<(), ConnectorError> {
        must::<Value>(
            self.graph
                .post_query(
                    &format!("{}/subscribed_apps", self.page),
                    &[("subscribed_fields", FIELDS)],
                )
                .await,
        )
        .map(drop)
    }

    pub async fn unsubscribe(&self) -> Result<(), ConnectorError> {
        must::<Value>(
            self.graph
                .delete(&format!("{}/subscribed_apps", self.page))
                .await,
        )
        .map(drop)
    }

    pub async fn hook_state(&self) -> Result<HookState, ConnectorError> {
        let listed: Listed = must(
            self.graph
                .get(&format!("{}/subscribed_apps", self.page), &[])
                .await,
        )?;
        Ok(crate::meta::subscribed_state(&listed.data))
    }

    /// A new client's name and photo from their profile.
    pub async fn profile(&self, user: &str) -> Result<Option<Profile>, ConnectorError> {
        let fields = if self.instagram {
            "name,username,profile_pic"
        } else {
            "first_name,last_name,profile_pic"
        };
        let p: Value = match self.graph.get(user, &[("fields", fields)]).await? {
            Ok(p) => p,
            // Meta gives a profile only where the client allowed it: the message comes in all the same.
            Err(_) => return Ok(None),
        };
        let text = |key: &str| p[key].as_str().filter(|v| !v.is_empty()).map(str::to_owned);
        let name = match (text("name"), text("first_name"), text("last_name")) {
            (Some(n), _, _) => Some(n),
            (None, Some(f), Some(l)) => Some(format!("{f} {l}")),
            (None, f, l) => f.or(l),
        };
        let username = text("username");
        Ok(Some(Profile {
            name: name.or_else(|| username.clone()),
            avatar_url: None,
            photo: text("profile_pic").map(|url| RemoteFile {
                id: url,
                file_name: Some("photo.jpg".into()),
                size: None,
            }),
            profile_url: username
                .as_ref()
                .map(|u| format!("https://www.instagram.com/{u}")),
            nickname: username,
        }))
    }

    /// Shows the client their messages were seen.
    pub async fn mark_read(&self, client: &str) -> Result<(), ConnectorError> {
        let body = json!({"recipient": {"id": client}, "sender_action": "mark_seen"});
        must::<Value>(
            self.graph
                .post(&format!("{}/messages", self.page), &body)
                .await,
        )
        .map(drop)
    }

    /// Sends a reply: its files uploaded first, then the text and each file as a message
    /// (the Send API takes one attachment a message), the first quoting. The reply's id is
    /// that of its first message. Outside the 24 hours after the client's last message, a
    /// page with the Human Agent permission answers with its tag.
    pub async fn send(&self, reply: &DeliveryJob, files: Vec<OutgoingFile>) -> SendResult {
        let mut bodies = Vec::new();
        // Quick replies show over the composer under the last message: the text goes last.
        let quick = !reply.buttons.is_empty();
        if !reply.text.is_empty() && !quick {
            bodies.push(json!({"text": reply.text}));
        }
        for f in files {
            let kind = match f.view.kind {
                AttachmentKind::Image => "image",
                AttachmentKind::Video => "video",
                AttachmentKind::Audio => "audio",
                AttachmentKind::File => "file",
            };
            match self.upload(kind, f).await {
                Ok(Ok(id)) => bodies
                    .push(json!({"attachment": {"type": kind, "payload": {"attachment_id": id}}})),
                Ok(Err(e)) => return refusal(e),
                Err(e) => return SendResult::RetryAfter(None, e.to_string()),
            }
        }
        if quick {
            let replies: Vec<Value> = reply
                .buttons
                .iter()
                .map(|b| json!({"content_type": "text", "title": b, "payload": b}))
                .collect();
            bodies.push(json!({"text": reply.text, "quick_replies": replies}));
        }
        let mut first = None;
        for mut message in bodies {
            message["metadata"] = json!(format!("{OURS}{}", reply.message_id.0));
            let mut body = json!({"recipient": {"id": reply.contact_external_id},
                "messaging_type": "RESPONSE", "message": message});
            if first.is_none()
                && let Some(q) = &reply.quote_external_id
            {
                body["reply_to"] = json!({"mid": q});
            }
            match self.message(&mut body).await {
                Ok(id) => {
                    first.get_or_insert(id);
                }
                Err(result) => return result,
            }
        }
        crate::meta::first_sent(first)
    }

    /// One Send API call, once more with the Human Agent tag when the standard window has
    /// closed and the page may answer longer.
    async fn message(&self, body: &mut Value) -> Result<String, SendResult> {
        #[derive(Deserialize)]
        struct Sent {
            message_id: String,
        }
        let path = format!("{}/messages", self.page);
        let mut answer = self.graph.post::<Sent>(&path, body).await;
        if self.human_agent
            && let Ok(Err(e)) = &answer
            && outside_window(e)
        {
            body["messaging_type"] = json!("MESSAGE_TAG");
            body["tag"] = json!("HUMAN_AGENT");
            answer = self.graph.post::<Sent>(&path, body).await;
        }
        match answer {
            Ok(Ok(sent)) => Ok(sent.message_id),
            Ok(Err(e)) => Err(refusal(e)),
            Err(e) => Err(SendResult::RetryAfter(None, e.to_string())),
        }
    }

    async fn upload(&self, kind: &str, f: OutgoingFile) -> crate::meta::Answered<String> {
        #[derive(Deserialize)]
        struct Uploaded {
            attachment_id: String,
        }
        let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(f.body))
            .file_name(f.view.file_name.clone())
            .mime_str(&f.view.mime)
            .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
        let message = json!({"attachment": {"type": kind, "payload": {"is_reusable": true}}});
        let form = reqwest::multipart::Form::new()
            .text("message", message.to_string())
            .part("filedata", part);
        Ok(self
            .graph
            .post_form::<Uploaded>(&format!("{}/message_attachments", self.page), form)
            .await?
            .map(|u| u.attachment_id))
    }
}

/// Whether the Send API refused because the client's last message is older than 24 hours.
fn outside_window(e: &GraphError) -> bool {
    matches!(
        (e.code, e.error_subcode),
        (10, Some(2_018_278)) | (_, Some(2_534_022))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(object: &str, id: &str, events: Vec<Value>) -> Vec<u8> {
        json!({"object": object, "entry": [{"id": id, "time": 1, "messaging": events}]})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn messages_echoes_watermarks_and_reactions_are_told_apart() {
        let body = hook(
            "page",
            "P",
            vec![
                json!({"sender": {"id": "U"}, "recipient": {"id": "P"}, "timestamp": 5,
                    "message": {"mid": "m1", "text": "hi", "reply_to": {"mid": "m0"},
                        "attachments": [{"type": "image", "payload": {"url": "https://x/1.jpg"}}]}}),
                json!({"sender": {"id": "P"}, "recipient": {"id": "U"}, "timestamp": 6,
                    "message": {"mid": "m2", "text": "ours", "is_echo": true, "metadata": "beseda:42"}}),
                json!({"sender": {"id": "U"}, "recipient": {"id": "P"}, "timestamp": 7,
                    "read": {"watermark": 7}}),
                json!({"sender": {"id": "U"}, "recipient": {"id": "P"}, "timestamp": 8,
                    "reaction": {"mid": "m2", "action": "react", "reaction": "love", "emoji": "❤"}}),
            ],
        );
        let got = parse(ChannelId(1), "P", &body).unwrap();
        let Incoming::Message { message, files } = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(
            (message.contact_external_id.as_str(), message.body.as_str()),
            ("U", "hi")
        );
        assert_eq!(message.quote_external_id.as_deref(), Some("m0"));
        assert_eq!(files.len(), 1);
        assert!(
            matches!(&got[1], Incoming::Echo { message, ours: Some(42) } if message.contact_external_id == "U")
        );
        assert!(
            matches!(&got[2], Incoming::Watermark { status: DeliveryStatus::Read, at, .. } if *at == Timestamp(7))
        );
        assert!(matches!(&got[3], Incoming::Reaction { reaction, .. } if reaction.message == "m2"));
        assert!(
            parse(ChannelId(1), "IG", &body).unwrap().is_empty(),
            "not the page's Instagram account's"
        );
        assert!(
            parse(ChannelId(1), "Q", &body).unwrap().is_empty(),
            "another page's"
        );
    }
}

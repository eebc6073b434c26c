//! WhatsApp's Cloud API: a phone number checked by its id, its business account subscribed
//! to Meta's webhook, the webhook's messages and statuses parsed into the core's updates,
//! replies sent with `/{phone-number-id}/messages` (files uploaded to `/media` first and sent
//! by id), and clients' files fetched in two steps (the media's address, then the bytes, both
//! with the token).

use crate::ConnectorError;
use crate::meta::{Graph, Hook, must, refusal};
use crate::pace::Pace;
use beseda_core::attachment::AttachmentKind;
use beseda_core::connector::{
    HookState, Identity, Incoming, OutgoingFile, Reaction, RemoteFile, SendResult, Template,
};
use beseda_core::dialog::{ContactDetails, DeliveryStatus, InboundMessage};
use beseda_core::files::ByteStream;
use beseda_core::ids::ChannelId;
use beseda_core::time::Timestamp;
use beseda_core::transport::{DeliveryJob, Failure};
use serde::Deserialize;
use serde_json::{Value, json};

/// The Cloud API takes 80 messages a second from a number by default; a client may get about
/// one every 6 seconds in a burst (the "pair rate limit", answered 131056 and waited out).
pub fn pace() -> Pace {
    Pace::new(60, None)
}

/// One phone number of a WhatsApp Business account.
pub struct WhatsappNumber {
    graph: Graph,
    phone: String,
    business: String,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Contact {
    wa_id: String,
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Message {
    from: String,
    id: String,
    #[serde(default)]
    timestamp: String,
    #[serde(rename = "type", default)]
    kind: String,
    context: Option<Context>,
    #[serde(flatten)]
    content: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct Context {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    title: String,
    message: Option<String>,
    error_data: Option<crate::meta::ErrorData>,
}

/// Seconds as WhatsApp writes them (a string), in our milliseconds.
fn seconds(raw: &str) -> Timestamp {
    Timestamp(raw.parse::<i64>().unwrap_or_default().saturating_mul(1000))
}

/// A media message's file, named as the client would expect it.
fn file_of(kind: &str, media: &Value) -> Option<RemoteFile> {
    let id = media["id"].as_str()?;
    let default_name = match kind {
        "image" => "photo.jpg",
        "video" => "video.mp4",
        "audio" if media["voice"].as_bool() == Some(true) => "voice.ogg",
        "audio" => "audio.ogg",
        "sticker" => "sticker.webp",
        _ => "document",
    };
    Some(RemoteFile {
        id: id.to_owned(),
        file_name: Some(
            media["filename"]
                .as_str()
                .unwrap_or(default_name)
                .to_owned(),
        ),
        size: None,
    })
}

/// A message's words: its text, a media's caption, a place, shared contacts, a button's or a
/// list's answer, or the kind of a message the inbox cannot show.
fn text_of(m: &Message) -> String {
    let c = |key: &str| m.content.get(key).cloned().unwrap_or_default();
    match m.kind.as_str() {
        "text" => c("text")["body"].as_str().unwrap_or_default().to_owned(),
        "image" | "video" | "document" | "audio" | "sticker" => c(&m.kind)["caption"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        "location" => {
            let l = c("location");
            let mut lines = Vec::new();
            for key in ["name", "address"] {
                if let Some(v) = l[key].as_str().filter(|v| !v.is_empty()) {
                    lines.push(v.to_owned());
                }
            }
            lines.push(crate::location_text(
                l["latitude"].as_f64().unwrap_or_default(),
                l["longitude"].as_f64().unwrap_or_default(),
            ));
            lines.join("\n")
        }
        "contacts" => c("contacts")
            .as_array()
            .into_iter()
            .flatten()
            .map(|card| {
                let phones: Vec<&str> = card["phones"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["phone"].as_str())
                    .collect();
                format!(
                    "👤 {}: {}",
                    card["name"]["formatted_name"].as_str().unwrap_or_default(),
                    phones.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        "button" => c("button")["text"].as_str().unwrap_or_default().to_owned(),
        "interactive" => {
            let i = c("interactive");
            let reply = if i["button_reply"].is_object() {
                &i["button_reply"]
            } else {
                &i["list_reply"]
            };
            reply["title"].as_str().unwrap_or_default().to_owned()
        }
        other => format!("[{other}]"),
    }
}

fn status_of(raw: &str) -> Option<DeliveryStatus> {
    Some(match raw {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        _ => return None,
    })
}

/// Why WhatsApp could not deliver a message, as the manager sees it.
fn failure_of(errors: &[StatusError]) -> Failure {
    let Some(e) = errors.first() else {
        return Failure {
            code: "platform_refused".into(),
            message: "WhatsApp could not deliver the message".into(),
        };
    };
    let words = e
        .error_data
        .as_ref()
        .and_then(|d| d.details.clone())
        .or_else(|| e.message.clone())
        .unwrap_or_else(|| e.title.clone());
    match refusal(crate::meta::GraphError {
        message: words,
        code: e.code,
        error_subcode: None,
        error_data: None,
    }) {
        SendResult::Failed(f) => f,
        SendResult::Sent { .. } | SendResult::RetryAfter(..) => Failure {
            code: "platform_refused".into(),
            message: format!("WhatsApp could not deliver the message: {}", e.title),
        },
    }
}

/// The updates of one number in a webhook call: its clients' messages (with their files and
/// quotes), reactions, and the statuses of the company's messages.
pub fn parse(
    channel: ChannelId,
    number: &str,
    body: &[u8],
) -> Result<Vec<Incoming>, ConnectorError> {
    let hook = Hook::parse(body)?;
    let mut out = Vec::new();
    if hook.object != "whatsapp_business_account" {
        return Ok(out);
    }
    for entry in hook.entry {
        let changes: Vec<Change> = serde_json::from_value(entry["changes"].clone())
            .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
        for change in changes {
            if change.value["metadata"]["phone_number_id"].as_str() != Some(number) {
                continue;
            }
            if change.field != "messages" {
                out.push(Incoming::Ignored(format!("a change of {}", change.field)));
                continue;
            }
            out.extend(updates_of(channel, &change.value)?);
        }
    }
    Ok(out)
}

fn updates_of(channel: ChannelId, value: &Value) -> Result<Vec<Incoming>, ConnectorError> {
    let list = |key: &str| value.get(key).cloned().unwrap_or(Value::Array(Vec::new()));
    let malformed = |e: serde_json::Error| ConnectorError::Malformed(e.to_string());
    let contacts: Vec<Contact> = serde_json::from_value(list("contacts")).map_err(malformed)?;
    let messages: Vec<Message> = serde_json::from_value(list("messages")).map_err(malformed)?;
    let statuses: Vec<Status> = serde_json::from_value(list("statuses")).map_err(malformed)?;
    let mut out = Vec::new();
    for m in messages {
        if m.kind == "reaction" {
            let r = m.content.get("reaction").cloned().unwrap_or_default();
            out.push(Incoming::Reaction {
                contact: m.from.clone(),
                reaction: Reaction {
                    external_id: m.id.clone(),
                    message: r["message_id"].as_str().unwrap_or_default().to_owned(),
                    emoji: r["emoji"].as_str().unwrap_or_default().to_owned(),
                },
            });
            continue;
        }
        let files: Vec<RemoteFile> = m
            .content
            .get(&m.kind)
            .and_then(|media| file_of(&m.kind, media))
            .into_iter()
            .collect();
        let name = contacts
            .iter()
            .find(|c| c.wa_id == m.from)
            .and_then(|c| c.profile.as_ref())
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let message = InboundMessage {
            channel_id: channel,
            contact_external_id: m.from.clone(),
            contact_name: if name.is_empty() {
                format!("+{}", m.from)
            } else {
                name
            },
            external_id: m.id.clone(),
            body: text_of(&m),
            sent_at: seconds(&m.timestamp),
            attachments: Vec::new(),
            quote_external_id: m.context.as_ref().and_then(|c| c.id.clone()),
            details: ContactDetails {
                // A client's WhatsApp id is their phone number.
                phone: Some(format!("+{}", m.from)),
                ..ContactDetails::default()
            },
        };
        out.push(Incoming::Message {
            message: Box::new(message),
            files,
        });
    }
    for s in statuses {
        let Some(status) = status_of(&s.status) else {
            out.push(Incoming::Ignored(format!("a status {}", s.status)));
            continue;
        };
        out.push(Incoming::Status {
            failure: (status == DeliveryStatus::Failed).then(|| failure_of(&s.errors)),
            external_id: s.id,
            status,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct Sent {
    messages: Vec<SentId>,
}

#[derive(Deserialize)]
struct SentId {
    id: String,
}

#[derive(Deserialize)]
struct Listed {
    #[serde(default)]
    data: Vec<Value>,
}

impl WhatsappNumber {
    pub fn new(graph: Graph, phone: &str, business: &str) -> WhatsappNumber {
        WhatsappNumber {
            graph,
            phone: phone.to_owned(),
            business: business.to_owned(),
        }
    }

    pub fn key(&self) -> String {
        self.graph.key()
    }

    /// The number behind the id, as its business account names it; a token or an id Meta
    /// does not take is a credentials error.
    pub async fn check(&self) -> Result<Identity, ConnectorError> {
        #[derive(Deserialize)]
        struct Number {
            id: String,
            #[serde(default)]
            display_phone_number: String,
            #[serde(default)]
            verified_name: String,
        }
        let n: Number = must(
            self.graph
                .get(
                    &self.phone,
                    &[("fields", "display_phone_number,verified_name")],
                )
                .await,
        )?;
        Ok(Identity {
            external_id: n.id,
            name: format!("{} {}", n.verified_name, n.display_phone_number)
                .trim()
                .to_owned(),
        })
    }

    /// Subscribes our Meta app to the business account's webhook.
    pub async fn subscribe(&self) -> Result<(), ConnectorError> {
        must::<Value>(
            self.graph
                .post(&format!("{}/subscribed_apps", self.business), &json!({}))
                .await,
        )
        .map(drop)
    }

    pub async fn unsubscribe(&self) -> Result<(), ConnectorError> {
        must::<Value>(
            self.graph
                .delete(&format!("{}/subscribed_apps", self.business))
                .await,
        )
        .map(drop)
    }

    /// Whether an app is subscribed to the business account's webhook.
    pub async fn hook_state(&self) -> Result<HookState, ConnectorError> {
        let listed: Listed = must(
            self.graph
                .get(&format!("{}/subscribed_apps", self.business), &[])
                .await,
        )?;
        Ok(crate::meta::subscribed_state(&listed.data))
    }

    /// Marks the client's messages read up to this one: the client sees blue ticks.
    pub async fn mark_read(&self, external_id: &str) -> Result<(), ConnectorError> {
        let body =
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": external_id});
        must::<Value>(
            self.graph
                .post(&format!("{}/messages", self.phone), &body)
                .await,
        )
        .map(drop)
    }

    /// A client's file: its address asked by its id, then the bytes with the token.
    pub async fn download(
        &self,
        downloads: &reqwest::Client,
        media: &str,
    ) -> Result<ByteStream<'static>, ConnectorError> {
        #[derive(Deserialize)]
        struct Media {
            url: String,
        }
        let m: Media = must(self.graph.get(media, &[]).await)?;
        self.graph.download(downloads, &m.url).await
    }

    /// The business account's approved templates, with their bodies' variables counted.
    pub async fn templates(&self) -> Result<Vec<Template>, ConnectorError> {
        let listed: Listed = must(
            self.graph
                .get(
                    &format!("{}/message_templates", self.business),
                    &[
                        ("fields", "name,language,status,category,components"),
                        ("status", "APPROVED"),
                        ("limit", "200"),
                    ],
                )
                .await,
        )?;
        Ok(listed
            .data
            .iter()
            .filter(|t| t["status"].as_str() == Some("APPROVED"))
            .filter_map(template_of)
            .collect())
    }

    /// Sends a reply: its files uploaded first, each then sent as a message by its id (the
    /// text as the first one's caption where WhatsApp takes one, else as a text before them),
    /// quoting by `context`. The reply's id is that of its first message, which carries
    /// the text.
    pub async fn send(&self, reply: &DeliveryJob, files: Vec<OutgoingFile>) -> SendResult {
        if let Some(t) = &reply.template {
            let parameters: Vec<Value> = t
                .variables
                .iter()
                .map(|v| json!({"type": "text", "text": v}))
                .collect();
            let mut template = json!({"name": t.name, "language": {"code": t.language}});
            if !parameters.is_empty() {
                template["components"] = json!([{"type": "body", "parameters": parameters}]);
            }
            let body = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                "to": reply.contact_external_id, "type": "template", "template": template});
            return match self.message(&body).await {
                Ok(external_id) => SendResult::Sent { external_id },
                Err(result) => result,
            };
        }
        let mut media = Vec::with_capacity(files.len());
        for f in files {
            let view = f.view.clone();
            match self.upload(f).await {
                Ok(Ok(id)) => media.push((view, id)),
                Ok(Err(e)) => return refusal(e),
                Err(e) => return SendResult::RetryAfter(None, e.to_string()),
            }
        }
        let mut text = Some(reply.text.clone()).filter(|t| !t.is_empty());
        // Reply buttons hang on an interactive message of their own, sent last.
        let interactive = if reply.buttons.is_empty() {
            None
        } else {
            text.take().map(|t| interactive(t, &reply.buttons))
        };
        let captioned = media
            .first()
            .is_some_and(|(v, _)| v.kind != AttachmentKind::Audio);
        let mut bodies = Vec::new();
        if text.is_some() && !captioned {
            bodies
                .push(json!({"type": "text", "text": {"body": text.take(), "preview_url": true}}));
        }
        for (view, id) in media {
            let (kind, mut object) = match view.kind {
                AttachmentKind::Image => ("image", json!({"id": id})),
                AttachmentKind::Video => ("video", json!({"id": id})),
                AttachmentKind::Audio => ("audio", json!({"id": id})),
                AttachmentKind::File => ("document", json!({"id": id, "filename": view.file_name})),
            };
            if kind != "audio"
                && let Some(t) = text.take()
            {
                object["caption"] = Value::String(t);
            }
            bodies.push(json!({"type": kind, kind: object}));
        }
        bodies.extend(interactive.into_iter().flatten());
        let mut first = None;
        for mut body in bodies {
            body["messaging_product"] = json!("whatsapp");
            body["recipient_type"] = json!("individual");
            body["to"] = json!(reply.contact_external_id);
            if first.is_none()
                && let Some(q) = &reply.quote_external_id
            {
                body["context"] = json!({"message_id": q});
            }
            match self.message(&body).await {
                Ok(id) => {
                    first.get_or_insert(id);
                }
                Err(result) => return result,
            }
        }
        crate::meta::first_sent(first)
    }

    /// One message; WhatsApp's id of it, or the answer for the delivery worker.
    async fn message(&self, body: &Value) -> Result<String, SendResult> {
        match self
            .graph
            .post::<Sent>(&format!("{}/messages", self.phone), body)
            .await
        {
            Ok(Ok(sent)) => sent
                .messages
                .into_iter()
                .next()
                .map(|m| m.id)
                .ok_or_else(|| SendResult::RetryAfter(None, "WhatsApp gave no message id".into())),
            Ok(Err(e)) => Err(refusal(e)),
            Err(e) => Err(SendResult::RetryAfter(None, e.to_string())),
        }
    }

    /// One file to the number's media: its id for a message.
    async fn upload(&self, f: OutgoingFile) -> crate::meta::Answered<String> {
        #[derive(Deserialize)]
        struct Uploaded {
            id: String,
        }
        let mime = f.view.mime.clone();
        let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(f.body))
            .file_name(f.view.file_name.clone())
            .mime_str(&mime)
            .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime)
            .part("file", part);
        Ok(self
            .graph
            .post_form::<Uploaded>(&format!("{}/media", self.phone), form)
            .await?
            .map(|u| u.id))
    }
}

/// A template as the Graph API lists it: its texts from its components.
fn template_of(t: &Value) -> Option<Template> {
    let component = |kind: &str| {
        t["components"]
            .as_array()?
            .iter()
            .find(|c| c["type"].as_str() == Some(kind))?["text"]
            .as_str()
            .map(str::to_owned)
    };
    let body = component("BODY")?;
    Some(Template {
        name: t["name"].as_str()?.to_owned(),
        language: t["language"].as_str()?.to_owned(),
        category: t["category"].as_str().map(str::to_owned),
        header: component("HEADER"),
        variables: Template::count_variables(&body),
        body,
        footer: component("FOOTER"),
    })
}

/// The text with reply buttons under it: an interactive message, whose body holds at most
/// 1,024 characters; a longer text goes before it on its own. A tap comes back as a
/// `button_reply` with the label as its title.
fn interactive(text: String, labels: &[String]) -> Vec<Value> {
    const BODY_CHARS: usize = 1024;
    let buttons: Vec<Value> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"type": "reply", "reply": {"id": format!("b{i}"), "title": l}}))
        .collect();
    let mut bodies = Vec::new();
    let body = if text.chars().count() > BODY_CHARS {
        bodies.push(json!({"type": "text", "text": {"body": text, "preview_url": true}}));
        "⬆".to_owned()
    } else {
        text
    };
    bodies.push(json!({"type": "interactive", "interactive": {
        "type": "button", "body": {"text": body}, "action": {"buttons": buttons}}}));
    bodies
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(number: &str, value: Value) -> Vec<u8> {
        let mut value = value;
        value["messaging_product"] = json!("whatsapp");
        value["metadata"] =
            json!({"display_phone_number": "15550100001", "phone_number_id": number});
        json!({"object": "whatsapp_business_account", "entry": [{"id": "waba",
            "changes": [{"field": "messages", "value": value}]}]})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_client_message_comes_with_its_name_phone_file_and_quote() {
        let body = hook(
            "111",
            json!({"contacts": [{"profile": {"name": "Анна"}, "wa_id": "79161234567"}],
                "messages": [{"from": "79161234567", "id": "wamid.1", "timestamp": "1700000000",
                    "type": "image", "image": {"id": "M1", "mime_type": "image/jpeg", "caption": "вот"},
                    "context": {"from": "15550100001", "id": "wamid.OUT1"}}]}),
        );
        let got = parse(ChannelId(5), "111", &body).unwrap();
        let [Incoming::Message { message, files }] = got.as_slice() else {
            panic!("{got:?}");
        };
        assert_eq!(message.contact_name, "Анна");
        assert_eq!(message.details.phone.as_deref(), Some("+79161234567"));
        assert_eq!(message.body, "вот");
        assert_eq!(message.sent_at, Timestamp(1_700_000_000_000));
        assert_eq!(message.quote_external_id.as_deref(), Some("wamid.OUT1"));
        assert_eq!(files[0].id, "M1");
        assert!(
            parse(ChannelId(5), "222", &body).unwrap().is_empty(),
            "another number's"
        );
    }

    #[test]
    fn statuses_and_reactions_are_told_apart() {
        let body = hook(
            "111",
            json!({"statuses": [{"id": "wamid.OUT1", "status": "failed", "timestamp": "1", "recipient_id": "7",
                "errors": [{"code": 131047, "title": "Re-engagement message"}]},
                {"id": "wamid.OUT2", "status": "deleted", "timestamp": "1", "recipient_id": "7"}],
                "messages": [{"from": "7", "id": "wamid.R", "timestamp": "1", "type": "reaction",
                    "reaction": {"message_id": "wamid.OUT1", "emoji": "👍"}}]}),
        );
        let got = parse(ChannelId(5), "111", &body).unwrap();
        assert!(matches!(&got[0], Incoming::Reaction { reaction, .. } if reaction.emoji == "👍"));
        assert!(
            matches!(&got[1], Incoming::Status { status: DeliveryStatus::Failed, failure: Some(f), .. } if f.code == "reply_window_closed")
        );
        assert!(matches!(&got[2], Incoming::Ignored(_)));
    }
}

//! The website widget (F39): a channel of kind `widget` that Beseda serves itself. Its settings
//! are data the visitor's widget reads; visitors hold an opaque session token; what a visitor
//! sees of the dialog is a narrow view of its messages, never the company's side of it.

use crate::attachment::AttachmentView;
use crate::dialog::{DeliveryStatus, MessageView};
use crate::error::{CoreError, CoreResult};
use crate::ids::{ChannelId, MessageId};
use crate::time::Timestamp;
use crate::values::{max_bytes, within_bytes};
use serde::{Deserialize, Serialize};

/// Where the launcher sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WidgetPosition {
    Right,
    Left,
}

/// Whether the pre-chat form asks for a field, and whether the visitor must fill it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldRule {
    Off,
    Optional,
    Required,
}

/// The pre-chat form: asked before the first message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Prechat {
    pub name: FieldRule,
    pub phone: FieldRule,
    pub email: FieldRule,
}

/// When managers answer; outside these hours the widget shows the away text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// The company's offset from UTC, in minutes (Moscow: 180).
    pub utc_offset_minutes: i32,
    /// Working days, 1 = Monday … 7 = Sunday.
    pub days: Vec<u8>,
    /// `HH:MM`, local time.
    pub from: String,
    /// `HH:MM`, local time; after `from`.
    pub to: String,
}

fn minutes(field: &str, raw: &str) -> CoreResult<i64> {
    let parsed = raw.split_once(':').and_then(|(h, m)| {
        let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
        ((0..24).contains(&h) && (0..60).contains(&m) && raw.len() == 5).then_some(h * 60 + m)
    });
    parsed.ok_or_else(|| CoreError::invalid(field, "a time of day as HH:MM"))
}

impl WorkingHours {
    pub fn check(&self) -> CoreResult<()> {
        if !(-14 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
            return Err(CoreError::invalid(
                "hours.utc_offset_minutes",
                "between -840 and 840",
            ));
        }
        if self.days.is_empty() || self.days.iter().any(|d| !(1..=7).contains(d)) {
            return Err(CoreError::invalid(
                "hours.days",
                "one or more of 1 (Monday) to 7 (Sunday)",
            ));
        }
        if minutes("hours.from", &self.from)? >= minutes("hours.to", &self.to)? {
            return Err(CoreError::invalid("hours.to", "must be after `from`"));
        }
        Ok(())
    }

    /// Whether `at` falls inside the working hours.
    pub fn open_at(&self, at: Timestamp) -> bool {
        let local_min = at.0.div_euclid(60_000) + i64::from(self.utc_offset_minutes);
        let day_index = local_min.div_euclid(24 * 60);
        // 1970-01-01 was a Thursday (4).
        let weekday = u8::try_from((day_index + 3).rem_euclid(7) + 1).unwrap_or(1);
        let minute = local_min.rem_euclid(24 * 60);
        let from = minutes("from", &self.from).unwrap_or(0);
        let to = minutes("to", &self.to).unwrap_or(24 * 60);
        self.days.contains(&weekday) && (from..to).contains(&minute)
    }
}

/// How a widget looks and behaves, as an administrator sets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetSettings {
    /// The company's name as visitors see it.
    pub title: String,
    /// The company's picture as visitors see it: an https:// or http:// address.
    pub avatar_url: Option<String>,
    /// The accent colour, `#rrggbb`.
    pub color: String,
    pub position: WidgetPosition,
    /// The first line visitors read, before anyone writes.
    pub greeting: Option<String>,
    /// The widget's languages (`en`, `ru`); a visitor gets the first their browser prefers.
    pub languages: Vec<String>,
    /// `null`: always answering.
    pub hours: Option<WorkingHours>,
    /// Shown outside the working hours.
    pub away_text: Option<String>,
    pub prechat: Prechat,
    /// The sites that may embed the widget: `https://shop.example` (scheme, host and any port).
    pub allowed_origins: Vec<String>,
}

/// An origin as a browser sends it: `scheme://host[:port]`, lower case, nothing after.
pub fn parse_origin(raw: &str) -> CoreResult<String> {
    let o = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        !r.is_empty()
            && r.len() <= 255
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    });
    if ok {
        Ok(o)
    } else {
        Err(CoreError::invalid(
            "allowed_origins",
            "each is an origin like https://shop.example or http://localhost:8080",
        ))
    }
}

fn optional_text(field: &str, text: &mut Option<String>, max: usize) -> CoreResult<()> {
    if let Some(t) = text {
        let trimmed = t.trim();
        if trimmed.is_empty() {
            *text = None;
        } else {
            within_bytes(field, trimmed, max)?;
            *text = Some(trimmed.to_owned());
        }
    }
    Ok(())
}

impl WidgetSettings {
    /// A widget's settings as a new one starts: the company's name, the sites allowed to embed
    /// it, and the usual rest (blue, bottom right, English and Russian, always answering, name
    /// and email asked but not required).
    pub fn starting(title: &str, allowed_origins: Vec<String>) -> WidgetSettings {
        WidgetSettings {
            title: title.to_owned(),
            avatar_url: None,
            color: "#1f6feb".into(),
            position: WidgetPosition::Right,
            greeting: None,
            languages: vec!["en".into(), "ru".into()],
            hours: None,
            away_text: None,
            prechat: Prechat {
                name: FieldRule::Optional,
                phone: FieldRule::Off,
                email: FieldRule::Optional,
            },
            allowed_origins,
        }
    }

    /// Checks and normalises settings from an administrator.
    pub fn parse(mut self) -> CoreResult<WidgetSettings> {
        self.title = crate::values::DisplayName::parse("title", &self.title)?
            .as_str()
            .to_owned();
        let hex = self.color.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(CoreError::invalid("color", "a colour like #1f6feb"));
        }
        self.color = self.color.to_ascii_lowercase();
        optional_text("greeting", &mut self.greeting, 1000)?;
        optional_text("away_text", &mut self.away_text, 1000)?;
        optional_text("avatar_url", &mut self.avatar_url, max_bytes::URL)?;
        if let Some(u) = &self.avatar_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(CoreError::invalid(
                "avatar_url",
                "an http:// or https:// address",
            ));
        }
        if self.languages.is_empty()
            || self.languages.len() > 2
            || self.languages.iter().any(|l| l != "en" && l != "ru")
        {
            return Err(CoreError::invalid(
                "languages",
                "one or both of \"en\" and \"ru\"",
            ));
        }
        if let Some(h) = &self.hours {
            h.check()?;
        }
        if self.allowed_origins.len() > 50 {
            return Err(CoreError::invalid("allowed_origins", "at most 50 origins"));
        }
        let mut origins = Vec::with_capacity(self.allowed_origins.len());
        for o in &self.allowed_origins {
            let o = parse_origin(o)?;
            if !origins.contains(&o) {
                origins.push(o);
            }
        }
        self.allowed_origins = origins;
        Ok(self)
    }

    pub fn allows_origin(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        self.allowed_origins.contains(&origin)
    }
}

/// A widget channel as the settings show it, with what the site's developer needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WidgetChannel {
    pub channel_id: ChannelId,
    /// The channel's name in the inbox.
    pub name: String,
    pub active: bool,
    /// The public key in the embed snippet: it grants nothing but starting a visitor session.
    pub key: String,
    /// Signs the site's logged-in customers (`data-beseda-user-signature`): HMAC-SHA256 of the
    /// customer id under this secret, hex. Keep it on the site's server.
    pub identity_secret: String,
    pub settings: WidgetSettings,
}

/// What the visitor's widget is told about its channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WidgetConfig {
    pub title: String,
    pub avatar_url: Option<String>,
    pub color: String,
    pub position: WidgetPosition,
    pub greeting: Option<String>,
    pub languages: Vec<String>,
    /// Within the working hours now.
    pub online: bool,
    pub away_text: Option<String>,
    pub prechat: Prechat,
    pub limits: WidgetLimits,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WidgetLimits {
    /// Characters per message.
    pub max_chars: u32,
    /// Bytes per file; `null` when the channel sets none.
    pub max_file_bytes: Option<u64>,
}

/// A visitor of a widget: one contact on the channel. `external_id` is the contact's id there:
/// random for an anonymous visitor, derived from the customer id for a signed one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visitor {
    pub channel_id: ChannelId,
    pub external_id: String,
    /// The session (one browser) the request came with.
    pub session: crate::ids::VisitorSessionId,
}

/// The contact id of a site's customer whose identity the site signed.
pub fn signed_visitor_id(customer: &str) -> String {
    format!("user:{customer}")
}

/// The signature a site's backend puts on its customer's id: hex HMAC-SHA256 under the
/// widget's identity secret.
pub fn sign_identity(secret: &str, customer: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(customer.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks a customer's signature in constant time.
pub fn verify_identity(secret: &str, customer: &str, signature: &str) -> bool {
    use subtle::ConstantTimeEq;
    sign_identity(secret, customer)
        .as_bytes()
        .ct_eq(signature.to_ascii_lowercase().as_bytes())
        .into()
}

/// Who wrote a message, as the visitor sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitorSide {
    Visitor,
    Company,
}

/// The company's person behind a reply, as the visitor sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Agent {
    pub name: String,
    pub avatar_url: Option<String>,
}

/// A visitor's own message's ticks: `sent` (one), `read` by the company (two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitorTicks {
    Sent,
    Read,
}

/// A message as the visitor's widget shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VisitorMessage {
    pub id: MessageId,
    /// The widget's own id of a visitor message (what made the send idempotent).
    pub client_id: Option<String>,
    pub from: VisitorSide,
    pub text: String,
    pub created_at: Timestamp,
    pub agent: Option<Agent>,
    /// For the visitor's messages only.
    pub status: Option<VisitorTicks>,
    pub attachments: Vec<VisitorFile>,
    pub edited: bool,
    pub deleted: bool,
    /// Quick replies under a company message; the widget offers them while it is the newest
    /// message, and a tap sends the label.
    pub buttons: Vec<String>,
}

/// A file of a message, as the visitor sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VisitorFile {
    pub id: crate::ids::AttachmentId,
    pub file_name: String,
    pub mime: String,
    pub size_bytes: u64,
    pub kind: crate::attachment::AttachmentKind,
}

impl From<&AttachmentView> for VisitorFile {
    fn from(a: &AttachmentView) -> Self {
        VisitorFile {
            id: a.id,
            file_name: a.file_name.clone(),
            mime: a.mime.clone(),
            size_bytes: a.size_bytes,
            kind: a.kind,
        }
    }
}

/// The prefix of the message ids the widget's sends carry, before the widget's own id.
fn client_id_of(external_id: Option<&str>, visitor: &Visitor) -> Option<String> {
    let prefix = format!("{}/", visitor.external_id);
    external_id
        .and_then(|e| e.strip_prefix(&prefix))
        .map(str::to_owned)
}

/// The external id a visitor's message is stored under: the widget's id, scoped to the visitor
/// so that one visitor cannot collide with another's.
pub fn visitor_message_external_id(visitor: &Visitor, client_id: &str) -> String {
    format!("{}/{client_id}", visitor.external_id)
}

impl VisitorMessage {
    /// What the visitor may see of a feed message: the client's and the company's messages, not
    /// the system lines nor a failed delivery's reason. `read_up_to` is the newest visitor
    /// message the company has read.
    pub fn from_view(
        m: &MessageView,
        visitor: &Visitor,
        read_up_to: Option<MessageId>,
        company_name: &str,
    ) -> Option<VisitorMessage> {
        use crate::dialog::MessageAuthor;
        let (from, agent) = match &m.author {
            MessageAuthor::Client => (VisitorSide::Visitor, None),
            MessageAuthor::Manager { name, .. } | MessageAuthor::Bot { name, .. } => {
                (VisitorSide::Company, Some(name.as_str()))
            }
            MessageAuthor::Company => (VisitorSide::Company, Some(company_name)),
            MessageAuthor::System => return None,
        };
        let deleted = m.deleted_at.is_some();
        Some(VisitorMessage {
            id: m.id,
            client_id: client_id_of(m.external_id.as_deref(), visitor),
            from,
            text: if deleted {
                String::new()
            } else {
                m.body.clone()
            },
            created_at: m.created_at,
            agent: agent.map(|name| Agent {
                name: name.to_owned(),
                avatar_url: None,
            }),
            status: match from {
                VisitorSide::Visitor if read_up_to.is_some_and(|r| r >= m.id) => {
                    Some(VisitorTicks::Read)
                }
                VisitorSide::Visitor => Some(VisitorTicks::Sent),
                VisitorSide::Company => None,
            },
            attachments: m.attachments.iter().map(VisitorFile::from).collect(),
            edited: m.edited_at.is_some(),
            deleted,
            buttons: if deleted {
                Vec::new()
            } else {
                m.buttons.clone()
            },
        })
    }
}

/// Whether a company message reached its visitor: on the visitor's screen, or why not.
pub fn left_site_failure() -> crate::transport::Failure {
    crate::transport::Failure {
        code: "visitor_left".into(),
        message: "the visitor left the site".into(),
    }
}

/// Whether a visitor is on the site now, as this server knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// A widget of theirs is connected.
    Here,
    /// Their last widget went away at this moment.
    LeftAt(Timestamp),
    /// Not seen since this server started.
    Unknown,
}

/// Who is on the site: the live connections know, the delivery of replies asks.
pub trait PresencePort: Send + Sync + 'static {
    fn presence(&self, channel: ChannelId, visitor: &str) -> Presence;
}

/// A delivery's status for a company message to a widget visitor: on their screen when they
/// are here; kept waiting a little when they just left (the next page of the site reconnects).
pub fn widget_delivery(
    presence: Presence,
    now: Timestamp,
    grace: std::time::Duration,
) -> crate::transport::DeliveryOutcome {
    use crate::transport::DeliveryOutcome;
    match presence {
        Presence::Here => DeliveryOutcome::Reached(DeliveryStatus::Delivered),
        Presence::LeftAt(t) if now < t.plus(grace) => DeliveryOutcome::Retry {
            error: "the visitor is between pages".into(),
            at: t.plus(grace),
        },
        Presence::LeftAt(_) | Presence::Unknown => DeliveryOutcome::Failed(left_site_failure()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> WidgetSettings {
        WidgetSettings {
            title: "Acme".into(),
            avatar_url: None,
            color: "#1F6FEB".into(),
            position: WidgetPosition::Right,
            greeting: Some("  Hi  ".into()),
            languages: vec!["en".into()],
            hours: None,
            away_text: Some(" ".into()),
            prechat: Prechat {
                name: FieldRule::Optional,
                phone: FieldRule::Off,
                email: FieldRule::Required,
            },
            allowed_origins: vec![
                "https://Shop.example/".into(),
                "https://shop.example".into(),
            ],
        }
    }

    #[test]
    fn f39_settings_are_normalised() {
        let s = settings().parse().unwrap();
        assert_eq!(s.color, "#1f6feb");
        assert_eq!(s.greeting.as_deref(), Some("Hi"));
        assert_eq!(s.away_text, None);
        assert_eq!(s.allowed_origins, vec!["https://shop.example".to_owned()]);
        assert!(s.allows_origin("https://SHOP.example"));
        assert!(!s.allows_origin("https://evil.example"));
    }

    #[test]
    fn f39_bad_settings_are_refused() {
        let bad: [fn(&mut WidgetSettings); 5] = [
            |s| s.color = "red".into(),
            |s| s.languages = vec!["de".into()],
            |s| s.allowed_origins = vec!["javascript:alert(1)".into()],
            |s| s.allowed_origins = vec!["https://a.example/path".into()],
            |s| {
                s.hours = Some(WorkingHours {
                    utc_offset_minutes: 0,
                    days: vec![1],
                    from: "18:00".into(),
                    to: "09:00".into(),
                })
            },
        ];
        for change in bad {
            let mut s = settings();
            change(&mut s);
            assert!(s.parse().is_err());
        }
    }

    #[test]
    fn f39_working_hours_follow_the_company_clock() {
        let h = WorkingHours {
            utc_offset_minutes: 180,
            days: vec![1, 2, 3, 4, 5],
            from: "09:00".into(),
            to: "18:00".into(),
        };
        // 2026-11-30 is a Monday; 07:00 UTC is 10:00 in Moscow.
        let monday_7_utc = Timestamp(1_796_022_000_000);
        assert!(h.open_at(monday_7_utc));
        assert!(!h.open_at(monday_7_utc.plus(std::time::Duration::from_secs(9 * 3600))));
        // Sunday at the same hour.
        assert!(!h.open_at(monday_7_utc.minus(std::time::Duration::from_secs(24 * 3600))));
    }

    #[test]
    fn f39_identity_signatures_check_the_customer() {
        let sig = sign_identity("secret", "42");
        assert!(verify_identity("secret", "42", &sig));
        assert!(verify_identity("secret", "42", &sig.to_uppercase()));
        assert!(!verify_identity("secret", "43", &sig));
        assert!(!verify_identity("other", "42", &sig));
    }

    #[test]
    fn f31_a_reply_to_a_visitor_who_left_fails_after_the_grace() {
        use crate::transport::DeliveryOutcome;
        let grace = std::time::Duration::from_secs(15);
        let now = Timestamp(100_000);
        assert_eq!(
            widget_delivery(Presence::Here, now, grace),
            DeliveryOutcome::Reached(DeliveryStatus::Delivered)
        );
        assert!(matches!(
            widget_delivery(Presence::LeftAt(Timestamp(95_000)), now, grace),
            DeliveryOutcome::Retry { at, .. } if at == Timestamp(110_000)
        ));
        assert_eq!(
            widget_delivery(Presence::LeftAt(Timestamp(50_000)), now, grace),
            DeliveryOutcome::Failed(left_site_failure())
        );
    }
}

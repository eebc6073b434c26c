//! GET /settings: the settings of F34 for those who may change them — managers and groups with
//! their permissions, integration modules and channels, tags with colours, quick replies and
//! answer-time limits. Each form sends its fields to the JSON API (assets/settings.js), so the
//! page adds no rule of its own.

use super::auth::PageActor;
use super::error::ApiResult;
use super::ui::tr_for;
use crate::app::AppState;
use crate::i18n::Tr;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::HeaderMap;
use beseda_core::CoreError;
use beseda_core::company::{Tag, TagColor};
use beseda_core::inbox::ChannelOption;
use beseda_core::library::{QuickReply, TimeLimits};
use beseda_core::manager::{Group, Manager};
use beseda_core::transport::TransportModule;
use beseda_core::widget::{FieldRule, WidgetChannel, WidgetPosition, WidgetSettings};

/// A channel with its own answer-time limits, in minutes for the form.
pub struct ChannelRow {
    pub channel: ChannelOption,
    pub warning_min: String,
    pub danger_min: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub tr: Tr,
    pub managers: Vec<Manager>,
    pub groups: Vec<Group>,
    pub modules: Vec<TransportModule>,
    pub channels: Vec<ChannelRow>,
    pub tags: Vec<Tag>,
    pub colors: Vec<&'static str>,
    pub replies: Vec<QuickReply>,
    pub warning_min: String,
    pub danger_min: String,
    /// The widgets, and last the form of a new one.
    pub widgets: Vec<WidgetForm>,
    /// Messenger accounts Beseda connects itself.
    pub connected: Vec<ConnectedRow>,
    /// The company's own bots (F37).
    pub bots: Vec<BotRow>,
    /// The distribution bot's form per channel (F36), and its reassignment conditions.
    pub distribution: Vec<DistributionRow>,
    pub reassign: beseda_core::distribution::ReassignRules,
}

/// A channel's distribution form: every manager and group, checked when they receive.
pub struct DistributionRow {
    pub channel: ChannelOption,
    pub on: bool,
    pub managers: Vec<(i64, String, bool)>,
    pub groups: Vec<(i64, String, bool)>,
    pub strategy: &'static str,
    pub max_open: String,
    pub hours: HoursForm,
    pub greeting: String,
    pub all_busy: String,
    pub order_currency: String,
}

impl SettingsPage {
    /// Seconds as whole minutes for a form field; empty when unset.
    pub fn minutes_of(&self, secs: &Option<i64>) -> String {
        minutes(*secs)
    }
}

/// A bot's row: its channels by name (and every channel, checked or not, for its form), and
/// how its webhook fares.
pub struct BotRow {
    pub bot: beseda_core::bot::Bot,
    /// Channel id, name, whether it serves it.
    pub channels: Vec<(i64, String, bool)>,
    /// `YYYY-MM-DD HH:MM` UTC, when it started failing.
    pub failing_since: Option<String>,
}

/// A connected messenger account's row: how its updates come, its latest activity and what
/// its platform says is wrong.
pub struct ConnectedRow {
    pub channel: beseda_core::transport::Channel,
    /// The message key naming how updates come.
    pub updates: &'static str,
    /// `YYYY-MM-DD HH:MM` UTC.
    pub last_activity: Option<String>,
    pub problem: Option<String>,
    /// What to enter in the platform's dashboard (Meta's apps).
    pub callback: Option<beseda_core::connector::CallbackSetup>,
}

impl From<beseda_core::connector::ConnectorOverview> for ConnectedRow {
    fn from(o: beseda_core::connector::ConnectorOverview) -> ConnectedRow {
        let problem = o.state.and_then(|s| match (s.error, s.error_at) {
            (Some(e), Some(at)) => Some(format!("{} ({})", e, date_time(at))),
            (e, _) => e,
        });
        ConnectedRow {
            updates: if o.updates == "polling" {
                "connector-updates-polling"
            } else {
                "connector-updates-webhook"
            },
            last_activity: o.last_activity_at.map(date_time),
            problem,
            callback: o.callback,
            channel: o.channel,
        }
    }
}

pub(crate) fn date_time(t: beseda_core::time::Timestamp) -> String {
    let dt = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute()
    )
}

/// A website widget's form (F39): where it is saved, its settings, and for a saved one what
/// the site's developer needs.
pub struct WidgetForm {
    pub channel_id: Option<i64>,
    pub action: String,
    pub method: &'static str,
    pub name: String,
    pub active: bool,
    pub s: WidgetSettings,
    pub snippet: Option<String>,
    pub secret: String,
}

impl WidgetForm {
    fn new_one() -> WidgetForm {
        WidgetForm {
            channel_id: None,
            action: "/api/v1/widgets".into(),
            method: "POST",
            name: String::new(),
            active: true,
            s: WidgetSettings::starting("", Vec::new()),
            snippet: None,
            secret: String::new(),
        }
    }

    fn of(w: WidgetChannel, public_url: &str) -> WidgetForm {
        WidgetForm {
            channel_id: Some(w.channel_id.0),
            action: format!("/api/v1/widgets/{}", w.channel_id.0),
            method: "PUT",
            snippet: Some(format!(
                "<script src=\"{}/widget.js\" data-beseda-channel=\"{}\" async></script>",
                public_url.trim_end_matches('/'),
                w.key
            )),
            name: w.name,
            active: w.active,
            s: w.settings,
            secret: w.identity_secret,
        }
    }

    pub fn right(&self) -> bool {
        self.s.position == WidgetPosition::Right
    }

    pub fn speaks(&self, language: &str) -> bool {
        self.s.languages.iter().any(|l| l == language)
    }

    pub fn origins(&self) -> String {
        self.s.allowed_origins.join("\n")
    }

    pub fn prechat(&self, tr: &Tr) -> Vec<(&'static str, String, &'static str)> {
        let rule = |r: FieldRule| match r {
            FieldRule::Off => "off",
            FieldRule::Optional => "optional",
            FieldRule::Required => "required",
        };
        let p = self.s.prechat;
        vec![
            ("name", tr.t("field-name"), rule(p.name)),
            ("phone", tr.t("field-phone"), rule(p.phone)),
            ("email", tr.t("field-email"), rule(p.email)),
        ]
    }

    pub fn hours(&self) -> HoursForm {
        HoursForm::of(self.s.hours.as_ref())
    }
}

/// Working hours as a form shows them: the ones set, or 09:00–18:00 Moscow time on weekdays.
pub struct HoursForm {
    pub on: bool,
    pub from: String,
    pub to: String,
    pub offset: i32,
    days: Vec<u8>,
}

impl HoursForm {
    pub fn of(h: Option<&beseda_core::widget::WorkingHours>) -> HoursForm {
        HoursForm {
            on: h.is_some(),
            from: h.map_or("09:00", |h| h.from.as_str()).to_owned(),
            to: h.map_or("18:00", |h| h.to.as_str()).to_owned(),
            offset: h.map_or(180, |h| h.utc_offset_minutes),
            days: h.map_or_else(|| (1..=5).collect(), |h| h.days.clone()),
        }
    }

    /// Each weekday, its name, and whether it is a working day.
    pub fn days(&self, tr: &Tr) -> Vec<(u8, String, bool)> {
        (1..=7)
            .map(|d| (d, tr.t(&format!("day-{d}")), self.days.contains(&d)))
            .collect()
    }
}

fn minutes(secs: Option<i64>) -> String {
    secs.map(|s| (s / 60).to_string()).unwrap_or_default()
}

impl SettingsPage {
    /// Whether manager `m` is in group `g` (for the members' boxes).
    pub fn member(&self, g: &Group, m: &Manager) -> bool {
        g.members.contains(&m.id)
    }
}

pub async fn settings(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
) -> ApiResult<SettingsPage> {
    let actor = &page.actor;
    if !actor.permissions.manage_settings {
        return Err(CoreError::Forbidden("manage settings").into());
    }
    let limits = state.library.time_limits().await?;
    let of_channel = |c: &ChannelOption| -> TimeLimits {
        limits
            .channels
            .iter()
            .find(|l| l.channel_id == c.id)
            .map(|l| l.limits)
            .unwrap_or_default()
    };
    let channels = state
        .inbox
        .channels()
        .await?
        .into_iter()
        .map(|c| {
            let l = of_channel(&c);
            ChannelRow {
                warning_min: minutes(l.warning_secs),
                danger_min: minutes(l.danger_secs),
                channel: c,
            }
        })
        .collect();
    let all_channels = state.inbox.channels().await?;
    let managers = state.managers.list(actor).await?;
    let groups = state.managers.list_groups(actor).await?;
    let dist = state.distribution.settings(actor).await?;
    let distribution = all_channels
        .iter()
        .map(|c| {
            let rule = dist.rules.iter().find(|r| r.channel_id == c.id);
            DistributionRow {
                on: rule.is_some(),
                managers: managers
                    .iter()
                    .filter(|m| !m.disabled)
                    .map(|m| {
                        (
                            m.id.0,
                            m.name.clone(),
                            rule.is_some_and(|r| r.managers.contains(&m.id)),
                        )
                    })
                    .collect(),
                groups: groups
                    .iter()
                    .map(|g| {
                        (
                            g.id.0,
                            g.name.clone(),
                            rule.is_some_and(|r| r.groups.contains(&g.id)),
                        )
                    })
                    .collect(),
                strategy: match rule.map(|r| r.strategy) {
                    Some(beseda_core::distribution::Strategy::FewestOpen) => "fewest_open",
                    Some(beseda_core::distribution::Strategy::OwnManagerFirst) => {
                        "own_manager_first"
                    }
                    _ => "round_robin",
                },
                max_open: rule
                    .and_then(|r| r.max_open)
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
                hours: HoursForm::of(rule.and_then(|r| r.hours.as_ref())),
                greeting: rule.and_then(|r| r.greeting.clone()).unwrap_or_default(),
                all_busy: rule.and_then(|r| r.all_busy.clone()).unwrap_or_default(),
                order_currency: rule
                    .and_then(|r| r.order_currency.clone())
                    .unwrap_or_default(),
                channel: c.clone(),
            }
        })
        .collect();
    let bots = state
        .bots
        .list()
        .await?
        .into_iter()
        .filter(|b| b.kind == beseda_core::bot::BotKind::External)
        .map(|bot| BotRow {
            channels: all_channels
                .iter()
                .map(|c| (c.id.0, c.name.clone(), bot.channels.contains(&c.id)))
                .collect(),
            failing_since: bot.failing_since.map(date_time),
            bot,
        })
        .collect();
    Ok(SettingsPage {
        distribution,
        reassign: dist.reassign,
        bots,
        tr: tr_for(actor, &headers),
        managers,
        groups,
        modules: state.transport.list_modules(actor).await?,
        channels,
        tags: state.library.tags().await?,
        colors: TagColor::ALL.iter().map(|c| c.as_str()).collect(),
        replies: state.library.quick_replies(actor, None).await?,
        warning_min: minutes(limits.default.warning_secs),
        danger_min: minutes(limits.default.danger_secs),
        connected: state
            .connectors
            .list(actor, &state.public_url)
            .await?
            .into_iter()
            .map(ConnectedRow::from)
            .collect(),
        widgets: state
            .widget
            .list(actor)
            .await?
            .into_iter()
            .map(|w| WidgetForm::of(w, &state.public_url))
            .chain([WidgetForm::new_one()])
            .collect(),
    })
}

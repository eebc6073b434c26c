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
    Ok(SettingsPage {
        tr: tr_for(actor, &headers),
        managers: state.managers.list(actor).await?,
        groups: state.managers.list_groups(actor).await?,
        modules: state.transport.list_modules(actor).await?,
        channels,
        tags: state.library.tags().await?,
        colors: TagColor::ALL.iter().map(|c| c.as_str()).collect(),
        replies: state.library.quick_replies(actor, None).await?,
        warning_min: minutes(limits.default.warning_secs),
        danger_min: minutes(limits.default.danger_secs),
    })
}

//! The dialog list (F12, F19–F24), its filter panel, search (F06) and bulk delete. Filters come
//! as query parameters (or the same names in a delete's JSON body) and are parsed once into
//! typed values; an unknown value is 422 naming its parameter.

use super::auth::ApiActor;
use super::error::{ApiResult, ErrorBody};
use super::json::{ApiJson, ApiQuery};
use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use beseda_core::CoreError;
use beseda_core::dialog::DialogView;
use beseda_core::ids::{BotId, ChannelId, DialogId, ManagerId, MessageId, TagId};
use beseda_core::inbox::{
    BotFilter, DialogFilter, DialogSort, FilterPanel, Holder, LastFrom, MessageHit, TagFilter,
};
use beseda_core::services::inbox::Deletion;
use beseda_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The list's filters; each combines with the others by AND (F21).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct FilterParams {
    /// Responsible managers by id, comma-separated; `none` for unassigned dialogs.
    responsible: Option<String>,
    /// `any` for every dialog a bot holds, or bot ids, comma-separated (F22).
    bots: Option<String>,
    /// Channel ids, comma-separated.
    channels: Option<String>,
    /// `open` or `closed`.
    status: Option<String>,
    /// Who wrote the last message: `client` or `company`.
    last: Option<String>,
    /// F23: dialogs with a message from this moment (epoch ms)…
    from: Option<i64>,
    /// …until before this one (epoch ms; the end of the day for a single date).
    to: Option<i64>,
    /// F24: `none` for clients without tags, or tag ids (comma-separated, all of them).
    tags: Option<String>,
    /// F24 "Pinned": only clients with pinned tags (with `tags`, those tags pinned).
    pinned: Option<bool>,
}

fn ids<T>(param: &str, raw: &str, make: impl Fn(i64) -> T) -> Result<Vec<T>, CoreError> {
    raw.split(',')
        .map(|s| {
            s.trim()
                .parse::<i64>()
                .map(&make)
                .map_err(|_| CoreError::invalid(param, format!("{s:?} is not an id")))
        })
        .collect()
}

impl FilterParams {
    fn parse(self) -> Result<DialogFilter, CoreError> {
        let mut f = DialogFilter::default();
        if let Some(r) = self.responsible {
            for part in r.split(',') {
                f.holders.push(match part.trim() {
                    "none" => Holder::Nobody,
                    id => Holder::Manager(ManagerId(id.parse().map_err(|_| {
                        CoreError::invalid(
                            "responsible",
                            format!("{id:?} is not a manager id or none"),
                        )
                    })?)),
                });
            }
            f.holders.sort();
            f.holders.dedup();
        }
        f.bots = match self.bots.as_deref() {
            None => None,
            // "Any bot" wins over bots picked beside it.
            Some(raw) if raw.split(',').any(|b| b == "any") => Some(BotFilter::Any),
            Some(raw) => Some(BotFilter::Some(ids("bots", raw, BotId)?)),
        };
        if let Some(raw) = self.channels {
            f.channels = ids("channels", &raw, ChannelId)?;
        }
        f.open = match self.status.as_deref() {
            None => None,
            Some("open") => Some(true),
            Some("closed") => Some(false),
            Some(other) => {
                return Err(CoreError::invalid(
                    "status",
                    format!("{other:?} is not open or closed"),
                ));
            }
        };
        f.last_from = match self.last.as_deref() {
            None => None,
            Some("client") => Some(LastFrom::Client),
            Some("company") => Some(LastFrom::Company),
            Some(other) => {
                return Err(CoreError::invalid(
                    "last",
                    format!("{other:?} is not client or company"),
                ));
            }
        };
        f.period = match (self.from, self.to) {
            (None, None) => None,
            (Some(a), Some(b)) if a < b => Some((Timestamp(a), Timestamp(b))),
            (Some(_), Some(_)) => return Err(CoreError::invalid("to", "must be after from")),
            (None, Some(_)) => {
                return Err(CoreError::invalid("from", "a period needs from and to"));
            }
            (Some(_), None) => return Err(CoreError::invalid("to", "a period needs from and to")),
        };
        f.tags = match self.tags.as_deref() {
            None | Some("") => TagFilter::All,
            Some("none") => TagFilter::NoTags,
            Some(raw) => {
                let mut tags = ids("tags", raw, TagId)?;
                tags.sort();
                tags.dedup();
                TagFilter::AllOf(tags)
            }
        };
        f.pinned = self.pinned.unwrap_or(false);
        Ok(f)
    }
}

/// The list's query string: the page, the sort and the filters of [`FilterParams`].
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `activity` (default) or `processing` (F20).
    sort: Option<String>,
    /// From the previous page's `next_cursor`.
    cursor: Option<String>,
    /// Rows per page, 1–100 (default 50).
    limit: Option<u32>,
    /// As in [`FilterParams`].
    responsible: Option<String>,
    bots: Option<String>,
    channels: Option<String>,
    status: Option<String>,
    last: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    tags: Option<String>,
    pinned: Option<bool>,
}

/// The typed query of a list request: filter, sort, cursor, page size, and the filter and sort
/// as a query string to carry into the next page's address.
pub type ParsedList = (DialogFilter, DialogSort, Option<String>, u32, String);

pub fn parse_list(mut q: ListQuery) -> Result<ParsedList, CoreError> {
    let sort = match q.sort.as_deref() {
        None | Some("activity") => DialogSort::Activity,
        Some("processing") => DialogSort::Processing,
        Some(other) => {
            return Err(CoreError::invalid(
                "sort",
                format!("{other:?} is not activity or processing"),
            ));
        }
    };
    let mut carry = String::new();
    if sort == DialogSort::Processing {
        carry.push_str("&sort=processing");
    }
    for (name, value) in [
        ("responsible", &q.responsible),
        ("bots", &q.bots),
        ("channels", &q.channels),
        ("status", &q.status),
        ("last", &q.last),
        ("tags", &q.tags),
    ] {
        if let Some(v) = value {
            carry.push_str(&format!(
                "&{name}={}",
                form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            ));
        }
    }
    for (name, value) in [("from", q.from), ("to", q.to)] {
        if let Some(v) = value {
            carry.push_str(&format!("&{name}={v}"));
        }
    }
    if q.pinned == Some(true) {
        carry.push_str("&pinned=true");
    }
    let cursor = q.cursor.take();
    let limit = q.limit.unwrap_or(50);
    let filter = q.filter().parse()?;
    Ok((filter, sort, cursor, limit, carry))
}

impl ListQuery {
    fn filter(&mut self) -> FilterParams {
        FilterParams {
            responsible: self.responsible.take(),
            bots: self.bots.take(),
            channels: self.channels.take(),
            status: self.status.take(),
            last: self.last.take(),
            from: self.from,
            to: self.to,
            tags: self.tags.take(),
            pinned: self.pinned,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DialogList {
    dialogs: Vec<DialogView>,
    /// Give it as `cursor` for the next page; `null` after the last.
    next_cursor: Option<String>,
    /// With a date filter (F23): open each dialog's feed from here (`GET …/messages?since=`).
    open_feed_at: Option<Timestamp>,
}

/// GET /api/v1/dialogs: the caller's dialog list (F12), filtered (F21–F24) and sorted (F20),
/// in keyset pages.
#[utoipa::path(get, path = "/api/v1/dialogs", tag = "dialogs", params(ListQuery),
    responses((status = 200, body = DialogList), (status = 400, body = ErrorBody, description = "`invalid_cursor`"),
        (status = 422, body = ErrorBody, description = "an unknown filter value; `field` names the parameter")))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<DialogList>> {
    let (filter, sort, cursor, limit, _) = parse_list(q)?;
    let open_feed_at = filter.period.map(|(from, _)| from);
    let page = state
        .inbox
        .list(&caller.actor, filter, sort, cursor.as_deref(), limit)
        .await?;
    Ok(Json(DialogList {
        dialogs: page.dialogs,
        next_cursor: page.next,
        open_feed_at,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PanelParams {
    /// Narrows the tags to those whose name holds this.
    tag_search: Option<String>,
    /// Count pinned tags only.
    pinned: Option<bool>,
}

/// GET /api/v1/dialogs/filters: the "Filters and sorting" panel's data: tags with the number
/// of dialogs carrying each, most first; whether the bot filter and processing order apply.
#[utoipa::path(get, path = "/api/v1/dialogs/filters", tag = "dialogs", params(PanelParams),
    responses((status = 200, body = FilterPanel)))]
pub async fn filters(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiQuery(p): ApiQuery<PanelParams>,
) -> ApiResult<Json<FilterPanel>> {
    Ok(Json(
        state
            .inbox
            .panel(
                &caller.actor,
                p.pinned.unwrap_or(false),
                p.tag_search.as_deref(),
            )
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The text: a client's name, phone or email, a channel's name, or words of a message.
    q: String,
    /// The next page of message hits: those older than this message.
    before: Option<MessageId>,
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchAnswer {
    dialogs: Vec<DialogView>,
    /// Newest first; open a hit with `GET /api/v1/dialogs/{id}/messages?around={message_id}`.
    messages: Vec<MessageHit>,
    /// `false` when the text is shorter than 3 characters: only dialogs were searched.
    messages_searched: bool,
}

/// GET /api/v1/search: one field over dialogs and message text (F06), newest first, only what
/// the caller may see.
#[utoipa::path(get, path = "/api/v1/search", tag = "dialogs", params(SearchParams),
    responses((status = 200, body = SearchAnswer), (status = 422, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<SearchAnswer>> {
    let r = state
        .inbox
        .search(&caller.actor, &p.q, p.before, p.limit.unwrap_or(20))
        .await?;
    Ok(Json(SearchAnswer {
        dialogs: r.dialogs,
        messages: r.messages,
        messages_searched: r.messages_searched,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    /// These dialogs…
    ids: Option<Vec<DialogId>>,
    /// …or every dialog this filter matches (the list's parameters as JSON).
    filter: Option<FilterParams>,
}

#[derive(Serialize, ToSchema)]
pub struct DeleteAnswer {
    deleted: u64,
}

/// POST /api/v1/dialogs/delete: deletes dialogs (F19), with the "delete dialogs" permission.
/// They leave every list, search and counter; who and when is kept.
#[utoipa::path(post, path = "/api/v1/dialogs/delete", tag = "dialogs", request_body = DeleteRequest,
    responses((status = 200, body = DeleteAnswer), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<DeleteRequest>,
) -> ApiResult<Json<DeleteAnswer>> {
    let what = match (req.ids, req.filter) {
        (Some(ids), None) => Deletion::These(ids),
        (None, Some(f)) => Deletion::Matching(f.parse()?),
        _ => return Err(CoreError::invalid("ids", "give ids or filter").into()),
    };
    let deleted = state.inbox.delete(&caller.actor, what).await?;
    Ok(Json(DeleteAnswer { deleted }))
}

//! The workspace's side fragments: search results (F06), a dialog's files (F11) and the
//! client card (F14, F35). Same services as the JSON API, same auto-escaping templates.

use super::auth::PageActor;
use super::error::ApiResult;
use super::json::{ApiPath, ApiQuery};
use super::ui::{Row, When, tr_for};
use crate::app::AppState;
use crate::i18n::Tr;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::HeaderMap;
use beseda_core::attachment::{AttachmentKind, AttachmentTab};
use beseda_core::ids::{ClientId, DialogId, OrderId};
use beseda_core::library::ClientCard;
use beseda_core::order::{Currency, Order};
use serde::Deserialize;

/// A message found by search, as the results show it.
pub struct Hit {
    pub dialog: i64,
    pub message: i64,
    pub name: String,
    pub channel: String,
    pub context: String,
    pub when: When,
}

#[derive(Template, WebTemplate)]
#[template(path = "ui/search.html")]
pub struct SearchFragment {
    pub tr: Tr,
    pub rows: Vec<Row>,
    pub hits: Vec<Hit>,
    pub messages_searched: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    q: String,
}

/// GET /ui/search?q=: dialogs and messages found, newest first (F06).
pub async fn search(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<SearchQuery>,
) -> ApiResult<SearchFragment> {
    let found = state.inbox.search(&page.actor, &p.q, None, 30).await?;
    Ok(SearchFragment {
        tr: tr_for(&page.actor, &headers),
        rows: found.dialogs.iter().map(Row::of).collect(),
        hits: found
            .messages
            .into_iter()
            .map(|h| Hit {
                dialog: h.dialog_id.0,
                message: h.message_id.0,
                name: h.contact_name,
                channel: h.channel_name,
                context: h.context,
                when: When::of(h.created_at),
            })
            .collect(),
        messages_searched: found.messages_searched,
    })
}

/// A file of the attachments panel.
pub struct FileItem {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub preview: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "ui/files.html")]
pub struct FilesFragment {
    pub tr: Tr,
    pub id: i64,
    pub tab: &'static str,
    pub items: Vec<FileItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TabQuery {
    tab: Option<AttachmentTab>,
}

fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{} KB", b / 1024),
        b => format!("{b} B"),
    }
}

/// GET /ui/dialogs/{id}/attachments?tab=images|files: the dialog's files, newest first (F11).
pub async fn files(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<TabQuery>,
) -> ApiResult<FilesFragment> {
    let tab = q.tab.unwrap_or(AttachmentTab::Images);
    let items = state
        .attachments
        .list(&page.actor, DialogId(id), tab, None, 100)
        .await?
        .into_iter()
        .map(|a| FileItem {
            id: a.id.0,
            size: size_text(a.size_bytes),
            preview: a.preview && a.kind == AttachmentKind::Image,
            name: a.file_name,
        })
        .collect();
    Ok(FilesFragment {
        tr: tr_for(&page.actor, &headers),
        id,
        tab: match tab {
            AttachmentTab::Images => "images",
            AttachmentTab::Files => "files",
        },
        items,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "ui/client.html")]
pub struct ClientFragment {
    pub tr: Tr,
    pub c: ClientCard,
    pub dialog: i64,
    /// Tags the client does not carry yet: id, name.
    pub free_tags: Vec<(i64, String)>,
}

impl ClientFragment {
    pub fn money(&self, minor: i64, currency: &str) -> String {
        money(minor, currency)
    }
}

/// An amount in minor units, grouped by thousands: "12 345.60 RUB", "1 500 JPY".
pub fn money(minor: i64, currency: &str) -> String {
    let per = Currency::parse(currency).map_or(100, |c| c.minor_per_major());
    let units = (minor / per).unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    let sign = if minor < 0 { "-" } else { "" };
    match per {
        1 => format!("{sign}{grouped} {currency}"),
        _ => format!("{sign}{grouped}.{:02} {currency}", (minor % per).abs()),
    }
}

/// GET /ui/dialogs/{id}/client: the card of the dialog's client (F14): contacts, source, tags.
pub async fn client(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ClientFragment> {
    let d = state.dialogs.view(&page.actor, DialogId(id)).await?;
    let client = d.client.ok_or(beseda_core::CoreError::NotFound("client"))?;
    let c = state
        .library
        .client_card(&page.actor, ClientId(client.id.0))
        .await?;
    let free_tags = state
        .library
        .tags()
        .await?
        .into_iter()
        .filter(|t| !c.tags.iter().any(|ct| ct.tag.id == t.id))
        .map(|t| (t.id.0, t.name))
        .collect();
    Ok(ClientFragment {
        tr: tr_for(&page.actor, &headers),
        c,
        dialog: id,
        free_tags,
    })
}

/// The statuses offered on the order card; a CRM may use any other.
const ORDER_STATUSES: [&str; 6] = [
    "new",
    "in_progress",
    "paid",
    "shipped",
    "completed",
    "cancelled",
];

#[derive(Template, WebTemplate)]
#[template(path = "ui/order.html")]
pub struct OrderFragment {
    pub tr: Tr,
    pub o: Order,
    /// Name, quantity, price, sum.
    pub items: Vec<(String, i64, String, String)>,
    pub total: String,
    pub utm: Vec<(String, String)>,
    pub statuses: [&'static str; 6],
    pub created: When,
    pub updated: When,
}

/// GET /ui/orders/{id}: the order card (F40): number, status, items, total, source, its chat.
pub async fn order(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<OrderFragment> {
    let o = state.orders.get(&page.actor, OrderId(id)).await?;
    let currency = o.currency.as_str();
    let items = o
        .items
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                i.quantity,
                money(i.price_minor, currency),
                money(i.price_minor.saturating_mul(i.quantity), currency),
            )
        })
        .collect();
    let utm = o
        .source
        .as_ref()
        .and_then(|s| s.utm.as_ref())
        .and_then(|u| u.as_object())
        .map(|u| {
            u.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(OrderFragment {
        tr: tr_for(&page.actor, &headers),
        total: money(o.total_minor, currency),
        items,
        utm,
        statuses: ORDER_STATUSES,
        created: When::of(o.created_at),
        updated: When::of(o.updated_at),
        o,
    })
}

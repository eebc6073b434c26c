//! The dialog engine's reads: one dialog for the rules and for a manager, the feed, counters.
//! Who may see a dialog is decided in one place, `Viewer::may_see` (F33).

use super::events::join;
use super::{SqlStore, params, visibility};
use crate::driver::SqlRow;
use beseda_core::channel::Capabilities;
use beseda_core::dialog::{
    AuthorKind, ChannelRef, ClientRef, Counters, DeliveryStatus, DialogView, FeedPage,
    MessageAuthor, MessageKind, MessageView, QuoteRef, Viewer,
};
use beseda_core::ids::{BotId, ChannelId, ClientId, DialogId, ManagerId, MessageId};
use beseda_core::library::TimeLimits;
use beseda_core::store::DialogAccess;
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};

const MESSAGE_COLUMNS: &str = "m.id, m.dialog_id, m.seq, m.author_kind, m.author_manager_id, m.author_bot_id, \
    COALESCE(mg.name, b.name) AS author_name, \
    m.kind, m.body, m.event, m.quote_message_id, q.body AS quote_body, m.status, m.failure_reason, m.created_at, \
    m.edited_at, m.deleted_at, m.external_id, m.buttons \
    FROM messages m LEFT JOIN managers mg ON mg.id = m.author_manager_id LEFT JOIN bots b ON b.id = m.author_bot_id \
    LEFT JOIN messages q ON q.id = m.quote_message_id";

fn message_from(r: &SqlRow) -> CoreResult<MessageView> {
    let author = match r.text("author_kind")?.as_str() {
        "client" => MessageAuthor::Client,
        "manager" => match r.opt_i64("author_manager_id")? {
            Some(id) => MessageAuthor::Manager {
                id: ManagerId(id),
                name: r.opt_text("author_name")?.unwrap_or_default(),
            },
            None => MessageAuthor::Company,
        },
        "bot" => MessageAuthor::Bot {
            id: BotId(r.opt_i64("author_bot_id")?.unwrap_or(0)),
            name: r.opt_text("author_name")?.unwrap_or_default(),
        },
        _ => MessageAuthor::System,
    };
    let event = r
        .opt_text("event")?
        .map(|e| serde_json::from_str(&e))
        .transpose()
        .map_err(|e| CoreError::Storage(e.to_string()))?;
    let quote = match r.opt_i64("quote_message_id")? {
        Some(q) => Some(QuoteRef {
            id: MessageId(q),
            body: r.opt_text("quote_body")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(MessageView {
        id: MessageId(r.i64("id")?),
        dialog_id: DialogId(r.i64("dialog_id")?),
        seq: r.i64("seq")?,
        author,
        kind: r.parsed("kind", MessageKind::parse)?,
        body: if r.opt_i64("deleted_at")?.is_some() {
            String::new()
        } else {
            r.text("body")?
        },
        event,
        quote,
        status: r
            .opt_text("status")?
            .as_deref()
            .and_then(DeliveryStatus::parse),
        failure_reason: r.opt_text("failure_reason")?,
        created_at: r.ts("created_at")?,
        edited_at: r.opt_ts("edited_at")?,
        deleted_at: r.opt_ts("deleted_at")?,
        attachments: Vec::new(),
        external_id: r.opt_text("external_id")?,
        buttons: buttons_of(r.opt_text("buttons")?)?,
    })
}

/// A message's quick-reply labels, kept as a JSON array.
pub(super) fn buttons_of(raw: Option<String>) -> CoreResult<Vec<String>> {
    raw.map(|b| serde_json::from_str(&b))
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|e| CoreError::Storage(e.to_string()))
}

/// A dialog row as one manager sees it ($1 is that manager), from `from`, which names the
/// dialogs `d` (the dialogs table, or a table that leads to it); callers add WHERE and ORDER BY.
pub(super) fn dialog_select(from: &str) -> String {
    format!(
        "SELECT d.id, d.status, d.responsible_manager_id, d.responsible_bot_id, d.last_activity_at, \
           d.last_message_preview, d.last_message_author, d.waiting_since, d.client_count, d.read_baseline_client_count, \
           c.id AS channel_id, c.kind AS channel_kind, c.name AS channel_name, d.client_id, cl.name AS client_name, \
           COALESCE(cl.photo_url, ct.avatar_url) AS photo_url, \
           cl.blocked_at, ct.name AS contact_name, ct.nickname, r.read_client_count, r.marked_unread, dr.body AS draft, \
           c.warning_secs AS channel_warning, c.danger_secs AS channel_danger, s.warning_secs, s.danger_secs \
         FROM {from} JOIN channels c ON c.id = d.channel_id JOIN contacts ct ON ct.id = d.contact_id \
           CROSS JOIN chat_settings s \
           LEFT JOIN clients cl ON cl.id = d.client_id \
           LEFT JOIN read_states r ON r.dialog_id = d.id AND r.manager_id = $1 \
           LEFT JOIN drafts dr ON dr.dialog_id = d.id AND dr.manager_id = $1"
    )
}

/// The limits that apply to a dialog (F34), from its channel's (`channel_warning`,
/// `channel_danger`) and the default ones (`warning_secs`, `danger_secs`) in one row.
pub(super) fn time_limits_of(r: &SqlRow) -> CoreResult<TimeLimits> {
    Ok(TimeLimits {
        warning_secs: r.opt_i64("channel_warning")?,
        danger_secs: r.opt_i64("channel_danger")?,
    }
    .over(TimeLimits {
        warning_secs: r.opt_i64("warning_secs")?,
        danger_secs: r.opt_i64("danger_secs")?,
    }))
}

/// A row of [`dialog_select`]; the client's tags are filled in by the caller.
pub(super) fn dialog_from(r: &SqlRow, now: Timestamp) -> CoreResult<DialogView> {
    let responsible = join(
        r.opt_i64("responsible_manager_id")?,
        r.opt_i64("responsible_bot_id")?,
    );
    let time_limits = time_limits_of(r)?;
    let waiting_since = r.opt_ts("waiting_since")?;
    let (waiting_level, waiting_level_changes_at) = time_limits.waiting(waiting_since, now);
    let read = r
        .opt_i64("read_client_count")?
        .unwrap_or(0)
        .max(r.i64("read_baseline_client_count")?);
    let kind = r.text("channel_kind")?;
    let client = match r.opt_i64("client_id")? {
        Some(c) => Some(ClientRef {
            id: ClientId(c),
            name: r.opt_text("client_name")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(DialogView {
        id: DialogId(r.i64("id")?),
        channel: ChannelRef {
            id: ChannelId(r.i64("channel_id")?),
            kind: beseda_core::channel::ChannelKind::parse(&kind)
                .ok_or_else(|| CoreError::Storage(format!("channel kind {kind}")))?,
            name: r.text("channel_name")?,
        },
        client_blocked: client.is_some() && r.opt_i64("blocked_at")?.is_some(),
        reply_window_closes_at: None,
        client,
        photo_url: r.opt_text("photo_url")?,
        contact_name: r
            .opt_text("contact_name")?
            .or(r.opt_text("nickname")?)
            .unwrap_or_default(),
        open: r.text("status")? == "open",
        responsible,
        last_activity_at: r.ts("last_activity_at")?,
        last_message_preview: r.opt_text("last_message_preview")?,
        last_message_author: r.opt_parsed("last_message_author", AuthorKind::parse)?,
        waiting_since,
        time_limits,
        waiting_level,
        waiting_level_changes_at,
        client_tags: Vec::new(),
        unread_messages: (r.i64("client_count")? - read).max(0),
        marked_unread: r.opt_i64("marked_unread")?.is_some_and(|m| m != 0),
        draft: r.opt_text("draft")?,
    })
}

fn capabilities(raw: &str) -> CoreResult<Capabilities> {
    serde_json::from_str(raw).map_err(|e| CoreError::Storage(format!("channel capabilities: {e}")))
}

impl SqlStore {
    pub(super) async fn read_dialog_access(
        &self,
        id: DialogId,
    ) -> CoreResult<Option<DialogAccess>> {
        let Some(r) = self
            .db
            .fetch_optional(
                "SELECT d.id, d.channel_id, d.status, d.responsible_manager_id, d.responsible_bot_id, d.client_id, cl.blocked_at, c.capabilities, \
                   (SELECT m.created_at FROM messages m WHERE m.dialog_id = d.id AND m.seq = d.last_client_seq) AS last_client_at \
                 FROM dialogs d JOIN channels c ON c.id = d.channel_id LEFT JOIN clients cl ON cl.id = d.client_id \
                 WHERE d.id = $1 AND d.deleted_at IS NULL",
                params![id],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(DialogAccess {
            id,
            channel_id: ChannelId(r.i64("channel_id")?),
            responsible: join(
                r.opt_i64("responsible_manager_id")?,
                r.opt_i64("responsible_bot_id")?,
            ),
            open: r.text("status")? == "open",
            client_id: r.opt_i64("client_id")?.map(ClientId),
            client_blocked: r.opt_i64("blocked_at")?.is_some(),
            capabilities: capabilities(&r.text("capabilities")?)?,
            last_client_at: r.opt_ts("last_client_at")?,
        }))
    }

    pub(super) async fn read_dialog_view(
        &self,
        id: DialogId,
        viewer: Viewer,
        now: Timestamp,
    ) -> CoreResult<Option<DialogView>> {
        let sql = format!(
            "{} WHERE d.id = $2 AND d.deleted_at IS NULL",
            dialog_select("dialogs d")
        );
        let Some(r) = self
            .db
            .fetch_optional(&sql, params![viewer.manager, id])
            .await?
        else {
            return Ok(None);
        };
        let view = dialog_from(&r, now)?;
        if !viewer.may_see(view.responsible) {
            return Ok(None);
        }
        // Its client's tags come as the list's rows get theirs.
        let mut one = [view];
        self.fill_tags(&mut one).await?;
        let [view] = one;
        Ok(Some(view))
    }

    pub(super) async fn read_feed(
        &self,
        id: DialogId,
        page: FeedPage,
        limit: u32,
    ) -> CoreResult<Vec<MessageView>> {
        let limit = i64::from(limit);
        let seq_of = "(SELECT seq FROM messages WHERE id = $2)";
        let (sql, newest_first, params) = match page {
            FeedPage::Latest => (
                format!(
                    "SELECT {MESSAGE_COLUMNS} WHERE m.dialog_id = $1 ORDER BY m.seq DESC LIMIT $2"
                ),
                true,
                params![id, limit].to_vec(),
            ),
            FeedPage::Before(m) => (
                format!(
                    "SELECT {MESSAGE_COLUMNS} WHERE m.dialog_id = $1 AND m.seq < {seq_of} ORDER BY m.seq DESC LIMIT $3"
                ),
                true,
                params![id, m, limit].to_vec(),
            ),
            FeedPage::After(m) => (
                format!(
                    "SELECT {MESSAGE_COLUMNS} WHERE m.dialog_id = $1 AND m.seq > {seq_of} ORDER BY m.seq LIMIT $3"
                ),
                false,
                params![id, m, limit].to_vec(),
            ),
            FeedPage::Around(m) => {
                // Half the page before the message; the message and the rest after it.
                let before = format!(
                    "SELECT {MESSAGE_COLUMNS} WHERE m.dialog_id = $1 AND m.seq < {seq_of} ORDER BY m.seq DESC LIMIT $3"
                );
                let from = format!(
                    "SELECT {MESSAGE_COLUMNS} WHERE m.dialog_id = $1 AND m.seq >= {seq_of} ORDER BY m.seq LIMIT $3"
                );
                let mut rows = self
                    .db
                    .fetch_all(&before, params![id, m, limit / 2])
                    .await?;
                rows.reverse();
                rows.extend(
                    self.db
                        .fetch_all(&from, params![id, m, limit - limit / 2])
                        .await?,
                );
                let mut out = rows
                    .iter()
                    .map(message_from)
                    .collect::<CoreResult<Vec<_>>>()?;
                self.attach_files(&mut out).await?;
                return Ok(out);
            }
            FeedPage::Since(t) => (
                format!(
                    "SELECT {MESSAGE_COLUMNS} WHERE m.dialog_id = $1 AND m.created_at >= $2 ORDER BY m.seq LIMIT $3"
                ),
                false,
                params![id, t, limit].to_vec(),
            ),
        };
        let rows = self.db.fetch_all(&sql, &params).await?;
        let mut out = rows
            .iter()
            .map(message_from)
            .collect::<CoreResult<Vec<_>>>()?;
        if newest_first {
            out.reverse();
        }
        self.attach_files(&mut out).await?;
        Ok(out)
    }

    /// F02. Administrators (who see every dialog) count what they have *read*: dialogs unread
    /// by default, minus those they caught up on, plus those they marked unread that are read
    /// by default (DESIGN.md §4a). Others count their own and the unassigned dialogs.
    pub(super) async fn read_counters(&self, viewer: Viewer) -> CoreResult<Counters> {
        let row = if viewer.sees_all {
            self.db
                .fetch_one(
                    "SELECT (SELECT value FROM counters WHERE name = 'dialogs_unread_by_default') \
                       - COALESCE((SELECT caught_up FROM manager_counters WHERE manager_id = $1), 0) \
                       + (SELECT COUNT(*) FROM read_states r JOIN dialogs d ON d.id = r.dialog_id \
                          WHERE r.manager_id = $1 AND r.marked_unread AND d.deleted_at IS NULL \
                            AND d.client_count <= d.read_baseline_client_count) AS unread",
                    params![viewer.manager],
                )
                .await?
        } else {
            // Unread: client messages past the baseline that this manager has not read, or
            // marked unread. Counted in parts so that each walks a small index: the dialogs
            // unread by default (few: most history is read) that are the manager's own, those
            // unassigned (the two halves of `visibility::visible`, each a range of
            // `dialogs_unread_by_default`), and the marks.
            let visible = visibility::visible(viewer);
            let unread_by_default = |holder: &str| {
                format!(
                    "(SELECT COUNT(*) FROM dialogs d LEFT JOIN read_states r ON r.dialog_id = d.id AND r.manager_id = $1 \
                       WHERE d.deleted_at IS NULL AND d.client_count > d.read_baseline_client_count AND {holder} \
                         AND d.client_count > COALESCE(r.read_client_count, 0))"
                )
            };
            let sql = format!(
                "SELECT {} + {} \
                 + (SELECT COUNT(*) FROM read_states r JOIN dialogs d ON d.id = r.dialog_id \
                   WHERE r.manager_id = $1 AND r.marked_unread AND d.deleted_at IS NULL AND {visible} \
                     AND NOT (d.client_count > d.read_baseline_client_count AND d.client_count > r.read_client_count)) AS unread",
                unread_by_default(visibility::OWN),
                unread_by_default(visibility::UNASSIGNED),
            );
            self.db.fetch_one(&sql, params![viewer.manager]).await?
        };
        Ok(Counters {
            unread_dialogs: row.i64("unread")?,
        })
    }
}

impl SqlStore {
    /// One message as the feed shows it, read inside a writing transaction.
    pub(super) async fn message_in_tx(
        &self,
        tx: &mut Box<dyn crate::driver::SqlTx>,
        id: MessageId,
    ) -> CoreResult<MessageView> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} WHERE m.id = $1");
        let mut m = message_from(&tx.fetch_one(&sql, params![id]).await?)?;
        super::attachments::attach_files_in_tx(tx, &mut m).await?;
        Ok(m)
    }
}

//! Steps shared by the dialog writes, each inside the caller's transaction: lock the dialog,
//! check the guard, add a message, move the read state, describe the dialog for events.

use super::events::join;
use super::params;
use crate::driver::SqlTx;
use beseda_core::attachment::{Uploader, preview_of};
use beseda_core::company::PREVIEW_CHARS;
use beseda_core::dialog::{
    AuthorKind, DeliveryStatus, MessageAuthor, MessageKind, MessageView, QuoteRef, Responsible,
};
use beseda_core::event::{DialogKeys, DomainEvent};
use beseda_core::ids::{AttachmentId, ClientId, DialogId, ManagerId, MessageId};
use beseda_core::rules::DialogState;
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};

/// A dialog row, locked for the rest of the transaction.
#[derive(Clone, Debug)]
pub(crate) struct Locked {
    pub id: DialogId,
    pub channel_id: i64,
    pub client_id: Option<ClientId>,
    pub open: bool,
    pub responsible: Option<Responsible>,
    pub last_seq: i64,
    pub client_count: i64,
    pub baseline: i64,
    pub waiting_since: Option<Timestamp>,
}

impl Locked {
    /// What the core's rules decide a write from.
    pub fn state(&self) -> DialogState {
        DialogState {
            id: self.id,
            open: self.open,
            responsible: self.responsible,
            client_id: self.client_id,
            waiting_since: self.waiting_since,
        }
    }

    /// Unread for a manager who has no read state: it has client messages past the baseline.
    pub fn unread_by_default(&self) -> bool {
        self.client_count > self.baseline
    }
}

/// Locks a dialog that is not deleted. Writing the row takes its lock on PostgreSQL; on SQLite
/// the transaction already holds the database's write lock. Every write on a dialog starts
/// here, so writes on one dialog never interleave.
pub(crate) async fn lock(tx: &mut Box<dyn SqlTx>, id: DialogId) -> CoreResult<Locked> {
    let r = tx
        .fetch_optional(
            "UPDATE dialogs SET last_seq = last_seq WHERE id = $1 AND deleted_at IS NULL \
             RETURNING id, channel_id, client_id, status, responsible_manager_id, responsible_bot_id, last_seq, client_count, \
               read_baseline_client_count, waiting_since",
            params![id],
        )
        .await?
        .ok_or(CoreError::NotFound("dialog"))?;
    Ok(Locked {
        id,
        channel_id: r.i64("channel_id")?,
        client_id: r.opt_i64("client_id")?.map(ClientId),
        open: r.text("status")? == "open",
        responsible: join(
            r.opt_i64("responsible_manager_id")?,
            r.opt_i64("responsible_bot_id")?,
        ),
        last_seq: r.i64("last_seq")?,
        client_count: r.i64("client_count")?,
        baseline: r.i64("read_baseline_client_count")?,
        waiting_since: r.opt_ts("waiting_since")?,
    })
}

/// Whether the dialog's client is blocked (F10).
pub(crate) async fn client_blocked(tx: &mut Box<dyn SqlTx>, d: &Locked) -> CoreResult<bool> {
    let Some(client) = d.client_id else {
        return Ok(false);
    };
    let r = tx
        .fetch_optional(
            "SELECT blocked_at FROM clients WHERE id = $1",
            params![client],
        )
        .await?;
    Ok(r.map(|r| r.opt_i64("blocked_at"))
        .transpose()?
        .flatten()
        .is_some())
}

/// A message to add to a dialog.
pub(crate) struct NewMessage<'a> {
    pub author: MessageAuthor,
    pub kind: MessageKind,
    pub body: &'a str,
    pub event: Option<DomainEvent>,
    pub quote: Option<MessageId>,
    pub external_id: Option<&'a str>,
    pub status: Option<DeliveryStatus>,
    pub created_at: Timestamp,
    /// For a client's message: the waiting mark the rules decided (F34).
    pub waiting_since: Option<Timestamp>,
    /// Unsent uploads the message takes, and whose they must be.
    pub files: &'a [AttachmentId],
    pub uploader: Option<Uploader>,
    /// Quick-reply labels (a bot's message, F37).
    pub buttons: &'a [String],
}

/// Adds a message with the next sequence number and moves the dialog's last-message keys.
pub(crate) async fn add_message(
    tx: &mut Box<dyn SqlTx>,
    d: &mut Locked,
    m: NewMessage<'_>,
    now: Timestamp,
) -> CoreResult<MessageView> {
    let seq = d.last_seq + 1;
    let (author_kind, author_manager, author_bot) = match &m.author {
        MessageAuthor::Client => (AuthorKind::Client, None, None),
        MessageAuthor::Manager { id, .. } => (AuthorKind::Manager, Some(*id), None),
        MessageAuthor::Company => (AuthorKind::Manager, None, None),
        MessageAuthor::Bot { id, .. } => (AuthorKind::Bot, None, Some(*id)),
        MessageAuthor::System => (AuthorKind::System, None, None),
    };
    let event_text = m
        .event
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    let buttons = match m.buttons {
        [] => None,
        labels => {
            Some(serde_json::to_string(labels).map_err(|e| CoreError::Internal(e.to_string()))?)
        }
    };
    let row = tx
        .fetch_one(
            "INSERT INTO messages (dialog_id, channel_id, seq, author_kind, author_manager_id, author_bot_id, kind, body, event, \
               quote_message_id, external_id, status, created_at, buttons) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
            params![d.id, d.channel_id, seq, author_kind, author_manager, author_bot, m.kind, m.body, event_text, m.quote, m.external_id, m.status.map(DeliveryStatus::as_str), m.created_at, buttons],
        )
        .await
        .map_err(super::conflict_on_unique("message_exists", "a message with this external id on this channel"))?;
    let id = MessageId(row.i64("id")?);
    d.last_seq = seq;
    let attachments = match (m.files, m.uploader) {
        ([], _) => Vec::new(),
        (files, Some(uploader)) => super::attachments::bind(tx, files, id, d.id, uploader).await?,
        (_, None) => return Err(CoreError::Internal("files without an uploader".into())),
    };
    let mut kind = m.kind;
    let preview: String = if m.body.is_empty() && !attachments.is_empty() {
        // A message of files only: the dialog row and the feed name its first file.
        kind = attachments[0].kind.into();
        tx.execute(
            "UPDATE messages SET kind = $2 WHERE id = $1",
            params![id, kind],
        )
        .await?;
        preview_of(&attachments)
    } else {
        m.body.chars().take(PREVIEW_CHARS).collect()
    };
    // A client message also moves the client's keys: one statement for both (the hot path).
    // A system event (opened, closed, reassigned) is in the feed but is not the dialog's last
    // message: the row's preview, author, activity and sort keys stay (F12, F20, F21).
    let from_client = matches!(m.author, MessageAuthor::Client);
    if matches!(m.author, MessageAuthor::System) {
        tx.execute(
            "UPDATE dialogs SET last_seq = $2 WHERE id = $1",
            params![d.id, seq],
        )
        .await?;
    } else {
        tx.execute(
        "UPDATE dialogs SET last_seq = $2, last_message_id = $3, last_message_author = $4, last_message_preview = $5, \
           last_activity_at = $6, \
           last_client_seq = CASE WHEN $7 THEN $2 ELSE last_client_seq END, \
           client_count = CASE WHEN $7 THEN client_count + 1 ELSE client_count END, \
           waiting_since = CASE WHEN $7 THEN $8 ELSE waiting_since END, \
           next_waiting_change_at = CASE WHEN $7 AND waiting_since IS NULL THEN $8 ELSE next_waiting_change_at END \
         WHERE id = $1",
        params![d.id, seq, id, author_kind, preview, now, from_client, m.waiting_since],
    )
    .await?;
    }
    if from_client {
        d.client_count += 1;
        d.waiting_since = m.waiting_since;
    }
    let quote = match m.quote {
        Some(q) => {
            let r = tx
                .fetch_one("SELECT body FROM messages WHERE id = $1", params![q])
                .await?;
            Some(QuoteRef {
                id: q,
                body: r.text("body")?,
            })
        }
        None => None,
    };
    Ok(MessageView {
        id,
        dialog_id: d.id,
        seq,
        author: m.author,
        kind,
        body: m.body.to_owned(),
        event: m.event.map(Box::new),
        quote,
        status: m.status,
        failure_reason: None,
        created_at: m.created_at,
        edited_at: None,
        deleted_at: None,
        attachments,
        external_id: m.external_id.map(str::to_owned),
        buttons: m.buttons.to_vec(),
    })
}

/// A system line in the feed (F17) that records a dialog event: reopened, closed, reassigned…
pub(crate) async fn add_system_message(
    tx: &mut Box<dyn SqlTx>,
    d: &mut Locked,
    event: DomainEvent,
    now: Timestamp,
) -> CoreResult<MessageView> {
    let m = NewMessage {
        author: MessageAuthor::System,
        kind: MessageKind::Event,
        body: "",
        event: Some(event),
        quote: None,
        external_id: None,
        status: None,
        created_at: now,
        waiting_since: None,
        files: &[],
        uploader: None,
        buttons: &[],
    };
    add_message(tx, d, m, now).await
}

/// The company answered, or the dialog closed: the client no longer waits (F34).
pub(crate) async fn stop_waiting(tx: &mut Box<dyn SqlTx>, d: &mut Locked) -> CoreResult<()> {
    tx.execute(
        &format!(
            "UPDATE dialogs SET {} WHERE id = $1",
            super::timers::STOP_WAITING
        ),
        params![d.id],
    )
    .await?;
    d.waiting_since = None;
    Ok(())
}

/// A manager or a bot, with their name, for the feed.
pub(crate) async fn author(tx: &mut Box<dyn SqlTx>, who: Responsible) -> CoreResult<MessageAuthor> {
    match who {
        Responsible::Manager(m) => manager_author(tx, m).await,
        Responsible::Bot(id) => {
            let r = tx
                .fetch_one("SELECT name FROM bots WHERE id = $1", params![id])
                .await?;
            Ok(MessageAuthor::Bot {
                id,
                name: r.text("name")?,
            })
        }
    }
}

/// The manager's name, for the feed.
pub(crate) async fn manager_author(
    tx: &mut Box<dyn SqlTx>,
    id: ManagerId,
) -> CoreResult<MessageAuthor> {
    let r = tx
        .fetch_one("SELECT name FROM managers WHERE id = $1", params![id])
        .await?;
    Ok(MessageAuthor::Manager {
        id,
        name: r.text("name")?,
    })
}

/// Adds `delta` to a manager's count of caught-up dialogs.
async fn move_caught_up(tx: &mut Box<dyn SqlTx>, manager: i64, delta: i64) -> CoreResult<()> {
    tx.execute("INSERT INTO manager_counters (manager_id, caught_up) VALUES ($1, 0) ON CONFLICT (manager_id) DO NOTHING", params![manager])
        .await?;
    tx.execute(
        "UPDATE manager_counters SET caught_up = caught_up + $2 WHERE manager_id = $1",
        params![manager, delta],
    )
    .await?;
    Ok(())
}

/// Sets one manager's read state; keeps the caught-up counter in step (DESIGN.md §4a).
pub(crate) async fn set_read_state(
    tx: &mut Box<dyn SqlTx>,
    d: &Locked,
    manager: ManagerId,
    read_all: bool,
) -> CoreResult<()> {
    let prev = tx
        .fetch_optional("SELECT read_client_count, counted FROM read_states WHERE manager_id = $1 AND dialog_id = $2", params![manager, d.id])
        .await?;
    let was_counted = prev
        .as_ref()
        .map(|r| r.bool("counted"))
        .transpose()?
        .unwrap_or(false);
    let read_count = if read_all {
        d.client_count
    } else {
        prev.as_ref()
            .map(|r| r.i64("read_client_count"))
            .transpose()?
            .unwrap_or(0)
    };
    let counted = read_all && d.unread_by_default();
    tx.execute(
        "INSERT INTO read_states (manager_id, dialog_id, read_client_count, marked_unread, counted) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (manager_id, dialog_id) DO UPDATE SET read_client_count = excluded.read_client_count, \
           marked_unread = excluded.marked_unread, counted = excluded.counted",
        params![manager, d.id, read_count, !read_all, counted],
    )
    .await?;
    if counted != was_counted {
        move_caught_up(tx, manager.0, if counted { 1 } else { -1 }).await?;
    }
    Ok(())
}

/// A new client message: nobody is caught up on the dialog any more.
pub(crate) async fn nobody_caught_up(tx: &mut Box<dyn SqlTx>, d: &Locked) -> CoreResult<()> {
    let rows = tx
        .fetch_all("UPDATE read_states SET counted = $2 WHERE dialog_id = $1 AND counted RETURNING manager_id", params![d.id, false])
        .await?;
    for r in rows {
        move_caught_up(tx, r.i64("manager_id")?, -1).await?;
    }
    Ok(())
}

/// The dialog's keys as the events carry them, read after the change.
pub(crate) async fn dialog_keys(tx: &mut Box<dyn SqlTx>, id: DialogId) -> CoreResult<DialogKeys> {
    let r = tx
        .fetch_one(
            "SELECT status, responsible_manager_id, responsible_bot_id, client_id, last_activity_at, last_message_preview, \
               last_message_author, waiting_since FROM dialogs WHERE id = $1",
            params![id],
        )
        .await?;
    Ok(DialogKeys {
        id,
        open: r.text("status")? == "open",
        responsible: join(
            r.opt_i64("responsible_manager_id")?,
            r.opt_i64("responsible_bot_id")?,
        ),
        client_id: r.opt_i64("client_id")?.map(ClientId),
        last_activity_at: r.ts("last_activity_at")?,
        last_message_preview: r.opt_text("last_message_preview")?,
        last_message_author: r.opt_parsed("last_message_author", AuthorKind::parse)?,
        waiting_since: r.opt_ts("waiting_since")?,
    })
}

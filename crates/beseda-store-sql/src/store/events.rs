//! The event log: appended inside the writing transaction, read back for reconnecting clients.

use super::params;
use crate::driver::{SqlDb, SqlRow, SqlTx};
use beseda_core::dialog::Responsible;
use beseda_core::event::{Audience, DomainEvent, Event, EventId, NewEvent};
use beseda_core::ids::{BotId, DialogId, ManagerId};
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};

fn split(r: Option<Responsible>) -> (Option<ManagerId>, Option<BotId>) {
    match r {
        Some(Responsible::Manager(m)) => (Some(m), None),
        Some(Responsible::Bot(b)) => (None, Some(b)),
        None => (None, None),
    }
}

pub(crate) fn join(manager: Option<i64>, bot: Option<i64>) -> Option<Responsible> {
    match (manager, bot) {
        (Some(m), _) => Some(Responsible::Manager(ManagerId(m))),
        (None, Some(b)) => Some(Responsible::Bot(BotId(b))),
        (None, None) => None,
    }
}

/// Appends events in the caller's transaction; they are published after its commit.
pub(crate) async fn append(
    tx: &mut Box<dyn SqlTx>,
    events: Vec<NewEvent>,
    now: Timestamp,
) -> CoreResult<Vec<Event>> {
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let (audience, person, after, before) = match e.audience {
            Audience::Manager(m) => ("manager", Some(m), None, None),
            Audience::Dialog(r) => ("dialog", None, r, None),
            Audience::Left { before, after } => ("left", None, after, before),
            Audience::Everyone => ("everyone", None, None, None),
            Audience::Audit => ("audit", None, None, None),
        };
        let ((rm, rb), (pm, pb)) = (split(after), split(before));
        let (kind, payload) = e.event.to_parts();
        let row = tx
            .fetch_one(
                "INSERT INTO events (kind, dialog_id, audience, audience_manager_id, responsible_manager_id, responsible_bot_id, \
                   previous_manager_id, previous_bot_id, payload, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                params![kind.as_str(), e.dialog_id, audience, person, rm, rb, pm, pb, payload.as_str(), now],
            )
            .await?;
        let id = EventId(row.i64("id")?);
        out.push(Event {
            id,
            json: Event::encode(id, &kind, e.dialog_id, &payload),
            event: e.event,
            dialog_id: e.dialog_id,
            audience: e.audience,
            created_at: now,
        });
    }
    Ok(out)
}

pub(super) fn event_from(r: &SqlRow) -> CoreResult<Event> {
    let id = EventId(r.i64("id")?);
    let kind = r.text("kind")?;
    let dialog_id = r.opt_i64("dialog_id")?.map(DialogId);
    let after = join(
        r.opt_i64("responsible_manager_id")?,
        r.opt_i64("responsible_bot_id")?,
    );
    let audience = match r.text("audience")?.as_str() {
        "manager" => Audience::Manager(ManagerId(r.i64("audience_manager_id")?)),
        "dialog" => Audience::Dialog(after),
        "left" => Audience::Left {
            before: join(
                r.opt_i64("previous_manager_id")?,
                r.opt_i64("previous_bot_id")?,
            ),
            after,
        },
        "everyone" => Audience::Everyone,
        "audit" => Audience::Audit,
        other => {
            return Err(CoreError::Storage(format!(
                "unknown event audience {other}"
            )));
        }
    };
    let payload = r.text("payload")?;
    let event = DomainEvent::from_parts(&kind, &payload)
        .map_err(|e| CoreError::Storage(format!("event {}: {e}", id.0)))?;
    Ok(Event {
        id,
        json: Event::encode(id, &kind, dialog_id, &payload),
        event,
        dialog_id,
        audience,
        created_at: r.ts("created_at")?,
    })
}

pub(crate) async fn after(
    db: &dyn SqlDb,
    dialog: Option<DialogId>,
    after: EventId,
    limit: u32,
) -> CoreResult<Option<Vec<Event>>> {
    let only = if dialog.is_some() {
        "AND dialog_id = $3"
    } else {
        "AND $3 IS NULL"
    };
    let sql = format!(
        "SELECT id, kind, dialog_id, audience, audience_manager_id, responsible_manager_id, responsible_bot_id, \
           previous_manager_id, previous_bot_id, payload, created_at FROM events WHERE id > $1 {only} ORDER BY id LIMIT $2"
    );
    let rows = db
        .fetch_all(&sql, params![after.0, i64::from(limit), dialog])
        .await?;
    // Read after the events: a prune that ran before them has moved the mark by now.
    if db.fetch_one(PRUNED_THROUGH, &[]).await?.i64("value")? > after.0 {
        return Ok(None);
    }
    rows.iter()
        .map(event_from)
        .collect::<CoreResult<_>>()
        .map(Some)
}

/// The newest event id pruned: replay from before it is impossible.
const PRUNED_THROUGH: &str = "SELECT value FROM counters WHERE name = 'events_pruned_through'";

/// Deletes the events made before `before`. The mark a replay checks moves first, so a reader
/// never meets a gap it is not told about; then the events go in batches, each a short
/// statement, however long the log.
pub(crate) async fn prune(db: &dyn SqlDb, before: Timestamp) -> CoreResult<u64> {
    let mut tx = db.begin().await?;
    let newest_old = tx
        .fetch_one(
            "SELECT MAX(id) AS id FROM events WHERE created_at < $1",
            params![before],
        )
        .await?
        .opt_i64("id")?;
    let Some(mut through) = newest_old else {
        return Ok(0);
    };
    // A bot's webhook that is behind keeps what it has yet to take (F37: no event is lost).
    let waiting = tx
        .fetch_one(
            "SELECT MIN(delivered_up_to) AS up_to FROM bots WHERE active AND webhook_url IS NOT NULL",
            &[],
        )
        .await?
        .opt_i64("up_to")?;
    if let Some(up_to) = waiting {
        through = through.min(up_to);
    }
    if through <= tx.fetch_one(PRUNED_THROUGH, &[]).await?.i64("value")? {
        return Ok(0);
    }
    tx.execute(
        "UPDATE counters SET value = $1 WHERE name = 'events_pruned_through'",
        params![through],
    )
    .await?;
    tx.commit().await?;
    let mut gone = 0;
    loop {
        let batch = db
            .execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= $1 ORDER BY id LIMIT 10000)",
                params![through],
            )
            .await?;
        gone += batch;
        if batch < 10_000 {
            return Ok(gone);
        }
    }
}

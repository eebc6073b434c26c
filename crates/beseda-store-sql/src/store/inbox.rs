//! The dialog list at scale (F06, F12, F19–F24): filters as SQL over the dialogs' own sort
//! keys, keyset pages, tag counts, search, and deleting dialogs. Who may see a dialog is
//! written once here, in [`visible`], and every query of the list goes through it.

use super::dialogs::{commit, event};
use super::feed::{dialog_from, dialog_select};
use super::library::{client_tags_from, tag_from};
use super::{SqlStore, dialog_tx as dtx, events, params, visibility};
use crate::driver::SqlValue;
use async_trait::async_trait;
use beseda_core::channel::ChannelKind;
use beseda_core::dialog::{DialogView, Viewer};
use beseda_core::event::DomainEvent;
use beseda_core::ids::{ChannelId, ClientId, DialogId, ManagerId, MessageId, TagId};
use beseda_core::inbox::{
    BotFilter, ChannelOption, Cursor, DialogFilter, DialogQuery, DialogSort, Holder, LastFrom,
    MessageHit, TagCount, TagFilter, context_of,
};
use beseda_core::store::{InboxStore, Written};
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};

/// A WHERE clause being built, with its parameters; `$1` is always the viewing manager.
struct Clause {
    parts: Vec<String>,
    params: Vec<SqlValue>,
    sees_all: bool,
}

impl Clause {
    fn new(viewer: Viewer) -> Clause {
        let mut c = Clause::bare(viewer);
        c.parts.push(visibility::visible(viewer));
        c
    }

    /// For a walk of one tag's rows (`dt`): [`visible`] read off the row's holder, which the
    /// triggers of migration 0005 keep equal to the dialog's, so the planner needs no dialog
    /// to decide; `tag` is the walked tag.
    fn walking(viewer: Viewer, tag: TagId, pinned: bool) -> Clause {
        let mut c = Clause::bare(viewer);
        let t = c.bind(tag);
        c.parts.push(format!("dt.tag_id = {t}"));
        if pinned {
            c.parts.push("dt.pinned".into());
        }
        c.parts.extend(visibility::visible_holder(viewer, "dt"));
        c
    }

    fn bare(viewer: Viewer) -> Clause {
        Clause {
            parts: vec!["d.deleted_at IS NULL".into()],
            params: vec![SqlValue::from(viewer.manager)],
            sees_all: viewer.sees_all,
        }
    }

    fn bind(&mut self, v: impl Into<SqlValue>) -> String {
        self.params.push(v.into());
        format!("${}", self.params.len())
    }

    fn list(&mut self, values: impl IntoIterator<Item = i64>) -> String {
        let marks: Vec<String> = values.into_iter().map(|v| self.bind(v)).collect();
        marks.join(", ")
    }

    fn sql(&self) -> String {
        self.parts.join(" AND ")
    }
}

/// Adds the filters of F21–F24, combined with AND; `walked` is a tag the clause walks already.
fn filter(c: &mut Clause, f: &DialogFilter, walked: Option<TagId>) {
    if !f.holders.is_empty() {
        let managers: Vec<i64> = f
            .holders
            .iter()
            .filter_map(|h| match h {
                Holder::Manager(m) => Some(m.0),
                Holder::Nobody => None,
            })
            .collect();
        let mut any = Vec::new();
        if !managers.is_empty() {
            any.push(format!(
                "d.responsible_manager_id IN ({})",
                c.list(managers)
            ));
        }
        if f.holders.contains(&Holder::Nobody) {
            any.push(visibility::UNASSIGNED.into());
        }
        c.parts.push(format!("({})", any.join(" OR ")));
    }
    match &f.bots {
        None => {}
        // A manager who does not see everything sees no bot's dialog (`visible`): a constant
        // both planners answer before walking a single row.
        Some(_) if !c.sees_all => c.parts.push("FALSE".into()),
        Some(BotFilter::Any) => c.parts.push("d.responsible_bot_id IS NOT NULL".into()),
        Some(BotFilter::Some(ids)) => {
            let l = c.list(ids.iter().map(|b| b.0));
            c.parts.push(format!("d.responsible_bot_id IN ({l})"));
        }
    }
    if !f.channels.is_empty() {
        let l = c.list(f.channels.iter().map(|ch| ch.0));
        c.parts.push(format!("d.channel_id IN ({l})"));
    }
    if let Some(open) = f.open {
        c.parts.push(format!(
            "d.status = '{}'",
            if open { "open" } else { "closed" }
        ));
    }
    match f.last_from {
        None => {}
        Some(LastFrom::Client) => c.parts.push("d.last_message_author = 'client'".into()),
        Some(LastFrom::Company) => c
            .parts
            .push("d.last_message_author IN ('manager', 'bot')".into()),
    }
    if let Some((from, to)) = f.period {
        // A dialog last active before the period has no message in it: the cheap test first.
        let (a, b) = (c.bind(from), c.bind(to));
        c.parts.push(format!(
            "d.last_activity_at >= {a} AND EXISTS (SELECT 1 FROM messages pm WHERE pm.dialog_id = d.id \
             AND pm.created_at >= {a} AND pm.created_at < {b} AND pm.author_kind <> 'system')"
        ));
    }
    // The tags' own rows (migration 0005): one per dialog and tag, so each test is a key lookup.
    let pinned = if f.pinned { " AND t.pinned" } else { "" };
    let has_tag = |t: &str| {
        format!(
            "EXISTS (SELECT 1 FROM dialog_tags t WHERE t.dialog_id = d.id AND t.tag_id = {t}{pinned})"
        )
    };
    match &f.tags {
        TagFilter::NoTags => c
            .parts
            .push("NOT EXISTS (SELECT 1 FROM dialog_tags t WHERE t.dialog_id = d.id)".into()),
        TagFilter::All if f.pinned => c.parts.push(
            "EXISTS (SELECT 1 FROM dialog_tags t WHERE t.dialog_id = d.id AND t.pinned)".into(),
        ),
        TagFilter::All => {}
        TagFilter::AllOf(tags) => {
            for tag in tags.iter().filter(|t| Some(**t) != walked) {
                let t = c.bind(*tag);
                c.parts.push(has_tag(&t));
            }
        }
    }
}

/// One segment of a sort: its column, direction and the rows it covers.
struct Segment {
    only: &'static str,
    key: &'static str,
    descending: bool,
}

const BY_ACTIVITY: Segment = Segment {
    only: "TRUE",
    key: "d.last_activity_at",
    descending: true,
};
const WAITING: Segment = Segment {
    only: "d.waiting_since IS NOT NULL",
    key: "d.waiting_since",
    descending: false,
};
const NOT_WAITING: Segment = Segment {
    only: "d.waiting_since IS NULL",
    key: "d.last_activity_at",
    descending: true,
};

fn segments(sort: DialogSort) -> &'static [Segment] {
    match sort {
        DialogSort::Activity => &[BY_ACTIVITY],
        DialogSort::Processing => &[WAITING, NOT_WAITING],
    }
}

fn key_of(view: &DialogView, seg: &Segment) -> i64 {
    if seg.key == "d.waiting_since" {
        view.waiting_since.map_or(0, |t| t.0)
    } else {
        view.last_activity_at.0
    }
}

impl SqlStore {
    /// Fills in the client tags of a page of rows: one query for the page.
    pub(super) async fn fill_tags(&self, rows: &mut [DialogView]) -> CoreResult<()> {
        let clients: Vec<i64> = rows
            .iter()
            .filter_map(|r| r.client.as_ref().map(|c| c.id.0))
            .collect();
        if clients.is_empty() {
            return Ok(());
        }
        let marks: Vec<String> = (1..=clients.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT ct.client_id, t.id, t.name, t.color, ct.pinned FROM client_tags ct JOIN tags t ON t.id = ct.tag_id \
             WHERE ct.client_id IN ({}) ORDER BY ct.pinned DESC, t.name",
            marks.join(", ")
        );
        let params: Vec<SqlValue> = clients.into_iter().map(SqlValue::from).collect();
        let found = self.db.fetch_all(&sql, &params).await?;
        for (r, tag) in found.iter().zip(client_tags_from(&found)?) {
            let client = ClientId(r.i64("client_id")?);
            for row in rows
                .iter_mut()
                .filter(|v| v.client.as_ref().map(|c| c.id) == Some(client))
            {
                row.client_tags.push(tag.clone());
            }
        }
        Ok(())
    }

    /// The tag of `tags` with the fewest dialogs: the one a tag filter walks (AND of the rest).
    async fn rarest_tag(&self, tags: &[TagId]) -> CoreResult<TagId> {
        let marks: Vec<String> = (1..=tags.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT t.id, CAST(COALESCE(SUM(tc.dialogs), 0) AS BIGINT) AS n FROM tags t \
               LEFT JOIN tag_counters tc ON tc.tag_id = t.id \
             WHERE t.id IN ({}) GROUP BY t.id ORDER BY n, t.id LIMIT 1",
            marks.join(", ")
        );
        let params: Vec<SqlValue> = tags.iter().map(|t| SqlValue::from(*t)).collect();
        Ok(match self.db.fetch_optional(&sql, &params).await? {
            Some(r) => TagId(r.i64("id")?),
            None => tags[0],
        })
    }

    /// Rows of one sort segment after `after`, at most `limit`.
    async fn segment_rows(
        &self,
        q: &DialogQuery,
        viewer: Viewer,
        seg: &Segment,
        after: Option<&Cursor>,
        limit: u32,
        now: Timestamp,
    ) -> CoreResult<Vec<DialogView>> {
        // Newest first with a tag filter: walk that tag's own rows in their order, testing the
        // holder on them, rather than every dialog, testing each for the tag. With several
        // tags, the rarest is walked and the others tested.
        let walked = match &q.filter.tags {
            TagFilter::AllOf(tags) if !tags.is_empty() && seg.key == BY_ACTIVITY.key => {
                Some(if tags.len() == 1 {
                    tags[0]
                } else {
                    self.rarest_tag(tags).await?
                })
            }
            _ => None,
        };
        let (mut c, from, key, id) = match walked {
            Some(tag) => (
                Clause::walking(viewer, tag, q.filter.pinned),
                "dialog_tags dt JOIN dialogs d ON d.id = dt.dialog_id",
                "dt.last_activity_at",
                "dt.dialog_id",
            ),
            None => (Clause::new(viewer), "dialogs d", seg.key, "d.id"),
        };
        filter(&mut c, &q.filter, walked);
        c.parts.push(seg.only.into());
        let (cmp, dir) = if seg.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some(cur) = after {
            let (k, i) = (c.bind(cur.key), c.bind(cur.id));
            c.parts.push(format!(
                "({key} {cmp} {k} OR ({key} = {k} AND {id} {cmp} {i}))"
            ));
        }
        let lim = c.bind(i64::from(limit));
        let sql = format!(
            "{} WHERE {} ORDER BY {key} {dir}, {id} {dir} LIMIT {lim}",
            dialog_select(from),
            c.sql(),
        );
        self.db
            .fetch_all(&sql, &c.params)
            .await?
            .iter()
            .map(|r| dialog_from(r, now))
            .collect()
    }
}

#[async_trait]
impl InboxStore for SqlStore {
    async fn list_dialogs(
        &self,
        q: &DialogQuery,
        viewer: Viewer,
        now: Timestamp,
    ) -> CoreResult<(Vec<DialogView>, Option<Cursor>)> {
        let fingerprint = DialogQuery::fingerprint(&q.filter, q.sort);
        let segs = segments(q.sort);
        let mut rows: Vec<DialogView> = Vec::new();
        let first = q.after.map_or(0, |c| usize::from(c.segment));
        for (i, seg) in segs.iter().enumerate().skip(first) {
            let want = q.limit + 1 - u32::try_from(rows.len()).unwrap_or(u32::MAX);
            let after = q.after.as_ref().filter(|c| usize::from(c.segment) == i);
            let mut got = self.segment_rows(q, viewer, seg, after, want, now).await?;
            rows.append(&mut got);
            if rows.len() > q.limit as usize {
                break;
            }
        }
        let more = rows.len() > q.limit as usize;
        rows.truncate(q.limit as usize);
        let next = match rows.last() {
            Some(last) if more => {
                // The segment of the last row: the waiting ones come first in processing order.
                let seg_index = if q.sort == DialogSort::Processing && last.waiting_since.is_none()
                {
                    1
                } else {
                    0
                };
                Some(Cursor {
                    segment: seg_index,
                    key: key_of(last, &segs[usize::from(seg_index)]),
                    id: last.id,
                    fingerprint,
                })
            }
            _ => None,
        };
        self.fill_tags(&mut rows).await?;
        Ok((rows, next))
    }

    async fn matching_dialogs(
        &self,
        filter_: &DialogFilter,
        viewer: Viewer,
        after: Option<DialogId>,
        limit: u32,
    ) -> CoreResult<Vec<DialogId>> {
        let mut c = Clause::new(viewer);
        filter(&mut c, filter_, None);
        if let Some(a) = after {
            let id = c.bind(a);
            c.parts.push(format!("d.id > {id}"));
        }
        let lim = c.bind(i64::from(limit));
        let sql = format!(
            "SELECT d.id FROM dialogs d WHERE $1 = $1 AND {} ORDER BY d.id LIMIT {lim}",
            c.sql()
        );
        self.db
            .fetch_all(&sql, &c.params)
            .await?
            .iter()
            .map(|r| Ok(DialogId(r.i64("id")?)))
            .collect()
    }

    async fn tag_counts(&self, viewer: Viewer, pinned: bool) -> CoreResult<Vec<TagCount>> {
        // Maintained per tag and holder (migration 0005): a manager's sum is over their own
        // dialogs and the unassigned ones, as `visible` says.
        let holders = visibility::visible_holder(viewer, "tc")
            .map(|v| format!("AND {v}"))
            .unwrap_or_default();
        let column = if pinned { "tc.pinned" } else { "tc.dialogs" };
        let sql = format!(
            "SELECT t.id, t.name, t.color, CAST(COALESCE(SUM({column}), 0) AS BIGINT) AS dialogs FROM tags t \
               LEFT JOIN tag_counters tc ON tc.tag_id = t.id {holders} \
             WHERE $1 = $1 GROUP BY t.id, t.name, t.color ORDER BY dialogs DESC, t.name"
        );
        self.db
            .fetch_all(&sql, params![viewer.manager])
            .await?
            .iter()
            .map(|r| {
                let tag = tag_from(r)?;
                Ok(TagCount {
                    id: tag.id,
                    name: tag.name,
                    color: tag.color,
                    dialogs: r.i64("dialogs")?,
                })
            })
            .collect()
    }

    async fn channel_options(&self) -> CoreResult<Vec<ChannelOption>> {
        self.db
            .fetch_all("SELECT id, name, kind FROM channels ORDER BY name, id", &[])
            .await?
            .iter()
            .map(|r| {
                let kind = r.text("kind")?;
                Ok(ChannelOption {
                    id: ChannelId(r.i64("id")?),
                    name: r.text("name")?,
                    kind: ChannelKind::parse(&kind)
                        .ok_or_else(|| CoreError::Storage(format!("channel kind {kind}")))?,
                })
            })
            .collect()
    }

    async fn search_dialogs(
        &self,
        viewer: Viewer,
        text: &str,
        limit: u32,
        now: Timestamp,
    ) -> CoreResult<Vec<DialogView>> {
        // Channels are few: matched here, in any script's case.
        let needle = text.to_lowercase();
        let channels: Vec<ChannelId> = self
            .db
            .fetch_all("SELECT id, name FROM channels", &[])
            .await?
            .iter()
            .filter(|r| {
                r.text("name")
                    .is_ok_and(|n| n.to_lowercase().contains(&needle))
            })
            .map(|r| r.i64("id").map(ChannelId))
            .collect::<Result<_, _>>()?;
        let mut c = Clause::new(viewer);
        let contacts = self.search.contacts(&mut c.params, text);
        let by_channel = if channels.is_empty() {
            String::new()
        } else {
            format!(
                " OR d.channel_id IN ({})",
                c.list(channels.iter().map(|ch| ch.0))
            )
        };
        c.parts.push(format!("({contacts}{by_channel})"));
        let lim = c.bind(i64::from(limit));
        let sql = format!(
            "{} WHERE {} ORDER BY d.last_activity_at DESC, d.id DESC LIMIT {lim}",
            dialog_select("dialogs d"),
            c.sql()
        );
        let mut rows = self
            .db
            .fetch_all(&sql, &c.params)
            .await?
            .iter()
            .map(|r| dialog_from(r, now))
            .collect::<CoreResult<Vec<_>>>()?;
        self.fill_tags(&mut rows).await?;
        Ok(rows)
    }

    async fn search_messages(
        &self,
        viewer: Viewer,
        text: &str,
        before: Option<MessageId>,
        limit: u32,
    ) -> CoreResult<Vec<MessageHit>> {
        let mut c = Clause::new(viewer);
        let found = self.search.messages(&mut c.params, text);
        c.parts.push(found.matches);
        c.parts.push("m.deleted_at IS NULL".into());
        if let Some(b) = before {
            let b = c.bind(b);
            c.parts.push(format!("m.id < {b}"));
        }
        let lim = c.bind(i64::from(limit));
        let sql = format!(
            "SELECT m.id, m.dialog_id, m.body, m.created_at, COALESCE(ct.name, ct.nickname, '') AS contact_name, ch.name AS channel_name \
             FROM {} JOIN dialogs d ON d.id = m.dialog_id JOIN contacts ct ON ct.id = d.contact_id \
               JOIN channels ch ON ch.id = d.channel_id \
             WHERE $1 = $1 AND {} ORDER BY {} DESC LIMIT {lim}",
            found.from,
            c.sql(),
            found.newest_first_by
        );
        self.db
            .fetch_all(&sql, &c.params)
            .await?
            .iter()
            .map(|r| {
                Ok(MessageHit {
                    dialog_id: DialogId(r.i64("dialog_id")?),
                    message_id: MessageId(r.i64("id")?),
                    context: context_of(&r.text("body")?, text, 60),
                    created_at: r.ts("created_at")?,
                    contact_name: r.text("contact_name")?,
                    channel_name: r.text("channel_name")?,
                })
            })
            .collect()
    }

    async fn delete_dialogs(
        &self,
        ids: &[DialogId],
        by: ManagerId,
        now: Timestamp,
    ) -> CoreResult<Written<u64>> {
        let mut tx = self.db.begin().await?;
        let mut new_events = Vec::new();
        // Locked in one order whoever asks, so two deletions of overlapping lists never wait on
        // each other's locks (a deadlock on PostgreSQL).
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        for id in &ids {
            let d = match dtx::lock(&mut tx, *id).await {
                Ok(d) => d,
                Err(CoreError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            // It leaves the administrators' counters (DESIGN.md §4a): as unread by default, and
            // for each manager who was caught up on it.
            if d.unread_by_default() {
                tx.execute(
                    "UPDATE counters SET value = value - 1 WHERE name = 'dialogs_unread_by_default'",
                    &[],
                )
                .await?;
            }
            tx.execute(
                "UPDATE manager_counters SET caught_up = caught_up - 1 \
                 WHERE manager_id IN (SELECT manager_id FROM read_states WHERE dialog_id = $1 AND counted)",
                params![d.id],
            )
            .await?;
            tx.execute(
                "UPDATE read_states SET counted = $2 WHERE dialog_id = $1",
                params![d.id, false],
            )
            .await?;
            tx.execute(
                "UPDATE dialogs SET deleted_at = $2, deleted_by = $3 WHERE id = $1",
                params![d.id, now, by],
            )
            .await?;
            new_events.push(event(&d, DomainEvent::DialogDeleted { by }));
        }
        let count = new_events.len() as u64;
        let events = events::append(&mut tx, new_events, now).await?;
        commit(tx, count, events).await
    }
}

//! Bulk loading for generated data (benchmarks at a million dialogs): typed rows written many
//! per statement with ids chosen by the caller, then the databases' own bookkeeping brought up
//! to date. Only this file knows the tables and columns a load fills.

use super::SqlStore;
use crate::driver::SqlValue;
use beseda_core::CoreResult;
use beseda_core::channel::ChannelKind;
use beseda_core::dialog::DeliveryStatus;
use beseda_core::ids::{
    BotId, ChannelId, ClientId, ContactId, DialogId, ManagerId, MessageId, TagId,
};
use beseda_core::time::Timestamp;

/// SQLite takes at most 32,766 parameters in one statement, PostgreSQL 65,535.
const MAX_PARAMS: usize = 600;

/// A client card, first seen on `channel` at `first_contact_at` (F04).
pub struct BulkClient {
    pub id: ClientId,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub channel: (ChannelId, ChannelKind, String),
    pub first_contact_at: Timestamp,
    pub blocked_at: Option<Timestamp>,
}

/// The client's identity on one channel.
pub struct BulkContact {
    pub id: ContactId,
    pub channel_id: ChannelId,
    pub external_id: String,
    pub client_id: ClientId,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub created_at: Timestamp,
}

/// A dialog with the keys its messages give it.
pub struct BulkDialog {
    pub id: DialogId,
    pub channel_id: ChannelId,
    pub contact_id: ContactId,
    pub client_id: ClientId,
    pub open: bool,
    pub manager: Option<ManagerId>,
    pub bot: Option<BotId>,
    pub last_seq: i64,
    pub last_client_seq: i64,
    pub client_count: i64,
    /// Client messages every manager counts as read (the rest are unread by default).
    pub read_baseline_client_count: i64,
    pub last_message_id: MessageId,
    pub last_from_client: bool,
    pub last_message_preview: String,
    pub last_activity_at: Timestamp,
    pub waiting_since: Option<Timestamp>,
    pub opened_at: Timestamp,
    pub closed_at: Option<Timestamp>,
}

/// A text message: the client's, or a manager's with its delivery status.
pub struct BulkMessage {
    pub id: MessageId,
    pub dialog_id: DialogId,
    pub channel_id: ChannelId,
    pub seq: i64,
    /// `None` for the client.
    pub manager: Option<ManagerId>,
    pub body: String,
    pub external_id: Option<String>,
    pub status: Option<DeliveryStatus>,
    pub created_at: Timestamp,
}

pub struct BulkClientTag {
    pub client_id: ClientId,
    pub tag_id: TagId,
    pub pinned: bool,
    pub created_at: Timestamp,
}

/// One round of a load, written table by table.
#[derive(Default)]
pub struct BulkLoad {
    pub clients: Vec<BulkClient>,
    pub contacts: Vec<BulkContact>,
    pub dialogs: Vec<BulkDialog>,
    pub messages: Vec<BulkMessage>,
    pub client_tags: Vec<BulkClientTag>,
}

const CLIENTS: &[&str] = &[
    "id",
    "name",
    "phone",
    "email",
    "source_channel_kind",
    "source_channel_id",
    "source_channel_name",
    "source_first_contact_at",
    "blocked_at",
    "created_at",
    "updated_at",
];
const CONTACTS: &[&str] = &[
    "id",
    "channel_id",
    "external_id",
    "client_id",
    "name",
    "phone",
    "email",
    "created_at",
];
const DIALOGS: &[&str] = &[
    "id",
    "channel_id",
    "contact_id",
    "client_id",
    "status",
    "responsible_manager_id",
    "responsible_bot_id",
    "last_seq",
    "last_client_seq",
    "client_count",
    "read_baseline_client_count",
    "last_message_id",
    "last_message_author",
    "last_message_preview",
    "last_activity_at",
    "waiting_since",
    "opened_at",
    "closed_at",
    "created_at",
    // A waiting dialog is due to the timer at once, which computes its next mark (F13).
    "next_waiting_change_at",
];
const MESSAGES: &[&str] = &[
    "id",
    "dialog_id",
    "channel_id",
    "seq",
    "author_kind",
    "author_manager_id",
    "kind",
    "body",
    "external_id",
    "status",
    "created_at",
];
const CLIENT_TAGS: &[&str] = &["client_id", "tag_id", "pinned", "created_at"];

fn author(manager: Option<ManagerId>) -> &'static str {
    if manager.is_some() {
        "manager"
    } else {
        "client"
    }
}

impl SqlStore {
    /// Writes one round of a load, a transaction per table.
    pub async fn bulk_load(&self, load: BulkLoad) -> CoreResult<()> {
        let clients = load.clients.into_iter().map(|c| {
            let (channel, kind, channel_name) = c.channel;
            vec![
                c.id.into(),
                c.name.into(),
                c.phone.into(),
                c.email.into(),
                kind.as_str().into(),
                channel.into(),
                channel_name.into(),
                c.first_contact_at.into(),
                c.blocked_at.into(),
                c.first_contact_at.into(),
                c.first_contact_at.into(),
            ]
        });
        self.bulk_insert("clients", CLIENTS, clients.collect())
            .await?;
        let contacts = load.contacts.into_iter().map(|c| {
            vec![
                c.id.into(),
                c.channel_id.into(),
                c.external_id.into(),
                c.client_id.into(),
                c.name.into(),
                c.phone.into(),
                c.email.into(),
                c.created_at.into(),
            ]
        });
        self.bulk_insert("contacts", CONTACTS, contacts.collect())
            .await?;
        let dialogs = load.dialogs.into_iter().map(|d| {
            vec![
                d.id.into(),
                d.channel_id.into(),
                d.contact_id.into(),
                d.client_id.into(),
                (if d.open { "open" } else { "closed" }).into(),
                d.manager.into(),
                d.bot.into(),
                d.last_seq.into(),
                d.last_client_seq.into(),
                d.client_count.into(),
                d.read_baseline_client_count.into(),
                d.last_message_id.into(),
                (if d.last_from_client {
                    "client"
                } else {
                    "manager"
                })
                .into(),
                d.last_message_preview.into(),
                d.last_activity_at.into(),
                d.waiting_since.into(),
                d.opened_at.into(),
                d.closed_at.into(),
                d.opened_at.into(),
                d.waiting_since.into(),
            ]
        });
        self.bulk_insert("dialogs", DIALOGS, dialogs.collect())
            .await?;
        let messages = load.messages.into_iter().map(|m| {
            vec![
                m.id.into(),
                m.dialog_id.into(),
                m.channel_id.into(),
                m.seq.into(),
                author(m.manager).into(),
                m.manager.into(),
                "text".into(),
                m.body.into(),
                m.external_id.into(),
                m.status.map(DeliveryStatus::as_str).into(),
                m.created_at.into(),
            ]
        });
        self.bulk_insert("messages", MESSAGES, messages.collect())
            .await?;
        let tags = load.client_tags.into_iter().map(|t| {
            vec![
                t.client_id.into(),
                t.tag_id.into(),
                t.pinned.into(),
                t.created_at.into(),
            ]
        });
        self.bulk_insert("client_tags", CLIENT_TAGS, tags.collect())
            .await
    }

    /// Distribution bots named `names`, with ids 1, 2, … (for the bot filter, F22).
    pub async fn bulk_bots(&self, names: &[String], now: Timestamp) -> CoreResult<Vec<BotId>> {
        let ids: Vec<BotId> = (1..).map(BotId).take(names.len()).collect();
        let rows = ids
            .iter()
            .zip(names)
            .map(|(id, name)| {
                vec![
                    (*id).into(),
                    "distribution".into(),
                    name.as_str().into(),
                    "{}".into(),
                    true.into(),
                    now.into(),
                ]
            })
            .collect();
        self.bulk_insert(
            "bots",
            &["id", "kind", "name", "config", "active", "created_at"],
            rows,
        )
        .await?;
        Ok(ids)
    }

    /// Where a load starts numbering: the highest client and message ids (0 when empty).
    pub async fn bulk_last_ids(&self) -> CoreResult<(ClientId, MessageId)> {
        Ok((
            ClientId(self.max_id("clients").await?),
            MessageId(self.max_id("messages").await?),
        ))
    }

    /// Inserts `rows` (each the values of `columns`, in order) into `table`, in one transaction,
    /// as few statements as the databases' parameter limits allow.
    async fn bulk_insert(
        &self,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<SqlValue>>,
    ) -> CoreResult<()> {
        let per_statement = (MAX_PARAMS / columns.len()).max(1);
        let mut tx = self.db.begin().await?;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<SqlValue>> = rows.by_ref().take(per_statement).collect();
            let mut params = Vec::with_capacity(chunk.len() * columns.len());
            let mut tuples = Vec::with_capacity(chunk.len());
            for row in chunk {
                debug_assert_eq!(row.len(), columns.len());
                let start = params.len();
                let marks: Vec<String> =
                    (1..=row.len()).map(|i| format!("${}", start + i)).collect();
                tuples.push(format!("({})", marks.join(", ")));
                params.extend(row);
            }
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES {}",
                columns.join(", "),
                tuples.join(", ")
            );
            tx.execute(&sql, &params).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// After a bulk load with chosen ids: PostgreSQL's id sequences move past them, the unread
    /// counter is recounted, and both databases gather the statistics their planners need.
    pub async fn finish_bulk_load(&self) -> CoreResult<()> {
        for table in ["clients", "contacts", "dialogs", "messages", "bots"] {
            if self.db.backend() == "postgres" {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table})) AS v"
                );
                self.db.fetch_one(&sql, &[]).await?;
            }
        }
        // The administrators' unread counter (DESIGN.md §4a), counted afresh.
        self.db
            .execute(
                "UPDATE counters SET value = (SELECT COUNT(*) FROM dialogs \
                   WHERE client_count > read_baseline_client_count AND deleted_at IS NULL) \
                 WHERE name = 'dialogs_unread_by_default'",
                &[],
            )
            .await?;
        self.refresh_statistics().await
    }

    /// Gathers the statistics both databases' planners need, as a load goes on.
    pub async fn refresh_statistics(&self) -> CoreResult<()> {
        self.db.execute("ANALYZE", &[]).await?;
        Ok(())
    }

    /// The highest id in a table (0 when empty).
    async fn max_id(&self, table: &str) -> CoreResult<i64> {
        let sql = format!("SELECT COALESCE(MAX(id), 0) AS m FROM {table}");
        Ok(self.db.fetch_one(&sql, &[]).await?.i64("m")?)
    }
}

//! Stored files: uploads, their binding to a message inside the message's transaction, the
//! feed's and the attachments panel's reads (F11, F25–F27).

use super::{SqlStore, params};
use crate::driver::{SqlRow, SqlTx, SqlValue};
use async_trait::async_trait;
use beseda_core::attachment::{
    AttachmentKind, AttachmentTab, AttachmentView, NewAttachment, StoredAttachment, Uploader,
};
use beseda_core::dialog::MessageView;
use beseda_core::dialog::Responsible;
use beseda_core::ids::{
    AttachmentId, BotId, ChannelId, DialogId, ManagerId, MessageId, VisitorSessionId,
};
use beseda_core::store::AttachmentStore;
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};

const COLUMNS: &str = "a.id, a.kind, a.file_name, a.mime, a.size_bytes, a.width, a.height, a.thumb_key, a.message_id, \
    a.created_at, a.object_key, a.dialog_id, COALESCE(a.channel_id, d.channel_id) AS channel_id, a.uploaded_by, a.uploaded_by_bot, a.visitor_id \
    FROM attachments a LEFT JOIN dialogs d ON d.id = a.dialog_id";

fn u32_of(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

fn view_from(r: &SqlRow) -> CoreResult<AttachmentView> {
    let kind = r.text("kind")?;
    Ok(AttachmentView {
        id: AttachmentId(r.i64("id")?),
        kind: AttachmentKind::parse(&kind)
            .ok_or_else(|| CoreError::Storage(format!("attachment kind {kind}")))?,
        file_name: r.text("file_name")?,
        mime: r.text("mime")?,
        size_bytes: u64::try_from(r.i64("size_bytes")?).unwrap_or(0),
        width: u32_of(r.opt_i64("width")?),
        height: u32_of(r.opt_i64("height")?),
        preview: r.opt_text("thumb_key")?.is_some(),
        message_id: r.opt_i64("message_id")?.map(MessageId),
        created_at: r.ts("created_at")?,
    })
}

fn stored_from(r: &SqlRow) -> CoreResult<StoredAttachment> {
    Ok(StoredAttachment {
        view: view_from(r)?,
        object_key: r.text("object_key")?,
        preview_key: r.opt_text("thumb_key")?,
        dialog_id: r.opt_i64("dialog_id")?.map(DialogId),
        channel_id: r.opt_i64("channel_id")?.map(ChannelId),
        uploaded_by: match (r.opt_i64("uploaded_by")?, r.opt_i64("uploaded_by_bot")?) {
            (Some(m), _) => Some(Responsible::Manager(ManagerId(m))),
            (None, Some(b)) => Some(Responsible::Bot(BotId(b))),
            (None, None) => None,
        },
        visitor_session: r.opt_i64("visitor_id")?.map(VisitorSessionId),
    })
}

/// The `IN (…)` list and its parameters for the messages of a page.
fn files_query(messages: &[MessageId]) -> (String, Vec<SqlValue>) {
    let marks: Vec<String> = (1..=messages.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} WHERE a.message_id IN ({}) ORDER BY a.message_id, a.id",
        marks.join(", ")
    );
    (sql, messages.iter().map(|m| SqlValue::from(*m)).collect())
}

/// Puts each message's files into it.
fn distribute(messages: &mut [MessageView], files: Vec<AttachmentView>) {
    for file in files {
        if let Some(m) = messages.iter_mut().find(|m| Some(m.id) == file.message_id) {
            m.attachments.push(file);
        }
    }
}

impl SqlStore {
    /// The files of some messages, in each message's order: one query.
    pub(super) async fn files_of(&self, messages: &[MessageId]) -> CoreResult<Vec<AttachmentView>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let (sql, params) = files_query(messages);
        self.db
            .fetch_all(&sql, &params)
            .await?
            .iter()
            .map(view_from)
            .collect()
    }

    /// Fills in the files of a page of the feed.
    pub(super) async fn attach_files(&self, messages: &mut [MessageView]) -> CoreResult<()> {
        let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let files = self.files_of(&ids).await?;
        distribute(messages, files);
        Ok(())
    }
}

/// The same inside a writing transaction.
pub(super) async fn attach_files_in_tx(
    tx: &mut Box<dyn SqlTx>,
    message: &mut MessageView,
) -> CoreResult<()> {
    let (sql, params) = files_query(&[message.id]);
    let files = tx
        .fetch_all(&sql, &params)
        .await?
        .iter()
        .map(view_from)
        .collect::<CoreResult<Vec<_>>>()?;
    distribute(std::slice::from_mut(message), files);
    Ok(())
}

/// Gives unsent uploads to a new message, in its transaction. Each must still be unsent and
/// its author's (a concurrent message may have taken it since the service checked): if one
/// is not, the whole message is refused and nothing is written.
pub(super) async fn bind(
    tx: &mut Box<dyn SqlTx>,
    ids: &[AttachmentId],
    message: MessageId,
    dialog: DialogId,
    uploader: Uploader,
) -> CoreResult<Vec<AttachmentView>> {
    for id in ids {
        let taken = match uploader {
            Uploader::Manager { manager, .. } => {
                tx.execute(
                    "UPDATE attachments SET message_id = $1 \
                     WHERE id = $2 AND message_id IS NULL AND dialog_id = $3 AND uploaded_by = $4",
                    params![message, *id, dialog, manager],
                )
                .await?
            }
            Uploader::Bot { bot, .. } => {
                tx.execute(
                    "UPDATE attachments SET message_id = $1 \
                     WHERE id = $2 AND message_id IS NULL AND dialog_id = $3 AND uploaded_by_bot = $4",
                    params![message, *id, dialog, bot],
                )
                .await?
            }
            Uploader::Channel(channel) => {
                tx.execute(
                    "UPDATE attachments SET message_id = $1, dialog_id = $3 \
                     WHERE id = $2 AND message_id IS NULL AND dialog_id IS NULL AND channel_id = $4",
                    params![message, *id, dialog, channel],
                )
                .await?
            }
            Uploader::Visitor { channel, session } => {
                tx.execute(
                    "UPDATE attachments SET message_id = $1, dialog_id = $3 \
                     WHERE id = $2 AND message_id IS NULL AND dialog_id IS NULL AND channel_id = $4 AND visitor_id = $5",
                    params![message, *id, dialog, channel, session],
                )
                .await?
            }
        };
        if taken == 0 {
            return Err(CoreError::Unprocessable {
                code: "invalid_attachment",
                message: format!(
                    "attachment {id} is not an unsent upload of yours for this dialog"
                ),
            });
        }
    }
    let (sql, params) = files_query(&[message]);
    tx.fetch_all(&sql, &params)
        .await?
        .iter()
        .map(view_from)
        .collect()
}

#[async_trait]
impl AttachmentStore for SqlStore {
    async fn add_attachment(
        &self,
        new: &NewAttachment,
        now: Timestamp,
    ) -> CoreResult<AttachmentView> {
        let (dialog, channel, manager, bot, visitor) = match new.uploader {
            Uploader::Manager { manager, dialog } => {
                (Some(dialog), None, Some(manager), None, None)
            }
            Uploader::Bot { bot, dialog } => (Some(dialog), None, None, Some(bot), None),
            Uploader::Channel(c) => (None, Some(c), None, None, None),
            Uploader::Visitor { channel, session } => {
                (None, Some(channel), None, None, Some(session))
            }
        };
        let size =
            i64::try_from(new.size_bytes).map_err(|_| CoreError::invalid("file", "too large"))?;
        let row = self
            .db
            .fetch_one(
                "INSERT INTO attachments (object_key, dialog_id, channel_id, kind, file_name, mime, size_bytes, sha256, width, height, \
                   thumb_key, uploaded_by, created_at, visitor_id, uploaded_by_bot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
                params![
                    new.object_key.as_str(),
                    dialog,
                    channel,
                    new.kind.as_str(),
                    new.file_name.as_str(),
                    new.mime.as_str(),
                    size,
                    new.sha256.as_str(),
                    new.width.map(i64::from),
                    new.height.map(i64::from),
                    new.preview_key.clone(),
                    manager,
                    now,
                    visitor,
                    bot
                ],
            )
            .await?;
        Ok(AttachmentView {
            id: AttachmentId(row.i64("id")?),
            kind: new.kind,
            file_name: new.file_name.clone(),
            mime: new.mime.clone(),
            size_bytes: new.size_bytes,
            width: new.width,
            height: new.height,
            preview: new.preview_key.is_some(),
            message_id: None,
            created_at: now,
        })
    }

    async fn attachment(&self, id: AttachmentId) -> CoreResult<Option<StoredAttachment>> {
        let sql = format!("SELECT {COLUMNS} WHERE a.id = $1");
        self.db
            .fetch_optional(&sql, params![id])
            .await?
            .as_ref()
            .map(stored_from)
            .transpose()
    }

    async fn dialog_attachments(
        &self,
        dialog: DialogId,
        tab: AttachmentTab,
        before: Option<AttachmentId>,
        limit: u32,
    ) -> CoreResult<Vec<AttachmentView>> {
        let kinds = match tab {
            AttachmentTab::Images => "a.kind = 'image'",
            AttachmentTab::Files => "a.kind <> 'image'",
        };
        let sql = format!(
            "SELECT {COLUMNS} WHERE a.dialog_id = $1 AND a.message_id IS NOT NULL AND {kinds} AND a.id < $2 \
             ORDER BY a.id DESC LIMIT $3"
        );
        let before = before.map_or(i64::MAX, |b| b.0);
        self.db
            .fetch_all(&sql, params![dialog, before, i64::from(limit)])
            .await?
            .iter()
            .map(view_from)
            .collect()
    }

    async fn unsent_attachments(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> CoreResult<Vec<StoredAttachment>> {
        let sql = format!(
            "SELECT {COLUMNS} WHERE a.message_id IS NULL AND a.created_at < $1 ORDER BY a.created_at LIMIT $2"
        );
        self.db
            .fetch_all(&sql, params![before, i64::from(limit)])
            .await?
            .iter()
            .map(stored_from)
            .collect()
    }

    async fn unknown_object_keys(&self, keys: &[String]) -> CoreResult<Vec<String>> {
        let mut unknown = Vec::new();
        for chunk in keys.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let list = marks.join(", ");
            let sql = format!(
                "SELECT object_key AS k FROM attachments WHERE object_key IN ({list}) \
                 UNION SELECT thumb_key AS k FROM attachments WHERE thumb_key IN ({list}) \
                 UNION SELECT photo_key AS k FROM contacts WHERE photo_key IN ({list})"
            );
            let values: Vec<SqlValue> = chunk.iter().map(|k| k.as_str().into()).collect();
            let known: std::collections::HashSet<String> = self
                .db
                .fetch_all(&sql, &values)
                .await?
                .iter()
                .map(|r| r.text("k"))
                .collect::<Result<_, _>>()?;
            unknown.extend(chunk.iter().filter(|k| !known.contains(*k)).cloned());
        }
        Ok(unknown)
    }

    async fn unsent_bytes(&self, uploader: Uploader) -> CoreResult<u64> {
        let (sql, who) = match uploader {
            Uploader::Manager { manager, .. } => (
                "SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS bytes FROM attachments WHERE message_id IS NULL AND uploaded_by = $1",
                manager.0,
            ),
            Uploader::Bot { bot, .. } => (
                "SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS bytes FROM attachments WHERE message_id IS NULL AND uploaded_by_bot = $1",
                bot.0,
            ),
            Uploader::Channel(c) => (
                "SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS bytes FROM attachments \
                 WHERE message_id IS NULL AND dialog_id IS NULL AND channel_id = $1",
                c.0,
            ),
            Uploader::Visitor { session, .. } => (
                "SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS bytes FROM attachments \
                 WHERE message_id IS NULL AND visitor_id = $1",
                session.0,
            ),
        };
        let bytes = self.db.fetch_one(sql, params![who]).await?.i64("bytes")?;
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    async fn delete_unsent_attachment(&self, id: AttachmentId) -> CoreResult<bool> {
        // Quick replies may hold an upload as their template's file (F32).
        let n = self
            .db
            .execute(
                "DELETE FROM attachments WHERE id = $1 AND message_id IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM quick_reply_attachments q WHERE q.attachment_id = $1)",
                params![id],
            )
            .await?;
        Ok(n > 0)
    }
}

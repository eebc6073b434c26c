//! Who may upload, see and send files (F11, F25–F27). The bytes live in object storage, behind
//! the server; here are the rules: uploads go into a dialog the manager sees (or a module's
//! channel), every download checks sight of the dialog, and a message takes only unsent
//! uploads of its own author, within the channel's limits.

use crate::attachment::{
    AttachmentTab, AttachmentView, NewAttachment, StoredAttachment, Uploader,
    check_message_attachments,
};
use crate::channel::Capabilities;
use crate::dialog::Viewer;
use crate::error::{CoreError, CoreResult};
use crate::files::{ByteStream, FileStore, UrlFetcher};
use crate::ids::{AttachmentId, DialogId};
use crate::manager::Actor;
use crate::store::Store;
use crate::time::{Clock, Timestamp};
use crate::transport::{Channel, TransportModule};
use std::sync::Arc;

/// At most this many attachments listed per page.
pub const MAX_ATTACHMENT_PAGE: u32 = 100;

pub struct AttachmentService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    files: Arc<dyn FileStore>,
    fetcher: Arc<dyn UrlFetcher>,
    unsent_quota: u64,
}

/// Files arriving for one message, one by one (a form's parts). Each is checked against the
/// channel's limits as it comes; if any step fails, nothing of the batch is kept.
pub struct UploadBatch<'s> {
    service: &'s AttachmentService,
    caps: Capabilities,
    uploader: Uploader,
    received: Vec<NewAttachment>,
}

/// The most bytes one uploader (a manager, a channel) may keep in files no message took yet,
/// unless set otherwise: uploads never sent cannot fill the disk (the sweep deletes them after
/// a day).
pub const UNSENT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;

impl UploadBatch<'_> {
    /// Streams one more file in; on a refusal the batch's files are gone.
    pub async fn add(&mut self, body: ByteStream<'_>, file_name: Option<&str>) -> CoreResult<()> {
        let stored = self
            .service
            .files
            .put(body, file_name, &self.caps, self.uploader)
            .await;
        let checked = match stored {
            Ok(new) => {
                self.received.push(new);
                let sizes = self.received.iter().map(|a| (a.kind, a.size_bytes));
                match check_message_attachments(&self.caps, sizes) {
                    Ok(()) => self.within_quota().await,
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        if checked.is_err() {
            self.abort().await;
        }
        checked
    }

    async fn within_quota(&self) -> CoreResult<()> {
        let waiting = self.service.store.unsent_bytes(self.uploader).await?;
        let batch: u64 = self.received.iter().map(|a| a.size_bytes).sum();
        let quota = self.service.unsent_quota;
        if waiting + batch > quota {
            return Err(CoreError::Unprocessable {
                code: "upload_quota_exceeded",
                message: format!(
                    "files not yet sent may take at most {} MiB; send or wait for the older ones",
                    quota / (1024 * 1024)
                ),
            });
        }
        Ok(())
    }

    /// Forgets the batch: every file stored so far is deleted.
    pub async fn abort(&mut self) {
        for a in self.received.drain(..) {
            self.service.delete_object(&a).await;
        }
    }

    /// Records the files as unsent uploads; their ids go into a message.
    pub async fn finish(mut self) -> CoreResult<Vec<AttachmentView>> {
        if self.received.is_empty() {
            return Err(CoreError::invalid("file", "the form has no file"));
        }
        let mut views = Vec::with_capacity(self.received.len());
        for (i, a) in self.received.iter().enumerate() {
            match self.service.record(a).await {
                Ok(v) => views.push(v),
                Err(e) => {
                    // Those recorded wait as unsent uploads for the sweep; the rest go now.
                    for rest in &self.received[i..] {
                        self.service.delete_object(rest).await;
                    }
                    self.received.clear();
                    return Err(e);
                }
            }
        }
        Ok(views)
    }
}

/// Checks the unsent uploads a message is about to take: each exists, is unsent and belongs
/// to this uploader, and together they keep the channel's limits. The store binds them again
/// under the message's transaction, so a concurrent second use fails there.
pub async fn check_unsent(
    store: &dyn Store,
    caps: &Capabilities,
    ids: &[AttachmentId],
    uploader: Uploader,
) -> CoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != ids.len() {
        return Err(CoreError::invalid(
            "attachments",
            "an attachment is listed twice",
        ));
    }
    let mut views = Vec::with_capacity(ids.len());
    for id in ids {
        let found = store.attachment(*id).await?;
        // A module repeating a push finds its files already in the first message: the store
        // answers the repeat with that message, and refuses them in any other.
        let own_channel = |a: &StoredAttachment| match uploader {
            Uploader::Channel(c) => a.channel_id == Some(c),
            Uploader::Visitor { channel, session } => {
                a.channel_id == Some(channel) && a.visitor_session == Some(session)
            }
            Uploader::Manager { .. } | Uploader::Bot { .. } => false,
        };
        if let Some(a) = &found
            && a.view.message_id.is_some()
            && own_channel(a)
        {
            continue;
        }
        let ok = found.filter(|a| {
            a.view.message_id.is_none()
                && match uploader.in_dialog() {
                    Some((by, dialog)) => a.dialog_id == Some(dialog) && a.uploaded_by == Some(by),
                    None => a.dialog_id.is_none() && own_channel(a),
                }
        });
        match ok {
            Some(a) => views.push(a.view),
            None => {
                return Err(CoreError::Unprocessable {
                    code: "invalid_attachment",
                    message: format!(
                        "attachment {id} is not an unsent upload of yours for this dialog"
                    ),
                });
            }
        }
    }
    check_message_attachments(caps, views.iter().map(|v| (v.kind, v.size_bytes)))
}

impl AttachmentService {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        files: Arc<dyn FileStore>,
        fetcher: Arc<dyn UrlFetcher>,
    ) -> Self {
        AttachmentService {
            store,
            clock,
            files,
            fetcher,
            unsent_quota: UNSENT_QUOTA_BYTES,
        }
    }

    /// Another quota for unsent uploads (see [`UNSENT_QUOTA_BYTES`]).
    pub fn with_unsent_quota(mut self, bytes: u64) -> Self {
        self.unsent_quota = bytes;
        self
    }

    async fn delete_object(&self, a: &NewAttachment) {
        self.files
            .delete(&a.object_key, a.preview_key.as_deref())
            .await;
    }

    /// Files a manager uploads to send in a dialog they see (F25).
    pub async fn manager_uploads(
        &self,
        actor: &Actor,
        dialog: DialogId,
    ) -> CoreResult<UploadBatch<'_>> {
        let caps = self.dialog_limits(actor, dialog).await?;
        let uploader = Uploader::Manager {
            manager: actor.id(),
            dialog,
        };
        Ok(self.batch(caps, uploader))
    }

    /// Files a website visitor uploads for their next message (F39).
    pub fn visitor_uploads(
        &self,
        caps: Capabilities,
        channel: crate::ids::ChannelId,
        session: crate::ids::VisitorSessionId,
    ) -> UploadBatch<'_> {
        self.batch(caps, Uploader::Visitor { channel, session })
    }

    /// Files a bot uploads to send in a dialog it holds (its limits from
    /// `BotService::upload_limits`).
    pub fn bot_uploads(
        &self,
        caps: Capabilities,
        bot: crate::ids::BotId,
        dialog: DialogId,
    ) -> UploadBatch<'_> {
        self.batch(caps, Uploader::Bot { bot, dialog })
    }

    /// A file a website visitor may download: one of their dialog's, or their own upload that
    /// waits to be sent.
    pub async fn for_visitor(
        &self,
        session: crate::ids::VisitorSessionId,
        dialog: Option<DialogId>,
        id: AttachmentId,
    ) -> CoreResult<StoredAttachment> {
        let a = self
            .store
            .attachment(id)
            .await?
            .ok_or(CoreError::NotFound("attachment"))?;
        let theirs = match a.view.message_id {
            Some(_) => dialog.is_some() && a.dialog_id == dialog,
            None => a.visitor_session == Some(session),
        };
        if theirs {
            Ok(a)
        } else {
            Err(CoreError::NotFound("attachment"))
        }
    }

    /// Files a module uploads for a client's message on one of its channels.
    pub fn channel_uploads(&self, channel: &Channel) -> UploadBatch<'_> {
        self.batch(channel.capabilities.clone(), Uploader::Channel(channel.id))
    }

    fn batch(&self, caps: Capabilities, uploader: Uploader) -> UploadBatch<'_> {
        UploadBatch {
            service: self,
            caps,
            uploader,
            received: Vec::new(),
        }
    }

    /// A file a module gives by address for a client's message: fetched within the channel's
    /// limits and recorded as the channel's unsent upload. `field` names it in an error.
    pub async fn fetch_for_channel(
        &self,
        channel: &Channel,
        url: &str,
        file_name: Option<&str>,
        field: &str,
    ) -> CoreResult<AttachmentId> {
        let fetched = self
            .fetcher
            .fetch(url)
            .await
            .map_err(|e| CoreError::Unprocessable {
                code: "attachment_unreachable",
                message: format!("{field}: could not download {url}: {e}"),
            })?;
        let name = file_name.map(str::to_owned).or(fetched.file_name);
        let mut batch = self.channel_uploads(channel);
        batch.add(fetched.body, name.as_deref()).await?;
        Ok(batch.finish().await?[0].id)
    }

    /// F11: a file already sent in a dialog the actor sees, copied as a new upload into
    /// `dialog`, to send again within that dialog's channel limits.
    pub async fn copy_into(
        &self,
        actor: &Actor,
        dialog: DialogId,
        source: AttachmentId,
    ) -> CoreResult<AttachmentView> {
        let caps = self.dialog_limits(actor, dialog).await?;
        let source = self.resend_source(actor, source).await?;
        let v = &source.view;
        check_message_attachments(&caps, [(v.kind, v.size_bytes)])?;
        let (object_key, preview_key) = self
            .files
            .copy(&source.object_key, source.preview_key.as_deref())
            .await?;
        let new = NewAttachment {
            object_key,
            uploader: Uploader::Manager {
                manager: actor.id(),
                dialog,
            },
            kind: v.kind,
            file_name: v.file_name.clone(),
            mime: v.mime.clone(),
            size_bytes: v.size_bytes,
            sha256: String::new(),
            width: v.width,
            height: v.height,
            preview_key,
        };
        match self.record(&new).await {
            Ok(view) => Ok(view),
            Err(e) => {
                self.delete_object(&new).await;
                Err(e)
            }
        }
    }

    /// Keeps a client's photo (a small JPEG made of the image); its key.
    pub async fn put_photo(&self, body: ByteStream<'_>) -> CoreResult<String> {
        self.files.put_photo(body).await
    }

    /// The bytes of a client's photo, whose key the caller was allowed
    /// (`LibraryService::client_photo_key`).
    pub async fn photo(&self, key: &str) -> CoreResult<ByteStream<'static>> {
        self.files.get(key).await
    }

    /// The bytes of a file the caller was allowed (`for_manager`, `for_module`), or of its
    /// preview.
    pub async fn bytes(
        &self,
        a: &StoredAttachment,
        preview: bool,
    ) -> CoreResult<ByteStream<'static>> {
        let key = if preview {
            a.preview_key
                .as_deref()
                .ok_or(CoreError::NotFound("preview"))?
        } else {
            a.object_key.as_str()
        };
        self.files.get(key).await
    }

    /// The capabilities that bound an upload into a dialog the actor sees.
    pub async fn dialog_limits(&self, actor: &Actor, dialog: DialogId) -> CoreResult<Capabilities> {
        match self.store.dialog_access(dialog).await? {
            Some(d) if Viewer::of(actor).may_see(d.responsible) => Ok(d.capabilities),
            _ => Err(CoreError::NotFound("dialog")),
        }
    }

    pub async fn record(&self, new: &NewAttachment) -> CoreResult<AttachmentView> {
        self.store.add_attachment(new, self.clock.now()).await
    }

    /// A file the actor may download: one in a dialog they see now, or their own upload that
    /// waits to be sent. Anything else is "not found", so its existence is not revealed.
    pub async fn for_manager(
        &self,
        actor: &Actor,
        id: AttachmentId,
    ) -> CoreResult<StoredAttachment> {
        let Some(a) = self.store.attachment(id).await? else {
            return Err(CoreError::NotFound("attachment"));
        };
        let visible = match (a.view.message_id, a.dialog_id) {
            (None, _) => a.uploaded_by == Some(actor.party()),
            (Some(_), Some(dialog)) => match self.store.dialog_access(dialog).await? {
                Some(d) => Viewer::of(actor).may_see(d.responsible),
                None => false,
            },
            (Some(_), None) => false,
        };
        if visible {
            Ok(a)
        } else {
            Err(CoreError::NotFound("attachment"))
        }
    }

    /// A file a module may download: one of its own channels'.
    pub async fn for_module(
        &self,
        module: &TransportModule,
        id: AttachmentId,
    ) -> CoreResult<StoredAttachment> {
        let a = self
            .store
            .attachment(id)
            .await?
            .ok_or(CoreError::NotFound("attachment"))?;
        match a.channel_id {
            Some(c) if self.store.module_channel(module.id, c).await?.is_some() => Ok(a),
            _ => Err(CoreError::NotFound("attachment")),
        }
    }

    /// F11: a file already in the chat, to send again: it must have been sent, in a dialog the
    /// actor sees.
    pub async fn resend_source(
        &self,
        actor: &Actor,
        id: AttachmentId,
    ) -> CoreResult<StoredAttachment> {
        let a = self.for_manager(actor, id).await?;
        if a.view.message_id.is_none() {
            return Err(CoreError::Unprocessable {
                code: "attachment_unsent",
                message: "only a file already sent can be sent again".into(),
            });
        }
        Ok(a)
    }

    /// F11: a dialog's images or other files, newest first.
    pub async fn list(
        &self,
        actor: &Actor,
        dialog: DialogId,
        tab: AttachmentTab,
        before: Option<AttachmentId>,
        limit: u32,
    ) -> CoreResult<Vec<AttachmentView>> {
        self.dialog_limits(actor, dialog).await?;
        self.store
            .dialog_attachments(dialog, tab, before, limit.clamp(1, MAX_ATTACHMENT_PAGE))
            .await
    }

    /// Uploads that no message took within `max_age`: their rows and their bytes go. Answers
    /// how many went.
    pub async fn sweep_unsent(
        &self,
        max_age: std::time::Duration,
        limit: u32,
    ) -> CoreResult<usize> {
        let now = self.clock.now();
        let before = Timestamp(now.0 - i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX));
        let mut gone = 0;
        for a in self.store.unsent_attachments(before, limit).await? {
            if self.store.delete_unsent_attachment(a.view.id).await? {
                self.files
                    .delete(&a.object_key, a.preview_key.as_deref())
                    .await;
                gone += 1;
            }
        }
        Ok(gone)
    }

    /// Deletes stored objects that no attachment names and that are older than `min_age` (a
    /// file being uploaded has no row for a moment): what a crash between writing a file and
    /// recording it, or a failed delete, left behind. Returns how many went.
    pub async fn reconcile_objects(&self, min_age: std::time::Duration) -> CoreResult<usize> {
        let before = self.clock.now().minus(min_age);
        let stored = self.files.stored_before(before).await?;
        let orphans = self.store.unknown_object_keys(&stored).await?;
        for key in &orphans {
            self.files.delete(key, None).await;
        }
        Ok(orphans.len())
    }
}

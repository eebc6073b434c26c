//! Stored files: uploads, binding to a message in its transaction, the files panel, the sweep.

use super::assert_code;
use super::company::channel;
use super::dialogs::inbound;
use beseda_core::attachment::{AttachmentKind, AttachmentTab, NewAttachment, Uploader};
use beseda_core::channel::ChannelKind;
use beseda_core::dialog::Responsible;
use beseda_core::dialog::{FeedPage, Ingested, OutgoingMessage};
use beseda_core::ids::{AttachmentId, ManagerId};

use beseda_core::store::{Guard, Store};
use beseda_core::time::Timestamp;

fn file(key: &str, kind: AttachmentKind, uploader: Uploader) -> NewAttachment {
    NewAttachment {
        object_key: key.into(),
        uploader,
        kind,
        file_name: format!("{key}.bin"),
        mime: "application/octet-stream".into(),
        size_bytes: 42,
        sha256: "00".into(),
        width: (kind == AttachmentKind::Image).then_some(640),
        height: (kind == AttachmentKind::Image).then_some(480),
        preview_key: (kind == AttachmentKind::Image).then(|| format!("{key}.preview")),
    }
}

pub async fn attachments_bind_to_one_message_and_are_listed(store: &dyn Store) {
    let tg = channel(store, ChannelKind::Telegram, "Bot").await;
    let admin = store
        .create_manager(&super::new_manager("a@example.com", "A"))
        .await
        .unwrap();
    let other = store
        .create_manager(&super::new_manager("b@example.com", "B"))
        .await
        .unwrap();
    // A client's file comes through the channel and joins the dialog with the message.
    let pushed = store
        .add_attachment(
            &file("in", AttachmentKind::Image, Uploader::Channel(tg)),
            Timestamp(1),
        )
        .await
        .unwrap();
    let mut m = inbound(tg, "c", "e1", "");
    m.attachments = vec![pushed.id];
    let w = store.ingest_client_message(&m, Timestamp(2)).await.unwrap();
    let Ingested::Accepted { dialog_id: d, .. } = w.value else {
        panic!("{:?}", w.value)
    };
    let stored = store.attachment(pushed.id).await.unwrap().unwrap();
    assert_eq!((stored.dialog_id, stored.channel_id), (Some(d), Some(tg)));
    assert!(stored.view.message_id.is_some() && stored.view.preview);

    let me = Uploader::Manager {
        manager: admin.id,
        dialog: d,
    };
    let doc = store
        .add_attachment(&file("doc", AttachmentKind::File, me), Timestamp(3))
        .await
        .unwrap();
    let pic = store
        .add_attachment(&file("pic", AttachmentKind::Image, me), Timestamp(3))
        .await
        .unwrap();
    assert_eq!(doc.message_id, None);
    let reply = |files: Vec<AttachmentId>, author: ManagerId| OutgoingMessage {
        automatic: false,
        buttons: Vec::new(),
        dialog_id: d,
        author: Responsible::Manager(author),
        body: String::new(),
        quote: None,
        attachments: files,
        template: None,
    };
    // Someone else's upload is refused, and the message with it is not written.
    assert_code(
        store
            .append_company_message(&reply(vec![doc.id], other.id), Guard::Any, Timestamp(4))
            .await,
        "invalid_attachment",
    );
    let sent = store
        .append_company_message(
            &reply(vec![doc.id, pic.id], admin.id),
            Guard::Any,
            Timestamp(5),
        )
        .await
        .unwrap()
        .value;
    assert_eq!(sent.kind, beseda_core::dialog::MessageKind::File);
    assert_eq!(
        sent.attachments.iter().map(|a| a.id).collect::<Vec<_>>(),
        [doc.id, pic.id]
    );
    // Taken once: a second message cannot have them.
    assert_code(
        store
            .append_company_message(&reply(vec![pic.id], admin.id), Guard::Any, Timestamp(6))
            .await,
        "invalid_attachment",
    );
    let feed = store.feed(d, FeedPage::Latest, 10).await.unwrap();
    assert_eq!(feed.len(), 2, "the refused messages left nothing");
    assert_eq!(feed[1].attachments.len(), 2);

    let images = store
        .dialog_attachments(d, AttachmentTab::Images, None, 10)
        .await
        .unwrap();
    assert_eq!(
        images.iter().map(|a| a.id).collect::<Vec<_>>(),
        [pic.id, pushed.id]
    );
    let older = store
        .dialog_attachments(d, AttachmentTab::Images, Some(pic.id), 10)
        .await
        .unwrap();
    assert_eq!(older.iter().map(|a| a.id).collect::<Vec<_>>(), [pushed.id]);
    let files = store
        .dialog_attachments(d, AttachmentTab::Files, None, 10)
        .await
        .unwrap();
    assert_eq!(files.iter().map(|a| a.id).collect::<Vec<_>>(), [doc.id]);
}

pub async fn unsent_uploads_are_swept_and_sent_ones_stay(store: &dyn Store) {
    let tg = channel(store, ChannelKind::Telegram, "Bot").await;
    let old = store
        .add_attachment(
            &file("old", AttachmentKind::File, Uploader::Channel(tg)),
            Timestamp(10),
        )
        .await
        .unwrap();
    let new = store
        .add_attachment(
            &file("new", AttachmentKind::File, Uploader::Channel(tg)),
            Timestamp(30),
        )
        .await
        .unwrap();
    let sent = store
        .add_attachment(
            &file("sent", AttachmentKind::File, Uploader::Channel(tg)),
            Timestamp(5),
        )
        .await
        .unwrap();
    let mut m = inbound(tg, "c", "e1", "файл");
    m.attachments = vec![sent.id];
    store.ingest_client_message(&m, Timestamp(6)).await.unwrap();
    let stale = store.unsent_attachments(Timestamp(20), 10).await.unwrap();
    assert_eq!(
        stale.iter().map(|a| a.view.id).collect::<Vec<_>>(),
        [old.id]
    );
    assert_eq!(stale[0].object_key, "old");
    assert!(store.delete_unsent_attachment(old.id).await.unwrap());
    assert!(
        !store.delete_unsent_attachment(sent.id).await.unwrap(),
        "a sent file stays"
    );
    assert!(store.attachment(old.id).await.unwrap().is_none());
    assert!(store.attachment(new.id).await.unwrap().is_some());
    assert!(store.attachment(sent.id).await.unwrap().is_some());
}

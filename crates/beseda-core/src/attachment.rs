//! Files in messages (F11, F25–F27): their kinds, the limits a message and a channel put on
//! them, and how they are shown.

use crate::channel::Capabilities;
use crate::error::{CoreError, CoreResult};
use crate::ids::{AttachmentId, ChannelId, DialogId, ManagerId, MessageId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// At most this many bytes of attachments in one message, whatever the channel (F25).
pub const MAX_MESSAGE_BYTES: u64 = 500 * 1024 * 1024;

/// What a file is, decided from its content, never its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A picture we can preview: JPEG, PNG, GIF or WebP.
    Image,
    Audio,
    Video,
    /// Anything else, including SVG and other images we do not render.
    File,
}

impl AttachmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Image => "image",
            AttachmentKind::Audio => "audio",
            AttachmentKind::Video => "video",
            AttachmentKind::File => "file",
        }
    }

    pub fn parse(raw: &str) -> Option<AttachmentKind> {
        [Self::Image, Self::Audio, Self::Video, Self::File]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }

    /// The channel's size limit for this kind (F26), capped by the per-message limit.
    pub fn limit(self, caps: &Capabilities) -> u64 {
        let a = caps.attachments;
        let own = match self {
            AttachmentKind::Image => a.image,
            AttachmentKind::Audio => a.audio,
            AttachmentKind::Video => a.video,
            AttachmentKind::File => a.file,
        };
        own.map_or(MAX_MESSAGE_BYTES, |l| l.min(MAX_MESSAGE_BYTES))
    }
}

/// An attachment as a message, the feed and the attachments panel show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: AttachmentId,
    pub kind: AttachmentKind,
    pub file_name: String,
    /// The type found in the content (`application/octet-stream` when unknown).
    pub mime: String,
    pub size_bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Whether a preview (a small JPEG) exists (F27).
    pub preview: bool,
    /// The message it was sent in; `null` while it waits to be sent.
    pub message_id: Option<MessageId>,
    pub created_at: Timestamp,
}

/// Who an unsent upload belongs to: a manager or a bot writing in a dialog, a module's channel,
/// or a website visitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uploader {
    Manager {
        manager: ManagerId,
        dialog: DialogId,
    },
    /// A bot, into a dialog it holds (F37).
    Bot {
        bot: crate::ids::BotId,
        dialog: DialogId,
    },
    Channel(ChannelId),
    /// A website visitor, in one session, on a widget's channel (F39).
    Visitor {
        channel: ChannelId,
        session: crate::ids::VisitorSessionId,
    },
}

impl Uploader {
    /// The author of a company message, writing in `dialog`.
    pub fn author(by: crate::dialog::Responsible, dialog: DialogId) -> Uploader {
        match by {
            crate::dialog::Responsible::Manager(manager) => Uploader::Manager { manager, dialog },
            crate::dialog::Responsible::Bot(bot) => Uploader::Bot { bot, dialog },
        }
    }

    /// The manager or bot and the dialog, for an upload into a dialog.
    pub fn in_dialog(self) -> Option<(crate::dialog::Responsible, DialogId)> {
        match self {
            Uploader::Manager { manager, dialog } => {
                Some((crate::dialog::Responsible::Manager(manager), dialog))
            }
            Uploader::Bot { bot, dialog } => Some((crate::dialog::Responsible::Bot(bot), dialog)),
            Uploader::Channel(_) | Uploader::Visitor { .. } => None,
        }
    }
}

/// A stored file to record.
#[derive(Clone, Debug)]
pub struct NewAttachment {
    pub object_key: String,
    pub uploader: Uploader,
    pub kind: AttachmentKind,
    pub file_name: String,
    pub mime: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub preview_key: Option<String>,
}

/// An attachment with where it lives and whose it is: for access checks and downloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAttachment {
    pub view: AttachmentView,
    pub object_key: String,
    pub preview_key: Option<String>,
    pub dialog_id: Option<DialogId>,
    pub channel_id: Option<ChannelId>,
    /// The manager or bot that uploaded it into its dialog.
    pub uploaded_by: Option<crate::dialog::Responsible>,
    /// The website visitor's session that uploaded it (F39).
    pub visitor_session: Option<crate::ids::VisitorSessionId>,
}

/// Which of a dialog's attachments to list (F11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentTab {
    Images,
    Files,
}

/// F25: at most `max_images` images and `max_files` other files per message, at most
/// [`MAX_MESSAGE_BYTES`] in all, each within the channel's limit for its kind. Takes each
/// file's kind and size.
pub fn check_message_attachments(
    caps: &Capabilities,
    files: impl IntoIterator<Item = (AttachmentKind, u64)>,
) -> CoreResult<()> {
    let (mut images, mut others, mut total) = (0u32, 0u32, 0u64);
    for (kind, size) in files {
        if kind == AttachmentKind::Image {
            images += 1;
        } else {
            others += 1;
        }
        if images > caps.max_images || others > caps.max_files {
            return Err(CoreError::Unprocessable {
                code: "too_many_attachments",
                message: format!(
                    "a message carries at most {} images and {} other files on this channel",
                    caps.max_images, caps.max_files
                ),
            });
        }
        let limit = kind.limit(caps);
        if size > limit {
            return Err(CoreError::AttachmentTooLarge { kind, limit });
        }
        total += size;
    }
    if total > MAX_MESSAGE_BYTES {
        return Err(CoreError::Unprocessable {
            code: "attachments_too_large",
            message: format!(
                "a message carries at most {} MB of attachments",
                MAX_MESSAGE_BYTES / 1024 / 1024
            ),
        });
    }
    Ok(())
}

/// The text a dialog row shows for a message that is only files.
pub fn preview_of(files: &[AttachmentView]) -> String {
    match files {
        [] => String::new(),
        [one] => format!("📎 {}", one.file_name),
        [first, rest @ ..] => format!("📎 {} (+{})", first.file_name, rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::ChannelKind;

    fn file(kind: AttachmentKind, size: u64) -> (AttachmentKind, u64) {
        (kind, size)
    }

    #[test]
    fn f25_one_file_and_ten_images_per_message() {
        let caps = ChannelKind::Widget.default_capabilities();
        let ten: Vec<_> = (0..10).map(|_| file(AttachmentKind::Image, 10)).collect();
        assert!(check_message_attachments(&caps, ten.clone()).is_ok());
        let mut eleven = ten.clone();
        eleven.push(file(AttachmentKind::Image, 10));
        let e = check_message_attachments(&caps, eleven).unwrap_err();
        assert_eq!(e.code(), "too_many_attachments");
        let two_files = [
            file(AttachmentKind::File, 1),
            file(AttachmentKind::Video, 1),
        ];
        assert!(check_message_attachments(&caps, two_files).is_err());
        let mixed = [
            file(AttachmentKind::File, 1),
            file(AttachmentKind::Image, 1),
        ];
        assert!(check_message_attachments(&caps, mixed).is_ok());
    }

    #[test]
    fn f26_limits_per_channel_and_kind() {
        const MB: u64 = 1024 * 1024;
        let tg = ChannelKind::Telegram.default_capabilities();
        assert_eq!(AttachmentKind::Image.limit(&tg), 10 * MB);
        let e =
            check_message_attachments(&tg, [file(AttachmentKind::Image, 10 * MB + 1)]).unwrap_err();
        assert_eq!(e.code(), "attachment_too_large");
        let fb = ChannelKind::FbInstagram.default_capabilities();
        assert_eq!(AttachmentKind::Video.limit(&fb), MAX_MESSAGE_BYTES);
    }

    #[test]
    fn f25_500_mb_per_message() {
        // A custom channel sets no limit per file: only the message's own.
        let caps = ChannelKind::Custom.default_capabilities();
        let big = [
            file(AttachmentKind::File, 300 * 1024 * 1024),
            file(AttachmentKind::Image, 201 * 1024 * 1024),
        ];
        let e = check_message_attachments(&caps, big).unwrap_err();
        assert_eq!(e.code(), "attachments_too_large");
    }
}

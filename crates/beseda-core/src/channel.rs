//! Channel types and what each can do (F16, F26, F38). Capabilities are data, stored with the
//! channel, so a custom transport can declare its own and the UI offers only what a channel has.

use serde::{Deserialize, Serialize};

/// The kind of messenger account or widget a channel is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Telegram,
    WhatsappQr,
    WhatsappBusiness,
    Vk,
    FbInstagram,
    Widget,
    Custom,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 7] = [
        ChannelKind::Telegram,
        ChannelKind::WhatsappQr,
        ChannelKind::WhatsappBusiness,
        ChannelKind::Vk,
        ChannelKind::FbInstagram,
        ChannelKind::Widget,
        ChannelKind::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Telegram => "telegram",
            ChannelKind::WhatsappQr => "whatsapp_qr",
            ChannelKind::WhatsappBusiness => "whatsapp_business",
            ChannelKind::Vk => "vk",
            ChannelKind::FbInstagram => "fb_instagram",
            ChannelKind::Widget => "widget",
            ChannelKind::Custom => "custom",
        }
    }

    pub fn parse(raw: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// The built-in capabilities of a channel type: the size table of F26 and what each
    /// messenger's API lets us do. A `custom` channel starts from a permissive set and declares
    /// its own when it registers.
    pub fn default_capabilities(self) -> Capabilities {
        const MB: u64 = 1024 * 1024;
        let limits = |image, audio, video, file| AttachmentLimits {
            image,
            audio,
            video,
            file,
        };
        let (attachments, edit, delete, read) = match self {
            ChannelKind::FbInstagram => (
                limits(Some(8 * MB), Some(25 * MB), None, Some(25 * MB)),
                false,
                false,
                true,
            ),
            ChannelKind::WhatsappQr => (
                limits(Some(64 * MB), Some(64 * MB), Some(64 * MB), Some(100 * MB)),
                false,
                true,
                true,
            ),
            ChannelKind::WhatsappBusiness => (
                limits(Some(5 * MB), Some(16 * MB), Some(16 * MB), Some(100 * MB)),
                false,
                false,
                true,
            ),
            ChannelKind::Telegram => (
                limits(Some(10 * MB), Some(50 * MB), Some(50 * MB), Some(50 * MB)),
                true,
                true,
                false,
            ),
            ChannelKind::Vk => (
                limits(Some(50 * MB), Some(8 * MB), None, Some(200 * MB)),
                true,
                true,
                true,
            ),
            // The widget's visitors upload to us: a bound keeps one visitor from filling the disk.
            ChannelKind::Widget => (
                limits(Some(10 * MB), Some(10 * MB), Some(10 * MB), Some(10 * MB)),
                false,
                false,
                true,
            ),
            ChannelKind::Custom => (limits(None, None, None, None), true, true, true),
        };
        // What each messenger's quick replies allow: Telegram's reply keyboard, VK's keyboard,
        // WhatsApp's reply buttons, Messenger's and Instagram's quick replies.
        let buttons = |max, max_chars| ButtonLimits { max, max_chars };
        let buttons = match self {
            ChannelKind::Telegram | ChannelKind::Widget => buttons(10, 64),
            ChannelKind::Vk => buttons(10, 40),
            ChannelKind::WhatsappBusiness => buttons(3, 20),
            ChannelKind::FbInstagram => buttons(13, 20),
            ChannelKind::WhatsappQr | ChannelKind::Custom => ButtonLimits::default(),
        };
        Capabilities {
            text: TextCapabilities {
                create: true,
                edit,
                quote: true,
                delete,
                max_chars: 2000,
            },
            max_images: 10,
            max_files: 1,
            attachments,
            reports_delivered: true,
            reports_read: read,
            reply_window_secs: None,
            templates: false,
            buttons,
        }
    }
}

/// What a channel supports (F16, F38).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Capabilities {
    pub text: TextCapabilities,
    /// Images per message.
    pub max_images: u32,
    /// Other files per message.
    pub max_files: u32,
    /// Size limits per attachment kind, in bytes; `null`: no limit from the channel.
    pub attachments: AttachmentLimits,
    pub reports_delivered: bool,
    pub reports_read: bool,
    /// How long after the client's last message the company may still write to them, where
    /// the messenger bounds it (Meta's customer-service window); `null`: any time.
    #[serde(default)]
    pub reply_window_secs: Option<u64>,
    /// The messenger's approved templates may be sent, also after the reply window
    /// (`GET /api/v1/dialogs/{id}/templates`).
    #[serde(default)]
    pub templates: bool,
    /// Quick-reply buttons a bot's message may carry (F37); a module declares its own, none
    /// when it does not.
    #[serde(default)]
    pub buttons: ButtonLimits,
}

/// How many quick-reply buttons a message may carry and how long a label may be; `max` 0:
/// the channel shows none. A client's tap comes back as a message with the label's text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ButtonLimits {
    pub max: u32,
    pub max_chars: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TextCapabilities {
    pub create: bool,
    pub edit: bool,
    pub quote: bool,
    pub delete: bool,
    pub max_chars: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttachmentLimits {
    pub image: Option<u64>,
    pub audio: Option<u64>,
    pub video: Option<u64>,
    pub file: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f26_size_table_is_built_in() {
        const MB: u64 = 1024 * 1024;
        let tg = ChannelKind::Telegram.default_capabilities().attachments;
        assert_eq!(
            (tg.image, tg.audio, tg.video, tg.file),
            (Some(10 * MB), Some(50 * MB), Some(50 * MB), Some(50 * MB))
        );
        let vk = ChannelKind::Vk.default_capabilities().attachments;
        assert_eq!(
            (vk.image, vk.audio, vk.video, vk.file),
            (Some(50 * MB), Some(8 * MB), None, Some(200 * MB))
        );
        let fb = ChannelKind::FbInstagram.default_capabilities().attachments;
        assert_eq!((fb.image, fb.video), (Some(8 * MB), None));
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ChannelKind::parse("icq"), None);
    }
}

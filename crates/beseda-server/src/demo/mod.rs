//! `beseda demo`: a realistic demo company, so that a new user sees a working inbox at once —
//! managers in groups, a channel of every type, clients with Russian and English names, tags,
//! dialogs with weeks of history, and a few orders.

pub mod live;
pub mod shop;
pub mod texts;

use beseda_core::channel::ChannelKind;
use beseda_core::company::{
    Author, ClientSource, ImportDialog, ImportMessage, NewClient, NewTag, TagColor,
};
use beseda_core::dialog::InboundMessage;
use beseda_core::ids::{ChannelId, ManagerId, TagId};
use beseda_core::library::TimeLimits;
use beseda_core::manager::Grants;
use beseda_core::order::{Currency, NewOrder, OrderItem, OrderStatus};
use beseda_core::secret::TokenHash;
use beseda_core::services::managers::{CreateManager, ManagerService};
use beseda_core::store::Store;
use beseda_core::time::{Clock, SystemClock, Timestamp};
use beseda_core::transport::ChannelRegistration;
use beseda_core::values::{DisplayName, Email, Password};
use beseda_core::{CoreError, CoreResult, secret};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;

/// How big a demo company to make.
#[derive(Clone, Copy, Debug)]
pub struct DemoSize {
    pub clients: usize,
    pub orders: usize,
}

impl Default for DemoSize {
    fn default() -> Self {
        DemoSize {
            clients: 300,
            orders: 40,
        }
    }
}

/// What was made, to tell the user.
#[derive(Debug)]
pub struct DemoReport {
    pub managers: Vec<String>,
    /// The demo managers' password, shared by all of them; `None` if they existed already.
    pub manager_password: Option<String>,
    pub channels: usize,
    pub clients: usize,
    pub messages: usize,
}

/// Fills the database with the demo company. Refuses a database that holds company data
/// unless `force`; managers and tags that exist already are reused.
pub async fn load(
    store: Arc<dyn Store>,
    size: DemoSize,
    force: bool,
    progress: bool,
) -> CoreResult<DemoReport> {
    if !force && store.data_counts().await?.has_company_data() {
        return Err(CoreError::Conflict {
            code: "database_not_empty",
            what: "company data in this database (use --force to add the demo anyway)".into(),
        });
    }
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let now = SystemClock.now();
    let (managers, manager_password) = demo_managers(store.clone()).await?;
    let channels = demo_channels(&*store, now).await?;
    let tags = demo_tags(&*store, now).await?;
    // Answer within 5 minutes, at the latest within 30: waiting dialogs turn yellow, then red.
    store
        .set_default_time_limits(TimeLimits {
            warning_secs: Some(300),
            danger_secs: Some(1_800),
        })
        .await?;

    let bar = if progress {
        ProgressBar::new(size.clients as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(ProgressStyle::with_template("{msg} {bar:40} {pos}/{len}").expect("template"));
    bar.set_message("demo dialogs");
    let run = format!("{:04x}", rng.random::<u16>());
    let mut messages = 0;
    let mut client_ids = Vec::with_capacity(size.clients);
    for n in 0..size.clients {
        let (channel_id, kind, channel_name) = channels.choose(&mut rng).expect("channels").clone();
        let russian = rng.random_bool(0.75);
        let name = person(&mut rng, russian);
        let first_contact = now.minus(Duration::from_secs(rng.random_range(3_600..42 * 86_400)));
        let tag_count = rng.random_range(0..=3);
        let chosen: Vec<TagId> = tags.choose_multiple(&mut rng, tag_count).copied().collect();
        let client_tags: Vec<(TagId, bool)> = chosen
            .into_iter()
            .map(|t| (t, rng.random_bool(0.4)))
            .collect();
        let client = store
            .create_client(&NewClient {
                name: name.clone(),
                phone: rng.random_bool(0.8).then(|| {
                    format!(
                        "+7 9{:02} {:03}-{:02}-{:02}",
                        rng.random_range(0..100),
                        rng.random_range(0..1000),
                        rng.random_range(0..100),
                        rng.random_range(0..100)
                    )
                }),
                email: rng
                    .random_bool(0.5)
                    .then(|| format!("client{run}{n}@example.com")),
                source: Some(ClientSource {
                    channel_id,
                    channel_kind: kind,
                    channel_name,
                    first_contact_at: first_contact,
                    page: (kind == ChannelKind::Widget)
                        .then(|| "https://shop.example.com/catalog".to_owned()),
                    utm: (kind == ChannelKind::Widget)
                        .then(|| r#"{"utm_source":"yandex","utm_medium":"cpc"}"#.to_owned()),
                }),
                tags: client_tags,
                created_at: first_contact,
            })
            .await?;
        client_ids.push(client);
        let responsible = if rng.random_bool(0.85) {
            managers.choose(&mut rng).copied()
        } else {
            None
        };
        let history = conversation(&mut rng, russian, first_contact, now, responsible);
        messages += history.len();
        let contact_external_id = format!("demo-{run}-{n}");
        store
            .import_dialog(&ImportDialog {
                channel_id,
                client_id: Some(client),
                contact_external_id: contact_external_id.clone(),
                contact_name: name.clone(),
                responsible,
                closed: rng.random_bool(0.2),
                messages: history,
            })
            .await?;
        // A third of the clients have just written again: unread, waiting, some reopened.
        if rng.random_bool(0.33) {
            let lines = if russian {
                texts::CLIENT_RU
            } else {
                texts::CLIENT_EN
            };
            let fresh = InboundMessage {
                attachments: Vec::new(),
                quote_external_id: None,
                channel_id,
                contact_external_id,
                contact_name: name,
                external_id: format!("demo-{run}-{n}-live"),
                body: (*lines.choose(&mut rng).expect("lines")).to_owned(),
                sent_at: now,
                details: Default::default(),
            };
            let at = now.minus(Duration::from_secs(rng.random_range(0..7_200)));
            store.ingest_client_message(&fresh, at).await?;
            messages += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    for n in 0..size.orders.min(client_ids.len()) {
        let client_id = *client_ids.choose(&mut rng).expect("clients");
        let status = *["new", "in_progress", "completed", "completed"]
            .choose(&mut rng)
            .expect("statuses");
        // A few lines from the shop's shelf.
        let shelf = [
            ("Sencha green tea, 100 g", 45_000),
            ("Milk oolong, 50 g", 62_000),
            ("Cast-iron teapot, 0.8 l", 320_000),
            ("Porcelain cups, set of 4", 180_000),
            ("Gift box", 25_000),
        ];
        let items: Vec<OrderItem> = (0..rng.random_range(1..=3))
            .map(|_| {
                let (name, price_minor) = *shelf.choose(&mut rng).expect("a shelf");
                OrderItem {
                    name: name.into(),
                    quantity: rng.random_range(1..=3),
                    price_minor,
                }
            })
            .collect();
        let total_minor = items.iter().map(|i| i.quantity * i.price_minor).sum();
        let order = NewOrder {
            number: Some(format!("{run}-{:04}", n + 1)),
            client_id,
            dialog_id: None,
            manager_id: managers.choose(&mut rng).copied(),
            status: OrderStatus::parse(status)?,
            items,
            total_minor,
            currency: Currency::parse("RUB")?,
            with_source: false,
            created_at: now.minus(Duration::from_secs(rng.random_range(0..30 * 86_400))),
        };
        store.create_order(&order).await?;
    }
    let everyone = store.list_managers().await?;
    let managers = managers
        .iter()
        .filter_map(|id| everyone.iter().find(|m| m.id == *id))
        .map(|m| m.email.to_string())
        .collect();
    Ok(DemoReport {
        managers,
        manager_password,
        channels: channels.len(),
        clients: size.clients,
        messages,
    })
}

pub(crate) fn person(rng: &mut StdRng, russian: bool) -> String {
    let (first, last) = if russian {
        (texts::FIRST_RU, texts::LAST_RU)
    } else {
        (texts::FIRST_EN, texts::LAST_EN)
    };
    let f = first.choose(rng).expect("names");
    let mut l = (*last.choose(rng).expect("names")).to_owned();
    // Russian surnames agree with the first name: feminine names end in а or я.
    if russian && (f.ends_with('а') || f.ends_with('я')) {
        l = if let Some(stem) = l.strip_suffix("ий") {
            format!("{stem}ая")
        } else {
            format!("{l}а")
        };
    }
    format!("{f} {l}")
}

/// A conversation between `start` and `end`, oldest first; about a third end with the client
/// waiting for an answer.
fn conversation(
    rng: &mut StdRng,
    russian: bool,
    start: Timestamp,
    end: Timestamp,
    manager: Option<ManagerId>,
) -> Vec<ImportMessage> {
    let (client_lines, manager_lines) = if russian {
        (texts::CLIENT_RU, texts::MANAGER_RU)
    } else {
        (texts::CLIENT_EN, texts::MANAGER_EN)
    };
    // Most dialogs are short; a few are long.
    let len = if rng.random_bool(0.1) {
        rng.random_range(20..60)
    } else {
        rng.random_range(1..8)
    };
    let span = (end.0 - start.0).max(1);
    let step = span / (len as i64 + 1);
    let mut at = start;
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let from_client = i == 0 || manager.is_none() || rng.random_bool(0.5);
        let (author, lines) = match (from_client, manager) {
            (false, Some(m)) => (Author::Manager(m), manager_lines),
            _ => (Author::Client, client_lines),
        };
        out.push(ImportMessage {
            author,
            body: (*lines.choose(rng).expect("lines")).to_owned(),
            external_id: None,
            created_at: at,
        });
        at = Timestamp(at.0 + rng.random_range(step / 2..=step.max(1)));
    }
    out
}

async fn demo_managers(store: Arc<dyn Store>) -> CoreResult<(Vec<ManagerId>, Option<String>)> {
    let service = ManagerService::new(
        store.clone(),
        Arc::new(SystemClock),
        beseda_core::secret::Passwords::default(),
    );
    let password = secret::random_password();
    let mut created_any = false;
    let mut ids = Vec::new();
    for (i, name) in texts::MANAGERS.iter().enumerate() {
        let email = Email::parse(&format!("manager{}@demo.beseda.local", i + 1))?;
        let id = match service.find_by_email(&email).await {
            Ok(m) => m.id,
            Err(CoreError::NotFound(_)) => {
                created_any = true;
                let new = CreateManager {
                    email,
                    name: DisplayName::parse("name", name)?,
                    password: Password::parse(&password)?,
                    locale: None,
                    is_system_admin: false,
                };
                service.register(new).await?.id
            }
            Err(e) => return Err(e),
        };
        ids.push(id);
    }
    let groups = [
        (
            "Администраторы чатов",
            Grants {
                chats_admin: true,
                ..Grants::default()
            },
            &ids[..1],
        ),
        (
            "Старшие менеджеры",
            Grants {
                delete_dialogs: true,
                view_all_dialogs: true,
                ..Grants::default()
            },
            &ids[1..3],
        ),
        (
            "Настройки",
            Grants {
                manage_settings: true,
                ..Grants::default()
            },
            &ids[..1],
        ),
    ];
    let existing: Vec<String> = store
        .list_groups()
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    for (name, grants, members) in groups {
        if existing.iter().any(|g| g == name) {
            continue;
        }
        let group = store
            .create_group(&beseda_core::manager::NewGroup {
                name: name.into(),
                grants,
                created_at: SystemClock.now(),
            })
            .await?;
        store.set_group_members(group.id, members).await?;
    }
    Ok((ids, created_any.then_some(password)))
}

async fn demo_channels(
    store: &dyn Store,
    now: Timestamp,
) -> CoreResult<Vec<(ChannelId, ChannelKind, String)>> {
    let list = [
        (ChannelKind::Telegram, "Магазин в Telegram"),
        (ChannelKind::WhatsappQr, "WhatsApp продажи"),
        (ChannelKind::WhatsappBusiness, "WhatsApp поддержка"),
        (ChannelKind::Vk, "Сообщество ВКонтакте"),
        (ChannelKind::FbInstagram, "Instagram @beseda.store"),
        (ChannelKind::Widget, "Чат на сайте"),
        (ChannelKind::Custom, "Avito"),
    ];
    // The channels belong to the demo's own module, which the living demo plays (live.rs).
    let module = store
        .create_module(
            live::DEMO_MODULE,
            &TokenHash(format!("unused-{}", secret::random_password())),
            "http://127.0.0.1:9/",
            &secret::random_password(),
            now,
        )
        .await?;
    let mut out = Vec::new();
    for (i, (kind, name)) in list.into_iter().enumerate() {
        let channel = store
            .register_channel(
                module.id,
                &ChannelRegistration {
                    kind,
                    name: name.into(),
                    avatar_url: None,
                    external_id: Some(format!("demo-channel-{i}")),
                    capabilities: kind.default_capabilities(),
                },
                now,
            )
            .await?;
        out.push((channel.id, kind, name.to_owned()));
    }
    Ok(out)
}

async fn demo_tags(store: &dyn Store, now: Timestamp) -> CoreResult<Vec<TagId>> {
    let existing = store.list_tags().await?;
    let mut out = Vec::new();
    for (name, color) in texts::TAGS.iter().zip(TagColor::ALL) {
        let id = match existing.iter().find(|t| t.name == *name) {
            Some(t) => t.id,
            None => {
                store
                    .create_tag(&NewTag {
                        name: (*name).into(),
                        color,
                        created_at: now,
                    })
                    .await?
            }
        };
        out.push(id);
    }
    Ok(out)
}

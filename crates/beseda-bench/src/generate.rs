//! `beseda-bench generate`: a realistic company at scale for the list's benchmarks (issue
//! figures at a million dialogs): 50 managers, 10 channels, 30 tags, 2 bots, and dialogs whose
//! lengths are skewed (most short, a few very long), in Russian and English, some assigned,
//! closed, waiting, unread, tagged and pinned, a few clients blocked. Written in bulk, many rows
//! per statement, with a progress bar.

use beseda_core::channel::ChannelKind;
use beseda_core::company::{NewChannel, NewTag, PREVIEW_CHARS, TagColor};
use beseda_core::dialog::DeliveryStatus;
use beseda_core::ids::{
    BotId, ChannelId, ClientId, ContactId, DialogId, ManagerId, MessageId, TagId,
};
use beseda_core::library::TimeLimits;
use beseda_core::manager::NewManager;
use beseda_core::store::{CompanyStore, LibraryStore, ManagerStore};
use beseda_core::time::{Clock, SystemClock, Timestamp};
use beseda_core::values::Email;
use beseda_server::demo::texts;
use beseda_store_sql::{
    BulkClient, BulkClientTag, BulkContact, BulkDialog, BulkLoad, BulkMessage, SqlStore,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Dialogs written per round (one transaction per table).
const BATCH: usize = 2_000;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Dialogs between two refreshes of the planners' statistics.
const STATISTICS_EVERY: usize = 50_000;

pub async fn generate(database_url: &str, dialogs: usize, messages: usize) -> anyhow::Result<()> {
    let store: SqlStore = match beseda_server::config::DatabaseUrl::parse(database_url)? {
        beseda_server::config::DatabaseUrl::Sqlite(u) => beseda_store_sqlite::open(&u).await?,
        beseda_server::config::DatabaseUrl::Postgres(u) => beseda_store_postgres::open(&u).await?,
    };
    anyhow::ensure!(
        store.data_counts().await?.dialogs == 0,
        "the database already has dialogs; generate into an empty one"
    );
    let now = SystemClock.now();
    let started = std::time::Instant::now();
    let hash = beseda_core::secret::hash_password("bench password")?;
    let mut managers = Vec::new();
    for i in 0..=50 {
        let email = if i == 0 {
            "admin@bench.local".to_owned()
        } else {
            format!("manager{i}@bench.local")
        };
        let m = store
            .create_manager(&NewManager {
                email: Email::parse(&email)?,
                name: if i == 0 {
                    "Admin".into()
                } else {
                    texts::MANAGERS[i % texts::MANAGERS.len()].to_owned()
                },
                password_hash: hash.clone(),
                locale: None,
                is_system_admin: i == 0,
                created_at: now,
            })
            .await?;
        if i > 0 {
            managers.push(m.id);
        }
    }
    let kinds = [
        ChannelKind::Telegram,
        ChannelKind::WhatsappBusiness,
        ChannelKind::WhatsappQr,
        ChannelKind::Vk,
        ChannelKind::FbInstagram,
        ChannelKind::Widget,
    ];
    let mut channels = Vec::new();
    for i in 0..10 {
        let kind = kinds[i % kinds.len()];
        let name = format!(
            "{} {}",
            ["Магазин", "Shop", "Поддержка", "Sales", "Опт"][i % 5],
            i + 1
        );
        let id = store
            .create_channel(&NewChannel {
                kind,
                name: name.clone(),
                capabilities: kind.default_capabilities(),
                created_at: now,
            })
            .await?;
        channels.push((id, kind, name));
    }
    let colors = [
        TagColor::Red,
        TagColor::Blue,
        TagColor::Green,
        TagColor::Orange,
        TagColor::Gray,
        TagColor::GrayBlue,
    ];
    let mut tags = Vec::new();
    for i in 0..30 {
        let base = texts::TAGS[i % texts::TAGS.len()];
        let name = if i < texts::TAGS.len() {
            base.to_owned()
        } else {
            format!("{base} {i}")
        };
        tags.push(
            store
                .create_tag(&NewTag {
                    name,
                    color: colors[i % colors.len()],
                    created_at: now,
                })
                .await?,
        );
    }
    let bots = store
        .bulk_bots(&["Bot 1".into(), "Bot 2".into()], now)
        .await?;
    store
        .set_default_time_limits(TimeLimits {
            warning_secs: Some(300),
            danger_secs: Some(1800),
        })
        .await?;

    let g = Generator {
        rng: StdRng::seed_from_u64(1_000_000),
        now: now.0,
        managers,
        bots,
        channels,
        tags,
        mean_length: messages as f64 / dialogs as f64,
    };
    let bar = indicatif::ProgressBar::new(dialogs as u64);
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} dialogs, {msg}",
    )?);
    let mut g = g;
    let mut written_messages = 0usize;
    let (last_client, last_message) = store.bulk_last_ids().await?;
    let (mut client_id, mut message_id) = (last_client.0, last_message.0);
    let mut first = 0;
    while first < dialogs {
        let n = BATCH.min(dialogs - first);
        let batch = g.batch(client_id, message_id, n);
        client_id += n as i64;
        message_id += batch.messages.len() as i64;
        written_messages += batch.messages.len();
        store.bulk_load(batch).await?;
        // The triggers' lookups are planned from statistics; without fresh ones (autovacuum may
        // be off) PostgreSQL took a growing table for an empty one and each tag cost 15 ms.
        if (first / STATISTICS_EVERY) != ((first + n) / STATISTICS_EVERY) {
            store.refresh_statistics().await?;
        }
        first += n;
        bar.set_position(first as u64);
        bar.set_message(format!("{written_messages} messages"));
    }
    bar.finish();
    store.finish_bulk_load().await?;
    println!(
        "generated {dialogs} dialogs and {written_messages} messages in {:.0} s ({database_url})",
        started.elapsed().as_secs_f64()
    );
    println!(
        "sign in as admin@bench.local or manager1@bench.local … manager50@bench.local, password \"bench password\""
    );
    Ok(())
}

struct Generator {
    rng: StdRng,
    now: i64,
    managers: Vec<ManagerId>,
    bots: Vec<BotId>,
    channels: Vec<(ChannelId, ChannelKind, String)>,
    tags: Vec<TagId>,
    mean_length: f64,
}

impl Generator {
    /// A dialog's length: most short, a few very long, averaging the requested mean.
    fn length(&mut self) -> usize {
        let u: f64 = self.rng.random();
        // (1 - u)^-0.8 has mean 5: a heavy tail, cut at 3,000 messages; rounding up and the
        // cut together take about 7% off, given back here (measured: 9.27 a dialog for 10).
        let scale = self.mean_length / 5.0 * 1.08;
        ((scale * (1.0 - u).powf(-0.8)).ceil() as usize).clamp(1, 3_000)
    }

    fn pick<'a>(&mut self, from: &'a [&'a str]) -> &'a str {
        from[self.rng.random_range(0..from.len())]
    }

    fn batch(&mut self, first_client: i64, first_message: i64, n: usize) -> BulkLoad {
        let mut b = BulkLoad::default();
        let mut message_id = first_message;
        for i in 0..n {
            let id = first_client + 1 + i as i64;
            let russian = self.rng.random_bool(0.7);
            let name = if russian {
                format!(
                    "{} {}",
                    self.pick(texts::FIRST_RU),
                    self.pick(texts::LAST_RU)
                )
            } else {
                format!(
                    "{} {}",
                    self.pick(texts::FIRST_EN),
                    self.pick(texts::LAST_EN)
                )
            };
            let (channel, kind, channel_name) =
                self.channels[self.rng.random_range(0..self.channels.len())].clone();
            let phone = format!("+7900{:07}", id % 10_000_000);
            let email = format!("client{id}@example.com");
            let length = self.length();
            // Dialogs start over the last two years; messages follow minutes to days apart.
            let start = self.now - self.rng.random_range(DAY_MS..730 * DAY_MS);
            let mut t = start;
            let holder: u32 = self.rng.random_range(0..100);
            let (manager, bot) = match holder {
                0..70 => (
                    Some(self.managers[self.rng.random_range(0..self.managers.len())]),
                    None,
                ),
                70..73 => (None, Some(self.bots[holder as usize % self.bots.len()])),
                _ => (None, None),
            };
            let mut client_count = 0;
            let mut last_client_seq = 0;
            let mut waiting_since = None;
            let mut last = (String::new(), true);
            for seq in 1..=length as i64 {
                message_id += 1;
                let from_client = seq == 1 || self.rng.random_bool(0.55);
                let body = if from_client {
                    let text = self.pick(if russian {
                        texts::CLIENT_RU
                    } else {
                        texts::CLIENT_EN
                    });
                    // One message in a hundred names an order: rare words for search.
                    if self.rng.random_bool(0.01) {
                        format!("{text} Заказ Z{message_id}")
                    } else {
                        text.to_owned()
                    }
                } else {
                    self.pick(if russian {
                        texts::MANAGER_RU
                    } else {
                        texts::MANAGER_EN
                    })
                    .to_owned()
                };
                let author = if from_client {
                    None
                } else {
                    Some(manager.unwrap_or(self.managers[seq as usize % self.managers.len()]))
                };
                if from_client {
                    client_count += 1;
                    last_client_seq = seq;
                    waiting_since = waiting_since.or(Some(t));
                } else {
                    waiting_since = None;
                }
                b.messages.push(BulkMessage {
                    id: MessageId(message_id),
                    dialog_id: DialogId(id),
                    channel_id: channel,
                    seq,
                    manager: author,
                    body: body.clone(),
                    external_id: from_client.then(|| format!("g{message_id}")),
                    status: (!from_client).then_some(DeliveryStatus::Read),
                    created_at: Timestamp(t),
                });
                last = (body, from_client);
                if seq < length as i64 {
                    let gap = if self.rng.random_bool(0.9) {
                        self.rng.random_range(10_000..600_000)
                    } else {
                        self.rng.random_range(DAY_MS / 4..3 * DAY_MS)
                    };
                    t = (t + gap).min(self.now - 1_000);
                }
            }
            let closed = waiting_since.is_none() && self.rng.random_bool(0.6);
            // A few dialogs have client messages nobody has read yet.
            let baseline = if last.1 && self.rng.random_bool(0.05) {
                client_count - 1
            } else {
                client_count
            };
            let blocked = self.rng.random_bool(0.005).then_some(t);
            let start = Timestamp(start);
            b.clients.push(BulkClient {
                id: ClientId(id),
                name: name.clone(),
                phone: phone.clone(),
                email: email.clone(),
                channel: (channel, kind, channel_name),
                first_contact_at: start,
                blocked_at: blocked.map(Timestamp),
            });
            b.contacts.push(BulkContact {
                id: ContactId(id),
                channel_id: channel,
                external_id: format!("g{id}"),
                client_id: ClientId(id),
                name,
                phone,
                email,
                created_at: start,
            });
            b.dialogs.push(BulkDialog {
                id: DialogId(id),
                channel_id: channel,
                contact_id: ContactId(id),
                client_id: ClientId(id),
                open: !closed,
                manager,
                bot,
                last_seq: length as i64,
                last_client_seq,
                client_count,
                read_baseline_client_count: baseline,
                last_message_id: MessageId(message_id),
                last_from_client: last.1,
                last_message_preview: last.0.chars().take(PREVIEW_CHARS).collect(),
                last_activity_at: Timestamp(t),
                waiting_since: if closed {
                    None
                } else {
                    waiting_since.map(Timestamp)
                },
                opened_at: start,
                closed_at: closed.then_some(Timestamp(t)),
            });
            if self.rng.random_bool(0.4) {
                let mut chosen = Vec::new();
                for _ in 0..self.rng.random_range(1..4) {
                    // Some tags are far more common than others.
                    let u: f64 = self.rng.random();
                    let tag = self.tags[((u * u) * self.tags.len() as f64) as usize];
                    if !chosen.contains(&tag) {
                        chosen.push(tag);
                        let pinned = self.rng.random_bool(0.15);
                        b.client_tags.push(BulkClientTag {
                            client_id: ClientId(id),
                            tag_id: tag,
                            pinned,
                            created_at: start,
                        });
                    }
                }
            }
        }
        b
    }
}

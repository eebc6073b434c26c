//! `beseda bench generate`: a realistic company at scale for the list's benchmarks (issue
//! figures at a million dialogs): 50 managers, 10 channels, 30 tags, 2 bots, and dialogs whose
//! lengths are skewed (most short, a few very long), in Russian and English, some assigned,
//! closed, waiting, unread, tagged and pinned, a few clients blocked. Written in bulk, many rows
//! per statement, with a progress bar.

use crate::demo::texts;
use beseda_core::channel::ChannelKind;
use beseda_core::company::{NewChannel, NewTag, PREVIEW_CHARS, TagColor};
use beseda_core::ids::{ChannelId, ManagerId, TagId};
use beseda_core::library::TimeLimits;
use beseda_core::manager::NewManager;
use beseda_core::store::{CompanyStore, LibraryStore, ManagerStore};
use beseda_core::time::{Clock, SystemClock};
use beseda_core::values::Email;
use beseda_store_sql::{SqlStore, SqlValue};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Dialogs written per round (one transaction per table).
const BATCH: usize = 2_000;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Dialogs between two refreshes of the planners' statistics.
const STATISTICS_EVERY: usize = 50_000;

pub async fn generate(database_url: &str, dialogs: usize, messages: usize) -> anyhow::Result<()> {
    let store: SqlStore = match crate::config::DatabaseUrl::parse(database_url)? {
        crate::config::DatabaseUrl::Sqlite(u) => beseda_store_sqlite::open(&u).await?,
        crate::config::DatabaseUrl::Postgres(u) => beseda_store_postgres::open(&u).await?,
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
    store
        .bulk_insert(
            "bots",
            &["id", "kind", "name", "config", "active", "created_at"],
            (1..=2)
                .map(|i| {
                    vec![
                        SqlValue::from(i64::from(i)),
                        "distribution".into(),
                        format!("Bot {i}").into(),
                        "{}".into(),
                        true.into(),
                        now.into(),
                    ]
                })
                .collect(),
        )
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
    let (mut client_id, mut message_id) = (
        store.max_id("clients").await?,
        store.max_id("messages").await?,
    );
    let mut first = 0;
    while first < dialogs {
        let n = BATCH.min(dialogs - first);
        let batch = g.batch(client_id, message_id, n);
        client_id += n as i64;
        message_id += batch.messages.len() as i64;
        written_messages += batch.messages.len();
        batch.write(&store).await?;
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
    store
        .finish_bulk_load(&["clients", "contacts", "dialogs", "messages", "bots"])
        .await?;
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
    channels: Vec<(ChannelId, ChannelKind, String)>,
    tags: Vec<TagId>,
    mean_length: f64,
}

#[derive(Default)]
struct Batch {
    clients: Vec<Vec<SqlValue>>,
    contacts: Vec<Vec<SqlValue>>,
    dialogs: Vec<Vec<SqlValue>>,
    messages: Vec<Vec<SqlValue>>,
    client_tags: Vec<Vec<SqlValue>>,
}

impl Batch {
    async fn write(self, store: &SqlStore) -> anyhow::Result<()> {
        store
            .bulk_insert(
                "clients",
                &[
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
                ],
                self.clients,
            )
            .await?;
        store
            .bulk_insert(
                "contacts",
                &[
                    "id",
                    "channel_id",
                    "external_id",
                    "client_id",
                    "name",
                    "phone",
                    "email",
                    "created_at",
                ],
                self.contacts,
            )
            .await?;
        store
            .bulk_insert(
                "dialogs",
                &[
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
                ],
                self.dialogs,
            )
            .await?;
        store
            .bulk_insert(
                "messages",
                &[
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
                ],
                self.messages,
            )
            .await?;
        store
            .bulk_insert(
                "client_tags",
                &["client_id", "tag_id", "pinned", "created_at"],
                self.client_tags,
            )
            .await?;
        Ok(())
    }
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

    fn batch(&mut self, first_client: i64, first_message: i64, n: usize) -> Batch {
        let mut b = Batch::default();
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
                70..73 => (None, Some(1 + i64::from(holder % 2))),
                _ => (None, None),
            };
            let mut client_count = 0;
            let mut last_client_seq = 0;
            let mut waiting_since = None;
            let mut last = (String::new(), "client");
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
                b.messages.push(vec![
                    message_id.into(),
                    id.into(),
                    channel.into(),
                    seq.into(),
                    (if from_client { "client" } else { "manager" }).into(),
                    author.into(),
                    "text".into(),
                    body.clone().into(),
                    from_client.then(|| format!("g{message_id}")).into(),
                    (if from_client { None } else { Some("read") }).into(),
                    t.into(),
                ]);
                last = (body, if from_client { "client" } else { "manager" });
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
            let baseline = if last.1 == "client" && self.rng.random_bool(0.05) {
                client_count - 1
            } else {
                client_count
            };
            let blocked = self.rng.random_bool(0.005).then_some(t);
            b.clients.push(vec![
                id.into(),
                name.clone().into(),
                phone.clone().into(),
                email.clone().into(),
                kind.as_str().into(),
                channel.into(),
                channel_name.into(),
                start.into(),
                blocked.into(),
                start.into(),
                start.into(),
            ]);
            b.contacts.push(vec![
                id.into(),
                channel.into(),
                format!("g{id}").into(),
                id.into(),
                name.into(),
                phone.into(),
                email.into(),
                start.into(),
            ]);
            let preview: String = last.0.chars().take(PREVIEW_CHARS).collect();
            b.dialogs.push(vec![
                id.into(),
                channel.into(),
                id.into(),
                id.into(),
                (if closed { "closed" } else { "open" }).into(),
                manager.into(),
                bot.into(),
                (length as i64).into(),
                last_client_seq.into(),
                client_count.into(),
                baseline.into(),
                message_id.into(),
                last.1.into(),
                preview.into(),
                t.into(),
                (if closed { None } else { waiting_since }).into(),
                start.into(),
                closed.then_some(t).into(),
                start.into(),
            ]);
            if self.rng.random_bool(0.4) {
                let mut chosen = Vec::new();
                for _ in 0..self.rng.random_range(1..4) {
                    // Some tags are far more common than others.
                    let u: f64 = self.rng.random();
                    let tag = self.tags[((u * u) * self.tags.len() as f64) as usize];
                    if !chosen.contains(&tag) {
                        chosen.push(tag);
                        let pinned = self.rng.random_bool(0.15);
                        b.client_tags.push(vec![
                            id.into(),
                            tag.into(),
                            pinned.into(),
                            start.into(),
                        ]);
                    }
                }
            }
        }
        b
    }
}

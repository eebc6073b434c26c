//! `beseda-bench inbox`: the dialog list on a generated database (`beseda-bench generate`): the first
//! and next page under each filter and sort, combined filters, tag counts, header counters and
//! search, as an administrator and as a manager, while client messages keep arriving. The
//! queries run in this process through the same services the API calls, so the figures are the
//! server's time without HTTP.

use super::percentile;
use beseda_core::dialog::InboundMessage;
use beseda_core::event::{EventBus, LocalBus};
use beseda_core::ids::{ChannelId, ManagerId, TagId};
use beseda_core::inbox::{BotFilter, DialogFilter, DialogSort, Holder, LastFrom, TagFilter};
use beseda_core::manager::Actor;
use beseda_core::secret::TokenHasher;
use beseda_core::services::auth::{AuthService, LoginLimits};
use beseda_core::services::dialogs::DialogService;
use beseda_core::services::inbox::InboxService;
use beseda_core::time::{Clock, SystemClock, Timestamp};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const DAY_MS: i64 = 24 * 3600 * 1000;

pub async fn inbox(database_url: &str, arrivals: u32, runs: usize) -> anyhow::Result<()> {
    let url = beseda_server::config::DatabaseUrl::parse(database_url)?;
    let store = beseda_server::startup::open_store(&url).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let bus: Arc<dyn EventBus> = Arc::new(LocalBus::new(4096));
    let auth = AuthService::new(
        store.clone(),
        clock.clone(),
        TokenHasher::new(b"bench"),
        LoginLimits::default(),
        beseda_core::secret::Passwords::default(),
    )?;
    let inbox = InboxService::new(store.clone(), clock.clone(), bus.clone());
    let dialogs = Arc::new(DialogService::new(store.clone(), clock.clone(), bus));
    let actor = |email: &'static str| {
        let (store, auth) = (store.clone(), &auth);
        async move {
            let id = super::generated_manager(&*store, email).await?;
            Ok::<Actor, anyhow::Error>(auth.actor(id).await?)
        }
    };
    let admin = actor("admin@bench.local").await?;
    let manager = actor("manager1@bench.local").await?;
    let counts = store.data_counts().await?;
    println!(
        "{} dialogs, {} messages ({})",
        counts.dialogs,
        counts.messages,
        store.backend()
    );

    // Client messages arrive all along: returning clients mostly, some new.
    let channel = ChannelId(1);
    let arrived = Arc::new(AtomicU64::new(0));
    let stop = tokio_util::sync::CancellationToken::new();
    let feeder = {
        let (dialogs, arrived, stop) = (dialogs.clone(), arrived.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_micros(
                1_000_000 / u64::from(arrivals.max(1)),
            ));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut n = 0u64;
            let writers = Arc::new(tokio::sync::Semaphore::new(4));
            while !stop.is_cancelled() {
                tick.tick().await;
                n += 1;
                let m = InboundMessage {
                    channel_id: channel,
                    contact_external_id: format!("arrival-{}", n % 5000),
                    contact_name: "Новый клиент".into(),
                    external_id: format!("arrival-{}-{n}", SystemClock.now().0),
                    // The clients' usual lines, as in the generated history: the newest
                    // messages then hold common words as often as the older ones do.
                    body: {
                        let lines = if n.is_multiple_of(4) {
                            beseda_server::demo::texts::CLIENT_EN
                        } else {
                            beseda_server::demo::texts::CLIENT_RU
                        };
                        lines[(n as usize / 4) % lines.len()].to_owned()
                    },
                    sent_at: SystemClock.now(),
                    details: Default::default(),
                    attachments: Vec::new(),
                    quote_external_id: None,
                };
                // At most a few writes in flight, as a server's connections allow: a tick that
                // finds them all busy is skipped, and the rate achieved is reported.
                let Ok(permit) = writers.clone().try_acquire_owned() else {
                    continue;
                };
                let dialogs = dialogs.clone();
                let arrived = arrived.clone();
                tokio::spawn(async move {
                    if dialogs.receive(m).await.is_ok() {
                        arrived.fetch_add(1, Ordering::Relaxed);
                    }
                    drop(permit);
                });
            }
        })
    };
    let started = Instant::now();

    let now = SystemClock.now().0;
    let week = Some((Timestamp(now - 7 * DAY_MS), Timestamp(now)));
    let f = |edit: &dyn Fn(&mut DialogFilter)| {
        let mut x = DialogFilter::default();
        edit(&mut x);
        x
    };
    let cases: Vec<(&str, DialogFilter, DialogSort)> = vec![
        (
            "no filter, by activity",
            DialogFilter::default(),
            DialogSort::Activity,
        ),
        (
            "no filter, processing order",
            DialogFilter::default(),
            DialogSort::Processing,
        ),
        (
            "responsible = one manager",
            f(&|x| x.holders = vec![Holder::Manager(ManagerId(2))]),
            DialogSort::Activity,
        ),
        (
            "responsible = nobody",
            f(&|x| x.holders = vec![Holder::Nobody]),
            DialogSort::Activity,
        ),
        (
            "bots = any",
            f(&|x| x.bots = Some(BotFilter::Any)),
            DialogSort::Activity,
        ),
        (
            "channel",
            f(&|x| x.channels = vec![ChannelId(3)]),
            DialogSort::Activity,
        ),
        (
            "status = closed",
            f(&|x| x.open = Some(false)),
            DialogSort::Activity,
        ),
        (
            "last from client",
            f(&|x| x.last_from = Some(LastFrom::Client)),
            DialogSort::Activity,
        ),
        (
            "period = last 7 days",
            f(&|x| x.period = week),
            DialogSort::Activity,
        ),
        (
            "tag (common)",
            f(&|x| x.tags = TagFilter::AllOf(vec![TagId(1)])),
            DialogSort::Activity,
        ),
        (
            "tag (rare)",
            f(&|x| x.tags = TagFilter::AllOf(vec![TagId(30)])),
            DialogSort::Activity,
        ),
        (
            "no tags",
            f(&|x| x.tags = TagFilter::NoTags),
            DialogSort::Activity,
        ),
        ("pinned tags", f(&|x| x.pinned = true), DialogSort::Activity),
        (
            "combined: channel + open + last from client",
            f(&|x| {
                x.channels = vec![ChannelId(3)];
                x.open = Some(true);
                x.last_from = Some(LastFrom::Client);
            }),
            DialogSort::Activity,
        ),
        (
            "combined: two tags (AND)",
            f(&|x| x.tags = TagFilter::AllOf(vec![TagId(1), TagId(2)])),
            DialogSort::Activity,
        ),
        (
            "combined: manager + tag + processing",
            f(&|x| {
                x.holders = vec![Holder::Manager(ManagerId(2))];
                x.tags = TagFilter::AllOf(vec![TagId(1)]);
            }),
            DialogSort::Processing,
        ),
    ];
    println!();
    println!("| query | viewer | first page p50 / p99 ms | next page p50 / p99 ms |");
    println!("|---|---|---|---|");
    for (name, filter, sort) in &cases {
        for (who, a) in [("admin", &admin), ("manager", &manager)] {
            let mut first = Vec::new();
            let mut next = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                let page = inbox.list(a, filter.clone(), *sort, None, 50).await?;
                first.push(ms(t));
                if let Some(c) = page.next {
                    let t = Instant::now();
                    inbox.list(a, filter.clone(), *sort, Some(&c), 50).await?;
                    next.push(ms(t));
                }
            }
            println!("| {name} | {who} | {} | {} |", p(&mut first), p(&mut next));
        }
    }
    println!();
    println!("| query | viewer | p50 / p99 ms |");
    println!("|---|---|---|");
    for (who, a) in [("admin", &admin), ("manager", &manager)] {
        let mut t_counts = Vec::new();
        let mut t_counters = Vec::new();
        for i in 0..runs {
            // The tag counts take seconds at this size: a few runs tell.
            if i < 5 {
                let t = Instant::now();
                inbox.panel(a, false, None).await?;
                t_counts.push(ms(t));
            }
            let t = Instant::now();
            dialogs.counters(a).await?;
            t_counters.push(ms(t));
        }
        println!(
            "| tag counts (filter panel) | {who} | {} |",
            p(&mut t_counts)
        );
        println!("| header counters | {who} | {} |", p(&mut t_counters));
    }
    // One message in a hundred names an order: find one to look for.
    let order = inbox
        .search(&admin, "Заказ Z", None, 1)
        .await?
        .messages
        .first()
        .and_then(|h| {
            h.context
                .split("Заказ ")
                .nth(1)
                .map(|z| z.trim_end_matches('…').to_owned())
        })
        .unwrap_or_else(|| "Z5000000".into());
    for (name, q) in [
        ("search: rare word (an order number)", order.as_str()),
        ("search: common word", "доставка"),
        ("search: substring", "ставк"),
        ("search: Cyrillic phrase", "есть в наличии"),
        ("search: English", "refund"),
        ("search: client's email", "client123456@"),
    ] {
        for (who, a) in [("admin", &admin), ("manager", &manager)] {
            let mut times = Vec::new();
            let mut found = 0;
            for _ in 0..runs.min(50) {
                let t = Instant::now();
                let r = inbox.search(a, q, None, 20).await?;
                times.push(ms(t));
                found = r.messages.len() + r.dialogs.len();
            }
            println!("| {name} ({found} shown) | {who} | {} |", p(&mut times));
        }
    }
    stop.cancel();
    let _ = feeder.await;
    let secs = started.elapsed().as_secs_f64();
    println!();
    println!(
        "client messages arriving meanwhile: {:.0}/s for {secs:.0} s",
        arrived.load(Ordering::Relaxed) as f64 / secs
    );
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn p(v: &mut [f64]) -> String {
    if v.is_empty() {
        return "–".into();
    }
    v.sort_by(f64::total_cmp);
    format!("{:.1} / {:.1}", percentile(v, 50.0), percentile(v, 99.0))
}

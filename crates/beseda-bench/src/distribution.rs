//! `beseda-bench distribution`: the distribution bot and the waiting timer on a generated
//! database (`beseda-bench generate`), through the same services the server runs:
//! - the distribution bot's decision per new dialog with `--managers` present managers in one
//!   channel's pool (a new client message, then one round of the bot): p50/p99;
//! - the waiting timer: the backlog a generated database starts with (its waiting dialogs, due
//!   at once), what a change of limits costs, and a round with nothing due (the idle cost);
//! - the waiting-level event's delay after its deadline, the timer running as in the server.

use super::percentile;
use beseda_core::dialog::InboundMessage;
use beseda_core::distribution::{ChannelRule, RuleSpec, Strategy};
use beseda_core::event::{DomainEvent, EventBus, LocalBus};
use beseda_core::ids::ChannelId;
use beseda_core::library::TimeLimits;
use beseda_core::manager::NewManager;
use beseda_core::services::dialogs::DialogService;
use beseda_core::services::distribution::DistributionService;
use beseda_core::services::timers::WaitingTimer;
use beseda_core::store::Store;
use beseda_core::time::{Clock, SystemClock, Timestamp};
use beseda_core::values::Email;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(what: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    println!(
        "{what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} runs)",
        percentile(&samples, 50.0),
        percentile(&samples, 99.0),
        samples.last().copied().unwrap_or(0.0),
        samples.len()
    );
}

/// A new client on `channel`.
fn arrival(channel: ChannelId, n: usize, now: Timestamp) -> InboundMessage {
    InboundMessage {
        channel_id: channel,
        contact_external_id: format!("dist-bench-{}-{n}", now.0),
        contact_name: format!("New client {n}"),
        external_id: format!("dist-bench-{}-{n}", now.0),
        body: "Hello, is anyone there?".into(),
        sent_at: now,
        attachments: Vec::new(),
        quote_external_id: None,
        details: Default::default(),
    }
}

pub async fn distribution(database_url: &str, managers: usize, runs: usize) -> anyhow::Result<()> {
    let url = beseda_server::config::DatabaseUrl::parse(database_url)?;
    let store = beseda_server::startup::open_store(&url).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let bus = Arc::new(LocalBus::new(1 << 16));
    let events: Arc<dyn EventBus> = bus.clone();
    let counts = store.data_counts().await?;
    println!(
        "{} dialogs, {} messages ({})",
        counts.dialogs,
        counts.messages,
        store.backend()
    );
    timer_backlog(&store, &clock, &events).await?;
    decisions(&store, &clock, &events, managers, runs).await?;
    level_delay(&store, &clock, &bus).await
}

/// The timer's work on a generated database: its backlog, a change of limits, an idle round.
async fn timer_backlog(
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    bus: &Arc<dyn EventBus>,
) -> anyhow::Result<()> {
    let timer = WaitingTimer::new(store.clone(), clock.clone(), bus.clone());
    let limits = TimeLimits {
        warning_secs: Some(300),
        danger_secs: Some(1800),
    };
    // An earlier run set them and settled the backlog already.
    if store.time_limits().await?.default != limits {
        let started = Instant::now();
        store.set_default_time_limits(limits).await?;
        println!(
            "new default limits: every waiting dialog looked at again, marked in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let started = Instant::now();
    let mut settled = 0;
    loop {
        let n = timer.run_once(256).await?;
        settled += n;
        if n < 256 {
            break;
        }
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "timer backlog: {settled} waiting dialogs settled in {took:.1} s ({:.0}/s)",
        settled as f64 / took.max(1e-9)
    );
    let mut idle = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        timer.run_once(256).await?;
        timer.idle_for(Duration::from_secs(1)).await?;
        idle.push(ms(t.elapsed()));
    }
    report(
        "timer round with nothing due (one claim, one look at the next due time)",
        idle,
    );
    Ok(())
}

/// The bot's decision and move per new dialog, `managers` present in the pool.
async fn decisions(
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    bus: &Arc<dyn EventBus>,
    managers: usize,
    runs: usize,
) -> anyhow::Result<()> {
    let now = clock.now();
    let mut pool = Vec::new();
    for m in store.list_managers().await? {
        if !m.disabled {
            pool.push(m.id);
        }
    }
    for n in pool.len()..managers {
        let m = store
            .create_manager(&NewManager {
                email: Email::parse(&format!("pool{n}-{}@bench.local", now.0))?,
                name: format!("Pool manager {n}"),
                password_hash: "not a hash".into(),
                locale: None,
                is_system_admin: false,
                created_at: now,
            })
            .await?;
        pool.push(m.id);
    }
    pool.truncate(managers);
    for m in &pool {
        store.touch_manager(*m, Some(clock.now())).await?;
    }
    let channel = store.channel_options().await?[0].id;
    let mut rule = ChannelRule {
        channel_id: channel,
        since: now,
        spec: RuleSpec {
            managers: pool.clone(),
            groups: Vec::new(),
            strategy: Strategy::RoundRobin,
            max_open: None,
            hours: None,
            greeting: None,
            all_busy: None,
            order_currency: None,
        },
    };
    store.set_distribution_rule(channel, Some(&rule)).await?;
    let bot = DistributionService::new(
        store.clone(),
        clock.clone(),
        bus.clone(),
        Duration::from_secs(600),
    );
    // The queue the generated data holds goes out first.
    let started = Instant::now();
    let mut queued = 0;
    loop {
        let n = bot.run_once().await?;
        queued += n;
        if n == 0 {
            break;
        }
    }
    println!(
        "the channel's queue: {queued} dialogs given out in {:.1} s, {} managers present",
        started.elapsed().as_secs_f64(),
        pool.len()
    );
    let dialogs = DialogService::new(store.clone(), clock.clone(), bus.clone());
    let mut decided = Vec::new();
    let mut rounds = Vec::new();
    for n in 0..runs {
        dialogs.receive(arrival(channel, n, clock.now())).await?;
        let t = Instant::now();
        let moved = bot.run_once().await?;
        let took = t.elapsed();
        anyhow::ensure!(moved == 1, "the new dialog was not given out ({moved})");
        decided.push(ms(took));
        let t = Instant::now();
        bot.run_once().await?;
        rounds.push(ms(t.elapsed()));
    }
    report(
        &format!(
            "distribution, in turn: a new dialog given to one of {} present managers",
            pool.len()
        ),
        decided,
    );
    report("distribution: a round with nothing to give out", rounds);
    // With a cap every present manager's open dialogs are counted (up to the cap).
    rule.spec.max_open = Some(1000);
    store.set_distribution_rule(channel, Some(&rule)).await?;
    let mut capped = Vec::new();
    for n in 0..runs {
        dialogs
            .receive(arrival(channel, 20_000 + n, clock.now()))
            .await?;
        let t = Instant::now();
        bot.run_once().await?;
        capped.push(ms(t.elapsed()));
    }
    report(
        "distribution, in turn under a cap of 1,000 open dialogs: a new dialog given out",
        capped,
    );
    store.set_distribution_rule(channel, None).await?;
    Ok(())
}

/// How long after its deadline a waiting dialog's `waiting_level_changed` is published, with
/// the timer running as in the server (waking at the next due moment).
async fn level_delay(
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    bus: &Arc<LocalBus>,
) -> anyhow::Result<()> {
    let events: Arc<dyn EventBus> = bus.clone();
    let channel = store.channel_options().await?[1].id;
    store
        .set_channel_time_limits(
            channel,
            TimeLimits {
                warning_secs: Some(10),
                danger_secs: None,
            },
        )
        .await?;
    let timer = Arc::new(WaitingTimer::new(
        store.clone(),
        clock.clone(),
        events.clone(),
    ));
    // Settle what the new limit made due before listening.
    while timer.run_once(256).await? == 256 {}
    let mut rx = bus.subscribe();
    let stop = tokio_util::sync::CancellationToken::new();
    let job = tokio::spawn(beseda_server::jobs::timers::run(timer, stop.clone()));
    let dialogs = DialogService::new(store.clone(), clock.clone(), events);
    let mut deadlines = std::collections::HashMap::new();
    let n = 100;
    for i in 0..n {
        let at = clock.now();
        if let beseda_core::dialog::Ingested::Accepted { dialog_id, .. } =
            dialogs.receive(arrival(channel, 10_000 + i, at)).await?
        {
            deadlines.insert(dialog_id, at.0 + 10_000);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut delays = Vec::new();
    let until = Instant::now() + Duration::from_secs(30);
    while delays.len() < deadlines.len() && Instant::now() < until {
        let Ok(Ok(e)) = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await else {
            continue;
        };
        if let (DomainEvent::WaitingLevelChanged { .. }, Some(d)) = (&e.event, e.dialog_id)
            && let Some(deadline) = deadlines.get(&d)
        {
            delays.push((clock.now().0 - deadline) as f64);
        }
    }
    stop.cancel();
    let _ = job.await;
    report(
        "waiting_level_changed after its deadline (the timer's wake-up to the published event)",
        delays,
    );
    Ok(())
}

//! Bots' webhooks (F37): each bot's events are POSTed to it one by one, in order, signed as
//! module webhooks are. A failure is retried with doubling waits; after the policy's tries the
//! bot shows as failing in settings and is tried every few minutes, and the events wait in the
//! log (which keeps them for it): none is skipped. One worker holds a bot at a time (a lease).

use beseda_core::CoreResult;
use beseda_core::bot::BotDelivery;
use beseda_core::event::{Event, EventId};
use beseda_core::store::Store;
use beseda_core::time::Clock;
use beseda_core::transport::{RetryPolicy, sign_webhook};
use beseda_web::app::AppState;
use beseda_web::outbound::{Outbound, read_capped};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
const LEASE: Duration = Duration::from_secs(60);
/// Events read from the log per round.
const BATCH: u32 = 100;

pub struct BotWebhooks {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    http: Outbound,
    owner: String,
    policy: RetryPolicy,
}

impl BotWebhooks {
    pub fn new(state: &AppState) -> CoreResult<BotWebhooks> {
        Ok(BotWebhooks {
            store: state.store.clone(),
            clock: state.clock.clone(),
            http: Outbound::new(state.outbound.clone(), WEBHOOK_TIMEOUT)
                .map_err(beseda_core::CoreError::Internal)?,
            owner: super::node_id(),
            policy: state.delivery_policy,
        })
    }

    /// One round: takes a bot with events waiting and POSTs them in order until one fails.
    /// Returns how many went out (or 1 when the bot had none to see), 0 when none was due.
    pub async fn run_once(&self) -> CoreResult<usize> {
        let now = self.clock.now();
        let Some(job) = self
            .store
            .lease_bot_webhook(&self.owner, now, now.plus(LEASE))
            .await?
        else {
            return Ok(0);
        };
        let from = EventId(job.bot.delivered_up_to);
        let page = self
            .store
            .bot_events_after(&job.bot.scope(), from, BATCH)
            .await?;
        let mut sent = 0;
        for e in &page.events {
            if let Err(error) = self.post(&job, e).await {
                let attempts = job.attempts + 1;
                let retry_at = self.clock.now().plus(self.policy.backoff(attempts));
                let failing = (attempts >= self.policy.max_attempts).then(|| self.clock.now());
                self.store
                    .bot_webhook_failed(job.bot.id, &self.owner, &error, retry_at, failing)
                    .await?;
                if failing.is_some() && job.bot.failing_since.is_none() {
                    tracing::warn!(bot = job.bot.id.0, %error, "a bot's webhook is failing");
                }
                return Ok(sent);
            }
            self.store
                .bot_delivered(job.bot.id, &self.owner, e.id)
                .await?;
            sent += 1;
        }
        // What it may not see is passed over.
        if page.read_up_to > from {
            self.store
                .bot_delivered(job.bot.id, &self.owner, page.read_up_to)
                .await?;
        }
        Ok(sent.max(1))
    }

    /// POSTs one event frame; a 2xx answer takes it.
    async fn post(&self, job: &BotDelivery, e: &Event) -> Result<(), String> {
        let timestamp = self.clock.now().0 / 1000;
        let body = e.json.to_string();
        let signature = sign_webhook(&job.webhook_secret, timestamp, body.as_bytes());
        let request = self
            .http
            .request(reqwest::Method::POST, &job.webhook_url)
            .map_err(|e| e.to_string())?
            .header("content-type", "application/json")
            .header("x-beseda-timestamp", timestamp.to_string())
            // The same on every try: the bot dedupes on it.
            .header("x-beseda-event-id", e.id.0.to_string())
            .header("x-beseda-signature", signature)
            .body(body);
        let resp = self.http.send(request).await.map_err(|e| e.to_string())?;
        read_capped(resp, 4 * 1024)
            .await
            .map(|_| ())
            .or_else(|e| match e {
                // It answered 2xx and then said too much: it has the event.
                beseda_web::outbound::OutboundError::TooLarge(_) => Ok(()),
                e => Err(e.to_string()),
            })
    }

    pub async fn run(self: Arc<Self>, idle: Duration, shutdown: CancellationToken) {
        super::repeat("bot webhook round", idle, shutdown, || self.run_once()).await;
    }
}

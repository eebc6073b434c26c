//! The delivery worker: leases due jobs, POSTs each message to its module's webhook, signed,
//! and records the outcome. Retries back off; after the last attempt the message fails visibly
//! (F31), never silently. Leases make any number of workers, on any number of nodes, safe: a
//! dead worker's jobs come due again when its lease runs out.

use beseda_core::connector::SendResult;
use beseda_core::event::EventBus;
use beseda_core::store::Store;
use beseda_core::time::{Clock, Timestamp};
use beseda_core::transport::{
    DeliveryJob, DeliveryOutcome, DeliveryTarget, Failure, RetryPolicy, sign_webhook,
};
use beseda_core::values::{clipped, max_bytes};
use beseda_core::widget::{PresencePort, widget_delivery};
use beseda_core::{CoreError, CoreResult};
use beseda_web::app::AppState;
use beseda_web::outbound::{Outbound, OutboundError, read_capped};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
const BATCH: u32 = 32;
/// How much of a module's answer is read: it names an id, an error or nothing.
const ANSWER_CAP: usize = 64 * 1024;

pub struct DeliveryWorker {
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
    http: Outbound,
    owner: String,
    policy: RetryPolicy,
    lease: Duration,
    /// How the module reaches us, for the files' addresses.
    public_url: String,
    /// Who is on the website now, for the widget's replies.
    presence: Arc<dyn PresencePort>,
    /// The built-in connectors, for the replies on their channels.
    connectors: Arc<beseda_core::services::connectors::ConnectorService>,
    /// How long a visitor may be between pages before a reply to them fails.
    visitor_grace: Duration,
}

/// What a module answers to a webhook.
#[derive(Deserialize, Default)]
struct ModuleAnswer {
    external_id: Option<String>,
    #[serde(rename = "async", default)]
    is_async: bool,
    error: Option<Failure>,
}

impl DeliveryWorker {
    /// A worker over the application's store, bus and clock, with its delivery settings.
    pub fn new(state: &AppState) -> CoreResult<DeliveryWorker> {
        let lease = state.delivery_lease;
        // A call ends well within the lease, so no other worker takes a job still in flight.
        let http = Outbound::new(state.outbound.clone(), WEBHOOK_TIMEOUT.min(lease / 2))
            .map_err(CoreError::Internal)?;
        let owner = super::node_id();
        Ok(DeliveryWorker {
            store: state.store.clone(),
            bus: state.bus.clone(),
            clock: state.clock.clone(),
            http,
            owner,
            policy: state.delivery_policy,
            lease,
            public_url: state.public_url.clone(),
            presence: Arc::new(state.visitors.clone()),
            connectors: state.connectors.clone(),
            visitor_grace: state.visitors.grace(),
        })
    }

    /// One round: lease the due jobs, deliver them side by side, record each outcome. Returns
    /// how many jobs it handled.
    pub async fn run_once(self: &Arc<Self>) -> CoreResult<usize> {
        let now = self.clock.now();
        let jobs = self
            .store
            .claim_deliveries(&self.owner, now, now.plus(self.lease), BATCH)
            .await?;
        let count = jobs.len();
        let mut running = tokio::task::JoinSet::new();
        for job in jobs {
            let me = self.clone();
            running.spawn(async move {
                let outcome = me.attempt(&job).await;
                let written = me
                    .store
                    .finish_delivery(job.id, &me.owner, &outcome, me.clock.now())
                    .await?;
                me.bus.publish(&written.events);
                Ok::<_, CoreError>(())
            });
        }
        // Every attempt runs to its end, whatever another's outcome: a task dropped in the middle
        // of its transaction could leave its connection in a state the pool should never see.
        let mut first_error = None;
        while let Some(done) = running.join_next().await {
            let result = done.map_err(|e| CoreError::Internal(e.to_string()));
            if let Err(e) = result.and_then(|r| r) {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(count),
        }
    }

    async fn attempt(&self, job: &DeliveryJob) -> DeliveryOutcome {
        match &job.target {
            DeliveryTarget::Module {
                webhook_url,
                webhook_secret,
            } => self.call_module(job, webhook_url, webhook_secret).await,
            DeliveryTarget::Widget => widget_delivery(
                self.presence
                    .presence(job.channel_id, &job.contact_external_id),
                self.clock.now(),
                self.visitor_grace,
            ),
            DeliveryTarget::Connector { sealed } => match self.connectors.send(sealed, job).await {
                Ok(SendResult::Sent { external_id }) => DeliveryOutcome::Sent {
                    external_id: Some(external_id),
                },
                Ok(SendResult::Failed(f)) => DeliveryOutcome::Failed(f),
                Ok(SendResult::RetryAfter(Some(wait), error))
                    if job.attempts < self.policy.max_attempts =>
                {
                    DeliveryOutcome::Retry {
                        error,
                        at: self.clock.now().plus(wait),
                    }
                }
                Ok(SendResult::RetryAfter(_, error)) => self.retry_or_fail(job, error),
                Err(e) => self.retry_or_fail(job, e.to_string()),
            },
            DeliveryTarget::Nowhere => DeliveryOutcome::Failed(Failure {
                code: "no_transport".into(),
                message: "the channel has no integration module".into(),
            }),
        }
    }

    /// POSTs the message to its module's webhook, signed, and reads what the module answers.
    async fn call_module(
        &self,
        job: &DeliveryJob,
        webhook_url: &str,
        webhook_secret: &str,
    ) -> DeliveryOutcome {
        let body = serde_json::json!({
            "type": "message_sent",
            "message": {
                "id": job.message_id,
                "channel_id": job.channel_id,
                "channel_external_id": job.channel_external_id,
                "external_chat_id": job.contact_external_id,
                "dialog_id": job.dialog_id,
                "text": job.text,
                "quote_external_id": job.quote_external_id,
                "author": job.author_name,
                "attachments": job.attachments.iter().map(|a| serde_json::json!({
                    "id": a.id,
                    "kind": a.kind,
                    "file_name": a.file_name,
                    "mime": a.mime,
                    "size_bytes": a.size_bytes,
                    // The module fetches the bytes with its X-Transport-Token.
                    "url": format!("{}/api/transport/v1/attachments/{}", self.public_url, a.id),
                })).collect::<Vec<_>>(),
                "buttons": job.buttons,
                "created_at": job.created_at,
            }
        })
        .to_string();
        let timestamp = self.clock.now().0 / 1000;
        let signature = sign_webhook(webhook_secret, timestamp, body.as_bytes());
        let answer = async {
            let request = self
                .http
                .request(reqwest::Method::POST, webhook_url)?
                .header("content-type", "application/json")
                .header("x-beseda-timestamp", timestamp.to_string())
                // Stable across retries: a module dedupes on it.
                .header("x-beseda-event-id", job.message_id.0.to_string())
                .header("x-beseda-signature", signature)
                .body(body);
            let resp = self.http.send(request).await?;
            read_capped(resp, ANSWER_CAP).await
        }
        .await;
        match answer {
            // What the module says is kept within the same bounds as its reports.
            Ok(body) => match serde_json::from_slice(&body).unwrap_or_default() {
                ModuleAnswer { error: Some(f), .. } => DeliveryOutcome::Failed(Failure {
                    code: clipped(f.code, max_bytes::NAME),
                    message: clipped(f.message, max_bytes::URL),
                }),
                ModuleAnswer { is_async: true, .. } => DeliveryOutcome::Accepted,
                ModuleAnswer { external_id, .. } => DeliveryOutcome::Sent {
                    external_id: external_id.map(|e| clipped(e, max_bytes::NAME)),
                },
            },
            Err(OutboundError::Status(status)) if status >= 500 || matches!(status, 408 | 429) => {
                self.retry_or_fail(job, format!("the module answered {status}"))
            }
            Err(OutboundError::Status(status)) => DeliveryOutcome::Failed(Failure {
                code: "integration_error".into(),
                message: format!("the integration module refused the message ({status})"),
            }),
            // The module took the message (2xx) and then said too much: it is delivered.
            Err(OutboundError::TooLarge(_)) => DeliveryOutcome::Sent { external_id: None },
            // A webhook address that is not allowed will not become allowed by waiting.
            Err(e @ (OutboundError::Refused | OutboundError::BadAddress)) => {
                DeliveryOutcome::Failed(Failure {
                    code: "integration_unreachable".into(),
                    message: format!("the module's webhook: {e}"),
                })
            }
            Err(e) => self.retry_or_fail(job, format!("the module did not answer: {e}")),
        }
    }

    fn retry_or_fail(&self, job: &DeliveryJob, error: String) -> DeliveryOutcome {
        if job.attempts >= self.policy.max_attempts {
            return DeliveryOutcome::Failed(Failure {
                code: "integration_unreachable".into(),
                message: error,
            });
        }
        let at: Timestamp = self.clock.now().plus(self.policy.backoff(job.attempts));
        DeliveryOutcome::Retry { error, at }
    }

    /// Delivers until shutdown; idles briefly when nothing is due.
    pub async fn run(self: Arc<Self>, idle: Duration, shutdown: CancellationToken) {
        super::repeat("delivery round", idle, shutdown, || self.run_once()).await;
    }
}

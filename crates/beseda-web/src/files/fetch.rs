//! Files a module gives by address (a push's `attachments: [{"url"}]`), fetched through the
//! guarded client: only addresses the policy permits, and an error that reveals nothing of
//! what lies behind a refused or silent address.

use crate::outbound::Outbound;
use async_trait::async_trait;
use beseda_core::files::{Fetched, UrlFetcher};
use futures_util::StreamExt;

pub struct HttpFetcher {
    outbound: Outbound,
}

impl HttpFetcher {
    pub fn new(outbound: Outbound) -> HttpFetcher {
        HttpFetcher { outbound }
    }
}

#[async_trait]
impl UrlFetcher for HttpFetcher {
    async fn fetch(&self, url: &str) -> Result<Fetched, String> {
        let resp = self.outbound.get(url).await.map_err(|e| e.to_string())?;
        let file_name = resp
            .url()
            .path_segments()
            .and_then(|mut s| s.next_back())
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        // The channel's size limit is enforced as the bytes arrive (FileStore::put).
        let body = resp
            .bytes_stream()
            .map(|r| r.map_err(|_| "the transfer broke off".to_owned()));
        Ok(Fetched {
            body: Box::pin(body),
            file_name,
        })
    }
}

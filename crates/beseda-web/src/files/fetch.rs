//! Files a module gives by address (a push's `attachments: [{"url"}]`), fetched over HTTP.

use async_trait::async_trait;
use beseda_core::files::{Fetched, UrlFetcher};
use futures_util::StreamExt;

pub struct HttpFetcher {
    http: reqwest::Client,
}

impl HttpFetcher {
    pub fn new(http: reqwest::Client) -> HttpFetcher {
        HttpFetcher { http }
    }
}

#[async_trait]
impl UrlFetcher for HttpFetcher {
    async fn fetch(&self, url: &str) -> Result<Fetched, String> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err("the address must be http:// or https://".into());
        }
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?;
        let file_name = resp
            .url()
            .path_segments()
            .and_then(|mut s| s.next_back())
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let body = resp.bytes_stream().map(|r| r.map_err(|e| e.to_string()));
        Ok(Fetched {
            body: Box::pin(body),
            file_name,
        })
    }
}

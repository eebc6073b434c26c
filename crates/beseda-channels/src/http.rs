//! The HTTP client every connector shares: bounded in time and size, never following a
//! redirect (a platform's API does not redirect; a redirect is someone else's answer).

use crate::ConnectorError;
use std::time::Duration;

/// How long one call to a platform may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of a platform's API answer is read.
pub const ANSWER_CAP: usize = 1024 * 1024;

pub fn client() -> reqwest::Client {
    builder()
        .timeout(CALL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// The client that fetches a platform's files: a file's address may redirect to its storage
/// (VK's documents do), and a large file takes longer than an API call.
pub fn download_client() -> reqwest::Client {
    builder()
        .timeout(DOWNLOAD_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .unwrap_or_default()
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .no_proxy()
}

/// How long fetching one file may take.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// A file's bytes as they come; the address is never in an error (a platform's may hold a
/// token). The file store checks the size while it writes.
pub async fn stream(
    http: &reqwest::Client,
    url: &str,
) -> Result<beseda_core::files::ByteStream<'static>, ConnectorError> {
    stream_request(http.get(url)).await
}

/// Like [`stream`], for a request that needs more than an address (a platform's token).
pub async fn stream_request(
    request: reqwest::RequestBuilder,
) -> Result<beseda_core::files::ByteStream<'static>, ConnectorError> {
    use futures_util::StreamExt;
    let resp = request
        .send()
        .await
        .map_err(|e| ConnectorError::Unreachable(e.without_url().to_string()))?;
    if !resp.status().is_success() {
        return Err(ConnectorError::Platform {
            code: i64::from(resp.status().as_u16()),
            description: "the file could not be downloaded".into(),
        });
    }
    Ok(Box::pin(resp.bytes_stream().map(|chunk| {
        chunk.map_err(|e| e.without_url().to_string())
    })))
}

/// Reads an answer's body up to [`ANSWER_CAP`].
pub async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, ConnectorError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ConnectorError::Unreachable(e.to_string()))?
    {
        if body.len() + chunk.len() > ANSWER_CAP {
            return Err(ConnectorError::Unreachable(
                "the answer is larger than an API answer can be".into(),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

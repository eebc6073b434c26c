//! The HTTP client every connector shares: bounded in time and size, never following a
//! redirect (a platform's API does not redirect; a redirect is someone else's answer).

use crate::ConnectorError;
use std::time::Duration;

/// How long one call to a platform may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of a platform's API answer is read.
pub const ANSWER_CAP: usize = 1024 * 1024;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(CALL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap_or_default()
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

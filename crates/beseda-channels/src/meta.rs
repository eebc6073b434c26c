//! What WhatsApp's Cloud API and the Messenger Platform share, being Meta's: the Graph API
//! (a bearer token, `{"error": {"code", "message", …}}` on refusal), one webhook per app for
//! every number and page (`{"object", "entry": […]}`), signed with the app's secret in
//! `X-Hub-Signature-256`, and the error codes a reply may meet.

use crate::ConnectorError;
use crate::http::read_capped;
use beseda_core::channel::ChannelKind;
use beseda_core::connector::SendResult;
use beseda_core::files::ByteStream;
use beseda_core::secret::{hmac_hex, same_secret};
use beseda_core::transport::Failure;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// Meta's own address; tests give another.
pub const DEFAULT_API: &str = "https://graph.facebook.com";
/// The Graph API version every call names.
pub const VERSION: &str = "v21.0";
/// The header Meta signs its webhook's calls in.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Whether a webhook call's body is signed with the app's secret: `sha256=` and the hex
/// HMAC-SHA256 of the raw body, compared in constant time.
pub fn verify(app_secret: &str, signature: Option<&str>, body: &[u8]) -> bool {
    let Some(hex) = signature.and_then(|s| s.strip_prefix("sha256=")) else {
        return false;
    };
    same_secret(
        &hex.to_ascii_lowercase(),
        &hmac_hex(app_secret.as_bytes(), &[body]),
    )
}

/// One webhook call: the kind of object its entries are about, and the entries.
#[derive(Deserialize)]
pub struct Hook {
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Value>,
}

impl Hook {
    pub fn parse(body: &[u8]) -> Result<Hook, ConnectorError> {
        serde_json::from_slice(body).map_err(|e| ConnectorError::Malformed(e.to_string()))
    }
}

/// The accounts a webhook call carries updates for: WhatsApp numbers by the id in each
/// change's metadata, pages and Instagram accounts by their entry's id.
pub fn addressees(body: &[u8]) -> Result<Vec<(ChannelKind, String)>, ConnectorError> {
    let hook = Hook::parse(body)?;
    let mut out: Vec<(ChannelKind, String)> = Vec::new();
    let mut add = |kind, id: Option<&str>| {
        if let Some(id) = id.filter(|id| !id.is_empty())
            && !out.iter().any(|(k, i)| *k == kind && i == id)
        {
            out.push((kind, id.to_owned()));
        }
    };
    for entry in &hook.entry {
        match hook.object.as_str() {
            "whatsapp_business_account" => {
                for change in entry["changes"].as_array().into_iter().flatten() {
                    add(
                        ChannelKind::WhatsappBusiness,
                        change["value"]["metadata"]["phone_number_id"].as_str(),
                    );
                }
            }
            "page" | "instagram" => add(ChannelKind::FbInstagram, entry["id"].as_str()),
            _ => {}
        }
    }
    Ok(out)
}

/// A refusal as the Graph API words it.
#[derive(Clone, Debug, Deserialize)]
pub struct GraphError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: i64,
    pub error_subcode: Option<i64>,
    pub error_data: Option<ErrorData>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ErrorData {
    pub details: Option<String>,
}

impl GraphError {
    /// The platform's words for the manager: the details when it gives them.
    pub fn words(&self) -> String {
        self.error_data
            .as_ref()
            .and_then(|d| d.details.clone())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| self.message.clone())
    }
}

#[derive(Deserialize)]
struct Refused {
    error: GraphError,
}

/// A Graph API client for one token.
pub struct Graph {
    api: String,
    token: String,
    http: reqwest::Client,
}

/// A call's outcome: the answer, or the platform's refusal.
pub type Answered<T> = Result<Result<T, GraphError>, ConnectorError>;

impl Graph {
    pub fn new(api: &str, token: &str, http: reqwest::Client) -> Graph {
        Graph {
            api: api.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http,
        }
    }

    /// The token's key in the sending pace: a digest, the token itself is not kept there.
    pub fn key(&self) -> String {
        crate::pace::token_key(&self.token)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{VERSION}/{path}", self.api)
    }

    fn url_with(&self, path: &str, query: &[(&str, &str)]) -> Result<reqwest::Url, ConnectorError> {
        reqwest::Url::parse_with_params(&self.url(path), query)
            .map_err(|e| ConnectorError::Unreachable(e.to_string()))
    }

    async fn answer<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Answered<T> {
        let resp = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| ConnectorError::Unreachable(e.without_url().to_string()))?;
        let status = resp.status();
        let bytes = read_capped(resp).await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map(Ok)
                .map_err(|e| ConnectorError::Malformed(e.to_string()));
        }
        match serde_json::from_slice::<Refused>(&bytes) {
            Ok(r) => Ok(Err(r.error)),
            Err(_) => Err(ConnectorError::Unreachable(format!(
                "the Graph API answered {status} without its error"
            ))),
        }
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Answered<T> {
        self.answer(self.http.get(self.url_with(path, query)?))
            .await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Answered<T> {
        self.answer(self.http.post(self.url(path)).json(body)).await
    }

    pub async fn post_query<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Answered<T> {
        self.answer(self.http.post(self.url_with(path, query)?))
            .await
    }

    pub async fn post_form<T: DeserializeOwned>(
        &self,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> Answered<T> {
        self.answer(self.http.post(self.url(path)).multipart(form))
            .await
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Answered<T> {
        self.answer(self.http.delete(self.url(path))).await
    }

    /// A file at an address of Meta's that wants the token (WhatsApp's media).
    pub async fn download(
        &self,
        downloads: &reqwest::Client,
        url: &str,
    ) -> Result<ByteStream<'static>, ConnectorError> {
        crate::http::stream_request(downloads.get(url).bearer_auth(&self.token)).await
    }
}

/// A refusal of a setup call (checking, subscribing): a token Meta no longer takes, or an id
/// it does not have for it, is the credentials' fault.
pub fn setup_error(e: GraphError) -> ConnectorError {
    match e.code {
        190 | 100 | 10 | 200 => ConnectorError::Credentials(e.words()),
        code => ConnectorError::Platform {
            code,
            description: e.words(),
        },
    }
}

/// Answered-or-refused, a refusal being a setup error.
pub fn must<T>(answered: Answered<T>) -> Result<T, ConnectorError> {
    answered?.map_err(setup_error)
}

/// The failure a manager sees when the platform's window for answering has closed.
pub fn window_closed(words: &str) -> Failure {
    Failure {
        code: "reply_window_closed".into(),
        message: words.to_owned(),
    }
}

/// A reply sent as several messages is known by its first one's id.
pub fn first_sent(first: Option<String>) -> SendResult {
    match first {
        Some(external_id) => SendResult::Sent { external_id },
        None => SendResult::Failed(Failure {
            code: "platform_refused".into(),
            message: "an empty message".into(),
        }),
    }
}

/// What a refused reply means: wait and try again, or a visible failure with the reason.
pub fn refusal(e: GraphError) -> SendResult {
    let words = e.words();
    let failed = |code: &str, message: String| {
        SendResult::Failed(Failure {
            code: code.into(),
            message,
        })
    };
    match (e.code, e.error_subcode) {
        // Throughput and rate limits: WhatsApp's per-number and per-client pair limits, the
        // app's and the page's.
        (130_429 | 131_056 | 80_007 | 4 | 17 | 32 | 613, _) => SendResult::RetryAfter(
            Some(Duration::from_secs(if e.code == 131_056 { 6 } else { 1 })),
            words,
        ),
        // Meta's own trouble.
        (1 | 2 | 131_000 | 131_016, _) => SendResult::RetryAfter(None, words),
        (131_047, _) => SendResult::Failed(window_closed(
            "more than 24 hours have passed since the client's last message: only a template can be sent",
        )),
        (10, Some(2_018_278)) | (_, Some(2_534_022)) => SendResult::Failed(window_closed(
            "the client's last message is too old for an answer here: they must write first",
        )),
        (551, _) | (200, Some(1_545_041)) => failed(
            "blocked_by_client",
            "the client does not accept the page's messages".into(),
        ),
        (131_026, _) => failed(
            "undeliverable",
            format!("WhatsApp could not deliver the message: {words}"),
        ),
        (190, _) => failed(
            "credentials_refused",
            "Meta no longer accepts the channel's token".into(),
        ),
        _ => failed(
            "platform_refused",
            format!("Meta refused the message: {words}"),
        ),
    }
}

/// What a list of subscribed apps says of updates reaching us.
pub fn subscribed_state(apps: &[Value]) -> beseda_core::connector::HookState {
    beseda_core::connector::HookState {
        ok: !apps.is_empty(),
        error: apps
            .is_empty()
            .then(|| "no app is subscribed to the account's webhook".into()),
        error_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_body_is_meta_s_only_under_the_app_secret() {
        let body = br#"{"object":"page","entry":[]}"#;
        let good = format!("sha256={}", hmac_hex(b"s3cret", &[body]));
        assert!(verify("s3cret", Some(&good), body));
        assert!(verify(
            "s3cret",
            Some(&good.to_uppercase().replace("SHA256=", "sha256=")),
            body
        ));
        assert!(!verify("other", Some(&good), body));
        assert!(!verify(
            "s3cret",
            Some(&good),
            br#"{"object":"page","entry":[{}]}"#
        ));
        assert!(!verify("s3cret", None, body));
        assert!(!verify(
            "s3cret",
            Some(good.trim_start_matches("sha256=")),
            body
        ));
    }

    #[test]
    fn a_call_names_each_number_and_page_once() {
        let wa =
            |id: &str| json!({"field": "messages", "value": {"metadata": {"phone_number_id": id}}});
        let body = json!({"object": "whatsapp_business_account", "entry": [
            {"id": "waba", "changes": [wa("1"), wa("2")]}, {"id": "waba", "changes": [wa("1")]}]});
        assert_eq!(
            addressees(body.to_string().as_bytes()).unwrap(),
            vec![
                (ChannelKind::WhatsappBusiness, "1".into()),
                (ChannelKind::WhatsappBusiness, "2".into())
            ]
        );
        let body = json!({"object": "instagram", "entry": [{"id": "17841"}]});
        assert_eq!(
            addressees(body.to_string().as_bytes()).unwrap(),
            vec![(ChannelKind::FbInstagram, "17841".into())]
        );
        assert!(addressees(b"[]").is_err());
    }

    #[test]
    fn refusals_map_to_waits_and_visible_failures() {
        let e = |code, sub| GraphError {
            message: "m".into(),
            code,
            error_subcode: sub,
            error_data: None,
        };
        assert!(matches!(
            refusal(e(130_429, None)),
            SendResult::RetryAfter(Some(_), _)
        ));
        let code = |r| match r {
            SendResult::Failed(f) => f.code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(refusal(e(131_047, None))), "reply_window_closed");
        assert_eq!(code(refusal(e(10, Some(2_018_278)))), "reply_window_closed");
        assert_eq!(code(refusal(e(551, None))), "blocked_by_client");
        assert_eq!(code(refusal(e(190, None))), "credentials_refused");
        assert_eq!(code(refusal(e(100, None))), "platform_refused");
    }
}

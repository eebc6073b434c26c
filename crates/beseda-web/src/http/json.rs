//! Extractors whose refusals speak the API's error format: malformed JSON is a 400 with the
//! line and column; a wrong field (unknown, missing, out of range) is a 422 naming it; a path
//! parameter that does not parse is a 400 `invalid_path`; a body over the limit is a 413
//! `body_too_large` naming the limit; a body that is not JSON (or a form that is not
//! `multipart/form-data`) is a 415 `unsupported_media_type`.
//!
//! Text the databases cannot store is decided here, once for every route: a NUL character
//! (U+0000; PostgreSQL refuses it in text, SQLite's full-text search stops at it) is dropped from
//! every JSON string and query value before anything reads them.

use super::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::{StatusCode, header, request::Parts};
use beseda_core::CoreError;
use beseda_core::attachment::MAX_MESSAGE_BYTES;
use serde::de::DeserializeOwned;

/// The largest JSON body the API reads (a history import of many messages fits).
pub const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// The largest upload: one message's files (each file's own limit applies as it arrives),
/// and room for the form's framing.
pub const UPLOAD_BODY_LIMIT: usize = MAX_MESSAGE_BYTES as usize + 1024 * 1024;

/// 413 `body_too_large`, naming the limit.
pub fn body_too_large(limit: usize) -> ApiError {
    ApiError::Request {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "body_too_large",
        message: format!("the body is larger than the limit of {limit} bytes"),
    }
}

fn unsupported_media_type(expected: &str) -> ApiError {
    ApiError::Request {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        code: "unsupported_media_type",
        message: format!("the body must be sent as Content-Type: {expected}"),
    }
}

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // A JSON media type, or none at all (a body-less call); a form or text is refused, which
        // also keeps a cross-site "simple" request from ever reaching a JSON route.
        let json = match req.headers().get(header::CONTENT_TYPE) {
            None => true,
            Some(v) => v.to_str().is_ok_and(|v| {
                let mime = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            }),
        };
        if !json {
            return Err(unsupported_media_type("application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                body_too_large(JSON_BODY_LIMIT)
            } else {
                ApiError::bad_request("unreadable_body", e.body_text())
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Path parameters; one that does not parse (`/dialogs/abc`) is a 400 `invalid_path`.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| ApiError::bad_request("invalid_path", e.body_text()))
    }
}

/// A `multipart/form-data` body; any other is a 415.
pub struct ApiForm(pub Multipart);

impl<S: Send + Sync> FromRequest<S> for ApiForm {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Multipart::from_request(req, state)
            .await
            .map(ApiForm)
            .map_err(|_| unsupported_media_type("multipart/form-data"))
    }
}

/// A query string extractor with the same refusals: a parameter that does not fit (unknown,
/// not a number…) is a 422 naming it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or("");
        let raw = without_nul_values(raw);
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
        serde_path_to_error::deserialize::<_, T>(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.inner().to_string();
                let field = match path.as_str() {
                    "." => unknown_field_name(&message).unwrap_or_else(|| "query".into()),
                    _ => path,
                };
                ApiError::Core(CoreError::invalid(field, message))
            })
    }
}

/// A query string whose values hold no NUL (a `%00`), encoded again.
fn without_nul_values(raw: &str) -> std::borrow::Cow<'_, str> {
    let pairs = form_urlencoded::parse(raw.as_bytes());
    if !pairs
        .clone()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return raw.into();
    }
    let mut clean = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        clean.append_pair(&k.replace('\0', ""), &v.replace('\0', ""));
    }
    clean.finish().into()
}

/// JSON text without its `\u0000` escapes (the only way JSON carries a NUL): the text between
/// the quotes is walked escape by escape, so an escaped backslash followed by `u0000` stays.
fn without_nul_escapes(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    const NUL: &[u8] = b"\\u0000";
    if !bytes
        .windows(NUL.len())
        .any(|w| w.eq_ignore_ascii_case(NUL))
    {
        return bytes.into();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let (mut i, mut in_string) = (0, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string && b == b'\\' {
            let escape = bytes.get(i..i + NUL.len());
            if escape.is_some_and(|e| e.eq_ignore_ascii_case(NUL)) {
                i += NUL.len();
                continue;
            }
            out.extend_from_slice(&bytes[i..(i + 2).min(bytes.len())]);
            i += 2;
            continue;
        }
        if b == b'"' {
            in_string = !in_string;
        }
        out.push(b);
        i += 1;
    }
    out.into()
}

/// Parses a JSON body, telling a syntax error (400) from a value that does not fit (422).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = without_nul_escapes(bytes);
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        refusal(&path, e.into_inner())
    })?;
    de.end().map_err(|e| refusal(".", e))?;
    Ok(value)
}

fn refusal(path: &str, e: serde_json::Error) -> ApiError {
    if e.is_data() {
        let field = match path {
            "." => unknown_field_name(&e.to_string()).unwrap_or_else(|| "body".into()),
            _ => path.to_owned(),
        };
        ApiError::Core(CoreError::invalid(field, e.to_string()))
    } else {
        let message = format!(
            "malformed JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        );
        ApiError::bad_request("malformed_json", message)
    }
}

/// serde names an unknown or missing top-level field only in its message (between backticks).
fn unknown_field_name(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsed")]
    struct Body {
        name: String,
        age: u8,
    }

    fn err(body: &str) -> (String, Option<String>) {
        match parse::<Body>(body.as_bytes()).unwrap_err() {
            ApiError::Request { code, message, .. } => (code.into(), Some(message)),
            ApiError::Core(CoreError::Invalid { field, .. }) => {
                ("invalid_value".into(), Some(field))
            }
            ApiError::Core(e) => (e.code().into(), None),
        }
    }

    #[test]
    fn a_nul_is_dropped_from_every_string_and_nothing_else() {
        let v: serde_json::Value =
            parse(br#"{"a": "x\u0000y", "b": "\\u0000", "c\u0000": ["\u0000"]}"#).unwrap();
        assert_eq!(v, serde_json::json!({"a": "xy", "b": "\\u0000", "c": [""]}));
        assert_eq!(without_nul_values("q=a%00b&x=1"), "q=ab&x=1");
        assert_eq!(without_nul_values("q=ab"), "q=ab");
    }

    #[test]
    fn syntax_errors_say_where() {
        let (code, msg) = err("{\"name\": \"a\",\n \"age\": }");
        assert_eq!(code, "malformed_json");
        assert!(msg.unwrap().contains("line 2"));
    }

    #[test]
    fn wrong_fields_are_named() {
        assert_eq!(err(r#"{"name":"a","age":300}"#).1.as_deref(), Some("age"));
        assert_eq!(
            err(r#"{"name":"a","age":3,"admin":true}"#).1.as_deref(),
            Some("admin")
        );
        assert_eq!(err(r#"{"name":"a"}"#).1.as_deref(), Some("age"));
    }
}

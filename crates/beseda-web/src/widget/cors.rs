//! Who may call the visitor API from a browser: pages of the widget's allowed origins only
//! (CORS, and the WebSocket's `Origin`), within the per-address limit. A request without an
//! `Origin` is not a browser's and meets only the limits and the token.

use super::api::refused;
use crate::app::AppState;
use crate::http::error::ApiError;
use axum::Extension;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use beseda_core::channel::Capabilities;
use beseda_core::widget::WidgetChannel;
use std::net::SocketAddr;

/// The widget a request names, loaded once by the guard for the handler.
#[derive(Clone)]
pub struct LoadedWidget(pub WidgetChannel, pub Capabilities);

/// The widget key a visitor route's path names.
pub(super) fn key_of(path: &str) -> Option<&str> {
    path.strip_prefix("/api/widget/v1/")?.split('/').next()
}

/// The layer in front of every visitor route.
pub async fn guard(
    Extension(state): Extension<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| state.trusted_proxies.client(c.0.ip(), req.headers()));
    if let Err(e) = state.widget_limits.request(ip) {
        return ApiError::from(e).into_response();
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(origin) = origin else {
        return next.run(req).await;
    };
    let key = key_of(req.uri().path()).unwrap_or_default().to_owned();
    let (widget, caps) = match state.widget.by_key(&key).await {
        Ok(found) => found,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !widget.settings.allows_origin(&origin) {
        return refused(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this site is not on the widget's list of allowed origins",
        )
        .into_response();
    }
    let allow = HeaderValue::from_str(&origin).unwrap_or(HeaderValue::from_static("null"));
    let mut response = if req.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    } else {
        req.extensions_mut().insert(LoadedWidget(widget, caps));
        next.run(req).await
    };
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after"),
    );
    h.append(header::VARY, HeaderValue::from_static("origin"));
    response
}

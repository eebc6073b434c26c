//! The HTTP surface: the JSON API (documented in OpenAPI), the pages, health, and the layers
//! every request passes: request ids in traces, a timeout, panics as 500s, CSRF protection for
//! state changes, and a Content-Security-Policy on pages.

pub(crate) mod api_attachments;
mod api_auth;
pub(crate) mod api_bot;
mod api_bots;
mod api_connectors;
pub(crate) mod api_dialogs;
mod api_distribution;
pub(crate) mod api_inbox;
mod api_library;
mod api_managers;
mod api_orders;
mod api_transport;
mod api_widgets;
pub mod auth;
pub mod error;
mod health;
pub(crate) mod json;
mod pages;
mod settings_page;
mod ui;
mod ui_side;

use crate::app::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use error::{ErrorBody, error_response};
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Beseda API",
        description = "The omnichannel chat inbox. Authenticate with the session cookie from \
        `POST /api/v1/auth/login`, or with a personal API token as `Authorization: Bearer <token>`. \
        Errors are JSON: `{\"error\": \"<stable_code>\", \"message\": \"...\", \"field\": \"...\"}`, \
        also the framework's own: `invalid_path` (400), `malformed_json` (400), `method_not_allowed` \
        (405), `body_too_large` (413, JSON bodies up to 2 MiB), `unsupported_media_type` (415: JSON \
        bodies need `Content-Type: application/json`), `timed_out` (503)."
    ),
    components(schemas(ErrorBody, beseda_core::attachment::AttachmentTab))
)]
struct ApiDoc;

/// Pages may load only what the server itself serves, except images from https:// addresses
/// (clients' photos live on their messengers' servers); no inline script runs.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
    connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The API routes and their OpenAPI document, collected from the handlers' annotations.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(api_auth::login))
        .routes(routes!(api_auth::logout))
        .routes(routes!(api_auth::me))
        .routes(routes!(api_auth::set_availability))
        .routes(routes!(api_auth::set_locale))
        .routes(routes!(api_auth::change_password))
        .routes(routes!(api_auth::list_tokens, api_auth::create_token))
        .routes(routes!(api_auth::delete_token))
        .routes(routes!(
            api_managers::list_managers,
            api_managers::create_manager
        ))
        .routes(routes!(api_managers::update_manager))
        .routes(routes!(api_managers::reset_password))
        .routes(routes!(api_managers::list_tokens_of))
        .routes(routes!(api_managers::revoke_token_of))
        .routes(routes!(
            api_managers::list_groups,
            api_managers::create_group
        ))
        .routes(routes!(
            api_managers::update_group,
            api_managers::delete_group
        ))
        .routes(routes!(api_managers::set_members))
        .routes(routes!(api_inbox::list))
        .routes(routes!(api_inbox::filters))
        .routes(routes!(api_inbox::search))
        .routes(routes!(api_inbox::delete))
        .routes(routes!(api_dialogs::get_dialog))
        .routes(routes!(
            api_dialogs::get_messages,
            api_dialogs::post_message
        ))
        .routes(routes!(api_dialogs::templates))
        .routes(routes!(api_dialogs::assign))
        .routes(routes!(api_dialogs::close))
        .routes(routes!(api_dialogs::read))
        .routes(routes!(api_dialogs::unread))
        .routes(routes!(api_dialogs::put_draft))
        .routes(routes!(
            api_dialogs::block_client,
            api_dialogs::unblock_client
        ))
        .routes(routes!(api_dialogs::detach_client))
        .routes(routes!(api_dialogs::counters))
        .routes(routes!(api_library::list_tags, api_library::create_tag))
        .routes(routes!(api_library::update_tag, api_library::delete_tag))
        .routes(routes!(api_library::client_tags))
        .routes(routes!(api_library::client_card))
        .routes(routes!(api_library::client_photo))
        .routes(routes!(api_library::merge_client))
        .routes(routes!(
            api_library::put_client_tag,
            api_library::delete_client_tag
        ))
        .routes(routes!(
            api_library::list_quick_replies,
            api_library::create_quick_reply
        ))
        .routes(routes!(
            api_library::update_quick_reply,
            api_library::delete_quick_reply
        ))
        .routes(routes!(
            api_library::get_time_limits,
            api_library::put_time_limits
        ))
        .routes(routes!(api_library::put_channel_time_limits))
        .routes(routes!(api_orders::create_order, api_orders::list_orders))
        .routes(routes!(api_orders::get_order, api_orders::update_order))
        .routes(routes!(api_distribution::get_distribution))
        .routes(routes!(
            api_distribution::put_rule,
            api_distribution::delete_rule
        ))
        .routes(routes!(api_distribution::put_reassign))
        .routes(routes!(api_bots::list_bots, api_bots::create_bot))
        .routes(routes!(api_bots::update_bot))
        .routes(routes!(api_bots::renew_bot))
        .routes(routes!(api_bot::me))
        .routes(routes!(api_bot::events))
        .routes(routes!(api_bot::tags))
        .routes(routes!(api_bot::dialog))
        .routes(routes!(api_bot::messages, api_bot::send))
        .routes(routes!(api_bot::assign))
        .routes(routes!(api_bot::close))
        .routes(routes!(api_bot::client))
        .routes(routes!(api_bot::put_tag, api_bot::delete_tag))
        .routes(routes!(api_bot::download))
        .routes(routes!(api_bot::preview))
        .routes(routes!(crate::realtime::bot::ws))
        .routes(routes!(
            api_transport::create_module,
            api_transport::list_modules
        ))
        .routes(routes!(api_transport::renew_module))
        .routes(routes!(
            api_transport::register_channel,
            api_transport::list_channels
        ))
        .routes(routes!(
            api_transport::update_channel,
            api_transport::deactivate_channel
        ))
        .routes(routes!(
            api_transport::push_message,
            api_transport::edit_message,
            api_transport::delete_message
        ))
        .routes(routes!(api_transport::report_status))
        .routes(routes!(api_transport::import_history))
        .routes(routes!(api_attachments::list))
        .routes(routes!(api_attachments::copy))
        .routes(routes!(api_attachments::download))
        .routes(routes!(api_attachments::preview))
        .routes(routes!(api_attachments::module_download))
        .routes(routes!(crate::realtime::ws))
        .routes(routes!(
            api_widgets::list_widgets,
            api_widgets::create_widget
        ))
        .routes(routes!(api_widgets::update_widget))
        .routes(routes!(
            api_connectors::list_connectors,
            api_connectors::connect
        ))
        .routes(routes!(api_connectors::disconnect))
        .routes(routes!(api_connectors::hook))
        .routes(routes!(
            api_connectors::meta_handshake,
            api_connectors::meta_hook
        ))
        .merge(crate::widget::routes())
        .layer(DefaultBodyLimit::max(json::JSON_BODY_LIMIT))
        .layer(timeout(REQUEST_TIMEOUT))
        // Uploads stream up to a message's 500 MB: a larger body limit and more time; each
        // file's own limit is enforced as it arrives.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(api_attachments::upload))
                .routes(routes!(api_attachments::module_upload))
                .routes(routes!(api_bot::upload))
                .merge(crate::widget::upload_routes())
                .layer(DefaultBodyLimit::max(json::UPLOAD_BODY_LIMIT))
                .layer(timeout(UPLOAD_TIMEOUT)),
        )
        .split_for_parts();
    document_request_refusals(&mut doc);
    (router, doc)
}

/// The refusals every route makes alike, written into each operation of the document: a path
/// parameter that does not parse (400 `invalid_path`), a body over the limit (413
/// `body_too_large`) or not of the documented type (415 `unsupported_media_type`).
fn document_request_refusals(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let error = |description: &str| {
        let body = ContentBuilder::new()
            .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
            .build();
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content("application/json", body)
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            let path_params = op
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
            let responses = &mut op.responses.responses;
            if path_params {
                responses
                    .entry("400".into())
                    .or_insert_with(|| error("`invalid_path`: a path parameter does not parse"));
            }
            if op.request_body.is_some() {
                responses.entry("413".into()).or_insert_with(|| {
                    error("`body_too_large`: the body is over the limit the message names")
                });
                responses.entry("415".into()).or_insert_with(|| {
                    error("`unsupported_media_type`: the body is not of the documented type")
                });
            }
        }
    }
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(3600);

fn timeout(limit: Duration) -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, limit)
}

/// The API docs page (Swagger UI, served from the binary) like every page, except that its
/// widgets set inline styles.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn pages() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::inbox))
        .route("/login", get(pages::login_page).post(pages::login_submit))
        .route("/logout", post(pages::logout))
        .route("/me/availability", post(pages::availability_submit))
        .route("/me/locale", post(pages::locale_submit))
        .route("/assets/{*path}", get(pages::asset))
        .route("/widget.js", get(crate::widget::script))
        .route("/ui/dialogs", get(ui::rows))
        .route("/ui/dialogs/{id}", get(ui::conversation))
        .route("/ui/dialogs/{id}/row", get(ui::row))
        .route("/ui/dialogs/{id}/messages/{message_id}", get(ui::message))
        .route("/ui/dialogs/{id}/older", get(ui::older))
        .route("/ui/dialogs/{id}/attachments", get(ui_side::files))
        .route("/ui/dialogs/{id}/client", get(ui_side::client))
        .route("/ui/search", get(ui_side::search))
        .route("/ui/orders/{id}", get(ui_side::order))
        .route("/settings", get(settings_page::settings))
        .layer(timeout(REQUEST_TIMEOUT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        // Pages, fragments and assets are text: gzip makes the workspace a fifth of its size.
        .layer(tower_http::compression::CompressionLayer::new())
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api();
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(
            api.layer(axum::middleware::from_fn(error::json_errors))
                // The visitor API's guard finds the state here.
                .layer(axum::Extension(state.clone())),
        )
        .merge(pages())
        .merge(
            Router::from(SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi)).layer(
                SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(DOCS_CSP),
                ),
            ),
        )
                .fallback(not_found)
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                // No answer is ever sniffed into another type: pages, fragments, assets, JSON.
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(CatchPanicLayer::custom(|_| internal_error()))
                .layer(
                    CsrfLayer::new()
                        // Modules call from their own servers with a token, never with a cookie;
                        // the widget calls from other sites with a visitor token, never a cookie.
                        .with_insecure_bypass(|_, uri| {
                            uri.path().starts_with("/api/transport/")
                                || uri.path().starts_with("/api/widget/")
                                || uri.path().starts_with("/hooks/")
                        })
                        .with_rejection_response(|_| csrf_rejected()),
                ),
        )
}

async fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such page or endpoint",
    )
}

fn csrf_rejected() -> Response {
    let message = "a cross-site request may not change anything here";
    error_response(StatusCode::FORBIDDEN, "csrf_rejected", message)
}

fn internal_error() -> Response {
    let message = "internal error; the server log has the details";
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
}

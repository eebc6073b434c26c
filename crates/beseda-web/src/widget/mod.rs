//! The website widget (F39): the script a company puts on its site, and the visitor API it
//! calls: the only public, unauthenticated surface, behind its own origin check and limits.

pub mod api;
pub mod cors;
pub mod demo_shop;
pub mod files;
pub mod limits;
pub mod live;
pub mod visitors;

use crate::app::AppState;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The visitor routes, each behind the origin check.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::config))
        .routes(routes!(api::start_session))
        .routes(routes!(api::history, api::send))
        .routes(routes!(api::read))
        .routes(routes!(live::poll))
        .routes(routes!(live::socket))
        .routes(routes!(files::download))
        // Preflights reach the guard, which answers them: the routes have no OPTIONS method.
        .layer(axum::middleware::from_fn(cors::guard))
}

/// The visitor's uploads, with the upload routes' larger body limit and time.
pub fn upload_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(files::upload))
        .layer(axum::middleware::from_fn(cors::guard))
}

/// GET /widget.js: the script a site embeds. Cached for an hour; any site may load it.
pub async fn script() -> Response {
    match crate::assets::Assets::get("widget.js") {
        Some(file) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=3600"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            file.data,
        )
            .into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

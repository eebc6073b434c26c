//! The manager API for website widgets (F39): an administrator with "manage settings" sets up
//! the widget a company embeds on its site.

use super::auth::ApiActor;
use super::error::{ApiResult, ErrorBody};
use super::json::{ApiJson, ApiPath};
use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use beseda_core::ids::ChannelId;
use beseda_core::services::widget::WidgetSetup;
use beseda_core::widget::{WidgetChannel, WidgetSettings};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetRequest {
    /// The channel's name in the inbox.
    name: String,
    /// A disabled widget shows nothing and its key answers 404.
    #[serde(default = "enabled")]
    active: bool,
    settings: WidgetSettings,
}

fn enabled() -> bool {
    true
}

impl From<WidgetRequest> for WidgetSetup {
    fn from(r: WidgetRequest) -> Self {
        WidgetSetup {
            name: r.name,
            active: r.active,
            settings: r.settings,
        }
    }
}

/// GET /api/v1/widgets: every website widget with its key and identity secret.
#[utoipa::path(get, path = "/api/v1/widgets", tag = "widgets",
    responses((status = 200, body = Vec<WidgetChannel>), (status = 403, body = ErrorBody)))]
pub async fn list_widgets(
    State(state): State<AppState>,
    caller: ApiActor,
) -> ApiResult<Json<Vec<WidgetChannel>>> {
    Ok(Json(state.widget.list(&caller.actor).await?))
}

/// POST /api/v1/widgets: sets up a website widget, a channel of kind `widget` (needs "manage
/// settings"). Embed it with `<script src="https://HOST/widget.js" data-beseda-channel="KEY" async></script>`.
#[utoipa::path(post, path = "/api/v1/widgets", tag = "widgets", request_body = WidgetRequest,
    responses((status = 201, body = WidgetChannel), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_value`, with `field`")))]
pub async fn create_widget(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<WidgetRequest>,
) -> ApiResult<impl IntoResponse> {
    let w = state.widget.create(&caller.actor, req.into()).await?;
    Ok((StatusCode::CREATED, Json(w)))
}

/// PUT /api/v1/widgets/{id}: changes a widget's name, settings or whether it is on.
#[utoipa::path(put, path = "/api/v1/widgets/{id}", tag = "widgets", params(("id" = i64, Path, description = "The widget's channel id")),
    request_body = WidgetRequest,
    responses((status = 200, body = WidgetChannel), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_value`, with `field`")))]
pub async fn update_widget(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<WidgetRequest>,
) -> ApiResult<Json<WidgetChannel>> {
    let w = state
        .widget
        .update(&caller.actor, ChannelId(id), req.into())
        .await?;
    Ok(Json(w))
}

//! The distribution bot's settings (F36), needing "manage settings": per channel who receives
//! its new dialogs and how, and when held dialogs move on by themselves.

use super::auth::ApiActor;
use super::error::{ApiResult, ErrorBody};
use super::json::{ApiJson, ApiPath};
use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use beseda_core::distribution::{ReassignRules, RuleSpec};
use beseda_core::ids::ChannelId;
use beseda_core::services::distribution::DistributionSettings;

/// GET /api/v1/settings/distribution: every distributed channel's rule and the reassignment
/// conditions.
#[utoipa::path(get, path = "/api/v1/settings/distribution", tag = "settings",
    responses((status = 200, body = DistributionSettings), (status = 403, body = ErrorBody)))]
pub async fn get_distribution(
    State(state): State<AppState>,
    caller: ApiActor,
) -> ApiResult<Json<DistributionSettings>> {
    Ok(Json(state.distribution.settings(&caller.actor).await?))
}

/// PUT /api/v1/settings/distribution/channels/{id}: the channel's new dialogs go to the
/// managers and groups named, present ones only, by the strategy, up to the cap, within the
/// hours; the others wait in its queue.
#[utoipa::path(put, path = "/api/v1/settings/distribution/channels/{id}", tag = "settings", params(("id" = i64, Path)),
    request_body = RuleSpec,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid_value`: nobody named, a disabled manager, no such group, a bad cap or hours")))]
pub async fn put_rule(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(spec): ApiJson<RuleSpec>,
) -> ApiResult<StatusCode> {
    state
        .distribution
        .set_rule(&caller.actor, ChannelId(id), Some(spec))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DELETE /api/v1/settings/distribution/channels/{id}: the channel's dialogs are no longer
/// distributed.
#[utoipa::path(delete, path = "/api/v1/settings/distribution/channels/{id}", tag = "settings", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn delete_rule(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .distribution
        .set_rule(&caller.actor, ChannelId(id), None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// PUT /api/v1/settings/distribution/reassign: when a distributed channel's held dialogs move
/// on: their manager offline or not "free" for a while, or the client waiting too long.
#[utoipa::path(put, path = "/api/v1/settings/distribution/reassign", tag = "settings", request_body = ReassignRules,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_reassign(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(rules): ApiJson<ReassignRules>,
) -> ApiResult<StatusCode> {
    state
        .distribution
        .set_reassign(&caller.actor, rules)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

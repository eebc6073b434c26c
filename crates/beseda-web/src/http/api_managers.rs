//! The JSON API for managers and user groups (F33). Changing them needs "manage settings";
//! making a system administrator needs one.

use super::auth::ApiActor;
use super::error::{ApiResult, ErrorBody};
use super::json::{ApiJson, ApiPath};
use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use beseda_core::ids::{ApiTokenId, GroupId, ManagerId};
use beseda_core::manager::{Grants, Group, Manager};
use beseda_core::services::managers::CreateManager;
use beseda_core::store::{ApiToken, ManagerUpdate};
use beseda_core::values::{DisplayName, Email, Locale, Password};
use serde::Deserialize;
use utoipa::ToSchema;

/// GET /api/v1/managers: every manager (the reassignment list shows who is available).
#[utoipa::path(get, path = "/api/v1/managers", tag = "managers", responses((status = 200, body = Vec<Manager>), (status = 401, body = ErrorBody)))]
pub async fn list_managers(
    State(state): State<AppState>,
    caller: ApiActor,
) -> ApiResult<Json<Vec<Manager>>> {
    Ok(Json(state.managers.list(&caller.actor).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewManagerRequest {
    email: String,
    name: String,
    /// At least 8 characters.
    password: String,
    #[serde(default)]
    locale: Option<Locale>,
    #[serde(default)]
    is_system_admin: bool,
}

/// POST /api/v1/managers: creates a manager.
#[utoipa::path(post, path = "/api/v1/managers", tag = "managers", request_body = NewManagerRequest,
    responses((status = 201, body = Manager), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "`email_taken`"),
        (status = 422, body = ErrorBody)))]
pub async fn create_manager(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<NewManagerRequest>,
) -> ApiResult<impl IntoResponse> {
    let new = CreateManager {
        email: Email::parse(&req.email)?,
        name: DisplayName::parse("name", &req.name)?,
        password: Password::parse(&req.password)?,
        locale: req.locale,
        is_system_admin: req.is_system_admin,
    };
    Ok((
        StatusCode::CREATED,
        Json(state.managers.create(&caller.actor, new).await?),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManagerChange {
    name: Option<String>,
    is_system_admin: Option<bool>,
    disabled: Option<bool>,
}

/// PATCH /api/v1/managers/{id}: renames, promotes or disables a manager.
#[utoipa::path(patch, path = "/api/v1/managers/{id}", tag = "managers", params(("id" = i64, Path)), request_body = ManagerChange,
    responses((status = 200, body = Manager), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_manager(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ManagerChange>,
) -> ApiResult<Json<Manager>> {
    let update = ManagerUpdate {
        name: req.name,
        locale: None,
        is_system_admin: req.is_system_admin,
        disabled: req.disabled,
    };
    Ok(Json(
        state
            .managers
            .update(&caller.actor, ManagerId(id), update)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    password: String,
}

/// GET /api/v1/managers/{id}/tokens: a manager's personal API tokens (never their secrets),
/// for an administrator to review.
#[utoipa::path(get, path = "/api/v1/managers/{id}/tokens", tag = "managers", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ApiToken>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_tokens_of(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ApiToken>>> {
    let tokens = state
        .managers
        .tokens_of(&caller.actor, ManagerId(id))
        .await?;
    Ok(Json(tokens))
}

/// DELETE /api/v1/managers/{id}/tokens/{token_id}: revokes one of a manager's API tokens.
#[utoipa::path(delete, path = "/api/v1/managers/{id}/tokens/{token_id}", tag = "managers",
    params(("id" = i64, Path), ("token_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_token_of(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath((id, token)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    state
        .managers
        .revoke_token_of(&caller.actor, ManagerId(id), ApiTokenId(token))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// PUT /api/v1/managers/{id}/password: sets another manager's password; their sessions and
/// API tokens end.
#[utoipa::path(put, path = "/api/v1/managers/{id}/password", tag = "managers", params(("id" = i64, Path)), request_body = PasswordReset,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<PasswordReset>,
) -> ApiResult<StatusCode> {
    state
        .managers
        .reset_password(
            &caller.actor,
            ManagerId(id),
            Password::parse(&req.password)?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /api/v1/groups: the user groups with their grants and members.
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", responses((status = 200, body = Vec<Group>), (status = 403, body = ErrorBody)))]
pub async fn list_groups(
    State(state): State<AppState>,
    caller: ApiActor,
) -> ApiResult<Json<Vec<Group>>> {
    Ok(Json(state.managers.list_groups(&caller.actor).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupRequest {
    name: String,
    #[serde(default)]
    grants: Grants,
}

/// POST /api/v1/groups: creates a user group.
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = NewGroupRequest,
    responses((status = 201, body = Group), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "`group_name_taken`")))]
pub async fn create_group(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<NewGroupRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .managers
                .create_group(&caller.actor, &req.name, req.grants)
                .await?,
        ),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupChange {
    name: Option<String>,
    grants: Option<Grants>,
}

/// PATCH /api/v1/groups/{id}: renames a group or changes what it grants.
#[utoipa::path(patch, path = "/api/v1/groups/{id}", tag = "groups", params(("id" = i64, Path)), request_body = GroupChange,
    responses((status = 200, body = Group), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_group(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<GroupChange>,
) -> ApiResult<Json<Group>> {
    Ok(Json(
        state
            .managers
            .update_group(&caller.actor, GroupId(id), req.name.as_deref(), req.grants)
            .await?,
    ))
}

/// DELETE /api/v1/groups/{id}: deletes a group; its members keep their other groups.
#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = "groups", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_group(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .managers
        .delete_group(&caller.actor, GroupId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Members {
    members: Vec<ManagerId>,
}

/// PUT /api/v1/groups/{id}/members: replaces the members of a group.
#[utoipa::path(put, path = "/api/v1/groups/{id}/members", tag = "groups", params(("id" = i64, Path)), request_body = Members,
    responses((status = 200, body = Group), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_members(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<Members>,
) -> ApiResult<Json<Group>> {
    Ok(Json(
        state
            .managers
            .set_group_members(&caller.actor, GroupId(id), &req.members)
            .await?,
    ))
}

//! The JSON API for signing in and for one's own account: profile, availability, language,
//! password and personal API tokens.

use super::auth::{ApiActor, ClientOrigin, Credential, removal_cookie, session_cookie};
use super::error::{ApiResult, ErrorBody};
use super::json::{ApiJson, ApiPath};
use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::cookie::CookieJar;
use beseda_core::ids::ApiTokenId;
use beseda_core::manager::{Actor, Manager, Permissions};
use beseda_core::store::ApiToken;
use beseda_core::values::{Locale, ManagerStatus, Password};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

/// The signed-in manager and what they may do.
#[derive(Serialize, ToSchema)]
pub struct Me {
    manager: Manager,
    permissions: Permissions,
}

impl From<Actor> for Me {
    fn from(a: Actor) -> Self {
        Me {
            manager: a.manager,
            permissions: a.permissions,
        }
    }
}

/// POST /api/v1/auth/login: checks the email and password and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me, description = "Signed in; the session cookie is set"),
        (status = 401, body = ErrorBody, description = "`invalid_credentials`, whichever part was wrong"),
        (status = 429, body = ErrorBody, description = "`rate_limited`, with Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    jar: CookieJar,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    let (token, actor) = state.auth.login(&req.email, &req.password, origin).await?;
    Ok((
        jar.add(session_cookie(&token, state.secure_cookies)),
        Json(Me::from(actor)),
    ))
}

/// POST /api/v1/auth/logout: ends the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: ApiActor,
    jar: CookieJar,
) -> ApiResult<impl IntoResponse> {
    if let Credential::Session(token) = &caller.credential {
        state.auth.logout(token).await?;
    }
    Ok((jar.add(removal_cookie()), StatusCode::NO_CONTENT))
}

/// GET /api/v1/me: the signed-in manager and their permissions.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(caller: ApiActor) -> Json<Me> {
    Json(Me::from(caller.actor))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityRequest {
    online: bool,
    status: ManagerStatus,
}

/// PUT /api/v1/me/availability: online or not, and free / busy / lunch / break.
#[utoipa::path(put, path = "/api/v1/me/availability", tag = "me", request_body = AvailabilityRequest,
    responses((status = 200, body = Manager), (status = 422, body = ErrorBody)))]
pub async fn set_availability(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<AvailabilityRequest>,
) -> ApiResult<Json<Manager>> {
    Ok(Json(
        state
            .managers
            .set_availability(&caller.actor, req.online, req.status)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocaleRequest {
    /// `en`, `ru`, or `null` to follow the browser.
    locale: Option<Locale>,
}

/// PUT /api/v1/me/locale: the interface language.
#[utoipa::path(put, path = "/api/v1/me/locale", tag = "me", request_body = LocaleRequest,
    responses((status = 200, body = Manager), (status = 422, body = ErrorBody)))]
pub async fn set_locale(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<LocaleRequest>,
) -> ApiResult<Json<Manager>> {
    Ok(Json(
        state.managers.set_locale(&caller.actor, req.locale).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// PUT /api/v1/me/password: changes one's password. Every session ends; a browser gets a new
/// session cookie at once.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "me", request_body = PasswordChange,
    responses((status = 204), (status = 422, body = ErrorBody, description = "The current password is wrong or the new one too short")))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: ApiActor,
    ClientOrigin(origin): ClientOrigin,
    jar: CookieJar,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<impl IntoResponse> {
    let new = Password::parse(&req.new_password).map_err(|_| {
        beseda_core::CoreError::invalid(
            "new_password",
            format!(
                "must have {} to {} characters",
                Password::MIN_CHARS,
                Password::MAX_CHARS
            ),
        )
    })?;
    state
        .managers
        .change_own_password(&caller.actor, &req.current_password, new)
        .await?;
    let jar = match caller.credential {
        Credential::Session(_) => jar.add(session_cookie(
            &state.auth.renew_session(&caller.actor, origin).await?,
            state.secure_cookies,
        )),
        Credential::Bearer(_) => jar,
    };
    Ok((jar, StatusCode::NO_CONTENT))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What the token is for, e.g. "CRM sync".
    name: String,
    /// One's own password, asked again.
    password: String,
    /// How long the token works: 1 to 365 days, 90 by default. A new password ends it too.
    expires_in_days: Option<u32>,
}

/// A new personal API token: the secret is shown this once.
#[derive(Serialize, ToSchema)]
pub struct NewToken {
    token: ApiToken,
    /// Send as `Authorization: Bearer <secret>`.
    secret: String,
}

/// GET /api/v1/me/tokens: one's personal API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "me", responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: ApiActor,
) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(state.auth.list_api_tokens(&caller.actor).await?))
}

/// POST /api/v1/me/tokens: creates a personal API token, asking for one's password again.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "me", request_body = NewTokenRequest,
    responses((status = 201, body = NewToken), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<NewTokenRequest>,
) -> ApiResult<impl IntoResponse> {
    let (secret, token) = state
        .auth
        .create_api_token(
            &caller.actor,
            &req.name,
            &req.password,
            req.expires_in_days.unwrap_or(90),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewToken {
            token,
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// DELETE /api/v1/me/tokens/{id}: revokes one of one's tokens.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "me", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_token(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .auth
        .delete_api_token(&caller.actor, ApiTokenId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

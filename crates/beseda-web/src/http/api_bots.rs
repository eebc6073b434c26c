//! The settings API for bots (F37): register one, change it, give it a new token. Needs
//! "manage settings", except the list, which every manager's bot filter reads (F22).

use super::auth::ApiActor;
use super::error::{ApiResult, ErrorBody};
use super::json::{ApiJson, ApiPath};
use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use beseda_core::bot::Bot;
use beseda_core::ids::BotId;
use beseda_core::services::bots::{BotSecrets, BotSpec};
use serde::Serialize;
use utoipa::ToSchema;

/// A bot with its secrets, shown this once.
#[derive(Serialize, ToSchema)]
pub struct BotWithSecrets {
    bot: Bot,
    /// The bot sends it as `X-Bot-Token` to `/api/bot/v1`.
    token: String,
    /// Verifies the events POSTed to its webhook:
    /// `X-Beseda-Signature: sha256=HMAC-SHA256(secret, "<X-Beseda-Timestamp>.<body>")`.
    webhook_secret: String,
}

impl From<BotSecrets> for BotWithSecrets {
    fn from(s: BotSecrets) -> Self {
        BotWithSecrets {
            bot: s.bot,
            token: s.token.expose().to_owned(),
            webhook_secret: s.webhook_secret,
        }
    }
}

/// POST /api/v1/bots: registers a bot (needs "manage settings"); its token comes once.
#[utoipa::path(post, path = "/api/v1/bots", tag = "bots", request_body = BotSpec,
    responses((status = 201, body = BotWithSecrets), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "a channel that does not exist"), (status = 422, body = ErrorBody)))]
pub async fn create_bot(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(spec): ApiJson<BotSpec>,
) -> ApiResult<impl IntoResponse> {
    let created = state.bots.create(&caller.actor, &spec).await?;
    Ok((StatusCode::CREATED, Json(BotWithSecrets::from(created))))
}

/// GET /api/v1/bots: every bot, by name, with its webhook's state.
#[utoipa::path(get, path = "/api/v1/bots", tag = "bots", responses((status = 200, body = Vec<Bot>)))]
pub async fn list_bots(
    State(state): State<AppState>,
    _caller: ApiActor,
) -> ApiResult<Json<Vec<Bot>>> {
    Ok(Json(state.bots.list().await?))
}

/// PATCH /api/v1/bots/{id}: renames a bot, changes its picture, channels or webhook, or turns
/// it off (`active: false`: its token is refused and nothing is delivered to it).
#[utoipa::path(patch, path = "/api/v1/bots/{id}", tag = "bots", params(("id" = i64, Path)), request_body = BotSpec,
    responses((status = 200, body = Bot), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_bot(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(spec): ApiJson<BotSpec>,
) -> ApiResult<Json<Bot>> {
    Ok(Json(
        state.bots.update(&caller.actor, BotId(id), &spec).await?,
    ))
}

/// POST /api/v1/bots/{id}/renew: a new token and webhook secret; the old ones stop at once.
#[utoipa::path(post, path = "/api/v1/bots/{id}/renew", tag = "bots", params(("id" = i64, Path)),
    responses((status = 200, body = BotWithSecrets), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn renew_bot(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<BotWithSecrets>> {
    Ok(Json(
        state.bots.renew(&caller.actor, BotId(id)).await?.into(),
    ))
}

//! The order API (F40): the small CRM side of the inbox. An integration keeps its CRM the source
//! of truth by pushing and updating orders here with a manager's API token.

use super::auth::ApiActor;
use super::error::{ApiResult, ErrorBody};
use super::json::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use beseda_core::ids::{ClientId, OrderId};
use beseda_core::order::Order;
use beseda_core::services::orders::{OrderRequest, OrderUpdate};
use serde::Deserialize;
use utoipa::IntoParams;

/// POST /api/v1/orders: makes an order for a client the caller may see.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = OrderRequest,
    responses((status = 201, body = Order),
        (status = 404, body = ErrorBody, description = "no such client or dialog for the caller"),
        (status = 409, body = ErrorBody, description = "`order_number_taken`"),
        (status = 422, body = ErrorBody, description = "`invalid_value` (a negative amount, an unknown currency, items that do not add up), `dialog_of_another_client`")))]
pub async fn create_order(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<OrderRequest>,
) -> ApiResult<impl IntoResponse> {
    let order = state.orders.create(&caller.actor, req).await?;
    Ok((StatusCode::CREATED, Json(order)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// The client whose orders to list, newest first.
    client_id: i64,
}

/// GET /api/v1/orders?client_id=: a client's orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrdersQuery),
    responses((status = 200, body = Vec<Order>), (status = 404, body = ErrorBody)))]
pub async fn list_orders(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiQuery(q): ApiQuery<OrdersQuery>,
) -> ApiResult<Json<Vec<Order>>> {
    Ok(Json(
        state
            .orders
            .of_client(&caller.actor, ClientId(q.client_id))
            .await?,
    ))
}

/// GET /api/v1/orders/{id}: one order.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = Order), (status = 404, body = ErrorBody)))]
pub async fn get_order(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Order>> {
    Ok(Json(state.orders.get(&caller.actor, OrderId(id)).await?))
}

/// PATCH /api/v1/orders/{id}: changes the status, the items (with their total), the currency,
/// or links the order to one of its client's dialogs.
#[utoipa::path(patch, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = i64, Path)), request_body = OrderUpdate,
    responses((status = 200, body = Order), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid_value`, `dialog_of_another_client`")))]
pub async fn update_order(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<OrderUpdate>,
) -> ApiResult<Json<Order>> {
    Ok(Json(
        state.orders.update(&caller.actor, OrderId(id), req).await?,
    ))
}

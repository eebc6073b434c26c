//! Orders (F05, F40): made and changed by managers, by an integration holding a manager's API
//! token, and by the distribution bot. Whoever may see one of the client's dialogs may see and
//! change the client's orders.

use super::library::visible_client;
use crate::error::{CoreError, CoreResult};
use crate::event::EventBus;
use crate::ids::{ClientId, DialogId, ManagerId, OrderId};
use crate::manager::Actor;
use crate::order::{
    Currency, NewOrder, Order, OrderChange, OrderItem, OrderStatus, order_number, priced,
};
use crate::store::{Store, Written};
use crate::time::Clock;
use serde::Deserialize;
use std::sync::Arc;

/// An order to make (`POST /api/v1/orders`).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    pub client_id: ClientId,
    /// The dialog that produced it: one of the client's. Its source is copied into the order.
    pub dialog_id: Option<DialogId>,
    /// The CRM's number; left out, Beseda numbers it.
    pub number: Option<String>,
    /// `new` when left out.
    pub status: Option<String>,
    /// ISO 4217: `RUB`, `EUR`…
    pub currency: String,
    #[serde(default)]
    pub items: Vec<OrderItem>,
    /// In minor units. Left out, the sum of the items; with no items, the order's total.
    pub total_minor: Option<i64>,
    /// The manager in charge; the caller when left out.
    pub manager_id: Option<ManagerId>,
}

/// A change to an order (`PATCH /api/v1/orders/{id}`): what is left out stays.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderUpdate {
    pub status: Option<String>,
    /// All the lines, replacing the old ones.
    pub items: Option<Vec<OrderItem>>,
    /// With `items`, their sum; alone, the total of an order without lines.
    pub total_minor: Option<i64>,
    pub currency: Option<String>,
    /// Links the order to one of its client's dialogs.
    pub dialog_id: Option<DialogId>,
}

/// How many of a client's orders one request lists.
const MAX_LISTED: u32 = 200;

pub struct OrderService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
}

impl OrderService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, bus: Arc<dyn EventBus>) -> Self {
        OrderService { store, clock, bus }
    }

    fn publish(&self, written: Written<Order>) -> Order {
        self.bus.publish(&written.events);
        written.value
    }

    pub async fn create(&self, actor: &Actor, r: OrderRequest) -> CoreResult<Order> {
        visible_client(&*self.store, actor, r.client_id).await?;
        let (items, total_minor) = priced(r.items, r.total_minor)?;
        let new = NewOrder {
            number: r.number.as_deref().map(order_number).transpose()?,
            client_id: r.client_id,
            dialog_id: r.dialog_id,
            manager_id: Some(r.manager_id.unwrap_or(actor.id())),
            status: match r.status {
                Some(s) => OrderStatus::parse(&s)?,
                None => OrderStatus::new_order(),
            },
            items,
            total_minor,
            currency: Currency::parse(&r.currency)?,
            with_source: r.dialog_id.is_some(),
            created_at: self.clock.now(),
        };
        if let Some(m) = new.manager_id {
            self.store
                .manager(m)
                .await?
                .ok_or_else(|| CoreError::invalid("manager_id", "no such manager"))?;
        }
        if let Some(d) = new.dialog_id {
            self.visible_dialog(actor, d).await?;
        }
        Ok(self.publish(self.store.create_order(&new).await?))
    }

    /// The order, if the actor may see its client.
    pub async fn get(&self, actor: &Actor, id: OrderId) -> CoreResult<Order> {
        let order = self
            .store
            .order(id)
            .await?
            .ok_or(CoreError::NotFound("order"))?;
        match visible_client(&*self.store, actor, order.client_id).await {
            Ok(()) => Ok(order),
            Err(_) => Err(CoreError::NotFound("order")),
        }
    }

    pub async fn of_client(&self, actor: &Actor, client: ClientId) -> CoreResult<Vec<Order>> {
        visible_client(&*self.store, actor, client).await?;
        self.store.client_orders(client, MAX_LISTED).await
    }

    pub async fn update(&self, actor: &Actor, id: OrderId, u: OrderUpdate) -> CoreResult<Order> {
        let before = self.get(actor, id).await?;
        let items = match (u.items, u.total_minor) {
            (Some(items), total) => Some(priced(items, total)?),
            (None, Some(_)) if !before.items.is_empty() => {
                return Err(CoreError::invalid(
                    "total_minor",
                    "follows the items: change the items instead",
                ));
            }
            (None, Some(total)) => Some(priced(Vec::new(), Some(total))?),
            (None, None) => None,
        };
        let change = OrderChange {
            status: u.status.as_deref().map(OrderStatus::parse).transpose()?,
            items,
            currency: u.currency.as_deref().map(Currency::parse).transpose()?,
            dialog_id: u.dialog_id,
        };
        if let Some(d) = change.dialog_id {
            self.visible_dialog(actor, d).await?;
        }
        let written = self
            .store
            .change_order(id, &change, self.clock.now())
            .await?;
        Ok(self.publish(written))
    }

    async fn visible_dialog(&self, actor: &Actor, id: DialogId) -> CoreResult<()> {
        let viewer = crate::dialog::Viewer::of(actor);
        match self.store.dialog_access(id).await? {
            Some(d) if viewer.may_see(d.responsible) => Ok(()),
            _ => Err(CoreError::NotFound("dialog")),
        }
    }
}

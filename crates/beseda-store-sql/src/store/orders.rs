//! Orders (OrderStore): lines and source kept as JSON beside the columns the card and the
//! client's totals read.

use super::dialogs::commit;
use super::events::join;
use super::{SqlStore, conflict_on_unique, events, params};
use crate::driver::{SqlRow, SqlTx};
use async_trait::async_trait;
use beseda_core::event::{DomainEvent, NewEvent};
use beseda_core::ids::{ClientId, DialogId, ManagerId, OrderId};
use beseda_core::library::ClientSourceView;
use beseda_core::order::{Currency, NewOrder, Order, OrderChange, OrderItem, OrderStatus};
use beseda_core::store::{OrderStore, Written};
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};

const COLUMNS: &str = "id, number, client_id, dialog_id, manager_id, status, items, total_minor, currency, source, \
     created_at, updated_at";

fn json<T: serde::Serialize>(v: &T) -> CoreResult<String> {
    serde_json::to_string(v).map_err(|e| CoreError::Internal(e.to_string()))
}

fn order_from(r: &SqlRow) -> CoreResult<Order> {
    let items: Vec<OrderItem> = serde_json::from_str(&r.text("items")?)
        .map_err(|e| CoreError::Internal(format!("order items: {e}")))?;
    let source: Option<ClientSourceView> = r
        .opt_text("source")?
        .map(|s| serde_json::from_str(&s))
        .transpose()
        .map_err(|e| CoreError::Internal(format!("order source: {e}")))?;
    Ok(Order {
        id: OrderId(r.i64("id")?),
        number: r.text("number")?,
        client_id: ClientId(r.i64("client_id")?),
        dialog_id: r.opt_i64("dialog_id")?.map(DialogId),
        manager_id: r.opt_i64("manager_id")?.map(ManagerId),
        // Orders pushed before statuses and currencies were checked read as they were kept.
        status: OrderStatus::parse(&r.text("status")?).unwrap_or_else(|_| OrderStatus::new_order()),
        items,
        total_minor: r.i64("total_minor")?,
        currency: Currency::parse(&r.text("currency")?)
            .map_err(|_| CoreError::Internal("an order's currency".into()))?,
        source,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

async fn read(tx: &mut Box<dyn SqlTx>, id: OrderId) -> CoreResult<Order> {
    let r = tx
        .fetch_optional(
            &format!("SELECT {COLUMNS} FROM orders WHERE id = $1"),
            params![id],
        )
        .await?
        .ok_or(CoreError::NotFound("order"))?;
    order_from(&r)
}

/// The client's source as the card shows it, copied into an order (F05).
async fn client_source(tx: &mut Box<dyn SqlTx>, client: ClientId) -> CoreResult<Option<String>> {
    let Some(r) = tx
        .fetch_optional(
            "SELECT source_channel_kind, source_channel_id, source_channel_name, source_first_contact_at, source_page, \
               source_utm, source_referrer FROM clients WHERE id = $1",
            params![client],
        )
        .await?
    else {
        return Err(CoreError::NotFound("client"));
    };
    let source = ClientSourceView {
        channel_type: r.opt_text("source_channel_kind")?,
        channel_id: r
            .opt_i64("source_channel_id")?
            .map(beseda_core::ids::ChannelId),
        channel_name: r.opt_text("source_channel_name")?,
        first_contact_at: r.opt_ts("source_first_contact_at")?,
        page: r.opt_text("source_page")?,
        referrer: r.opt_text("source_referrer")?,
        utm: r
            .opt_text("source_utm")?
            .and_then(|u| serde_json::from_str(&u).ok()),
    };
    let known = source.channel_type.is_some() || source.first_contact_at.is_some();
    known.then(|| json(&source)).transpose()
}

/// The order's change, for whoever sees the dialog that produced it.
async fn announce(tx: &mut Box<dyn SqlTx>, o: &Order) -> CoreResult<Vec<NewEvent>> {
    let Some(dialog) = o.dialog_id else {
        return Ok(Vec::new());
    };
    let r = tx
        .fetch_one(
            "SELECT responsible_manager_id, responsible_bot_id FROM dialogs WHERE id = $1",
            params![dialog],
        )
        .await?;
    let responsible = join(
        r.opt_i64("responsible_manager_id")?,
        r.opt_i64("responsible_bot_id")?,
    );
    Ok(vec![NewEvent::dialog(
        dialog,
        responsible,
        DomainEvent::OrderChanged {
            order_id: o.id,
            client_id: o.client_id,
        },
    )])
}

/// The dialog an order links to must be one of its client's.
async fn check_dialog(
    tx: &mut Box<dyn SqlTx>,
    dialog: DialogId,
    client: ClientId,
) -> CoreResult<()> {
    let r = tx
        .fetch_optional(
            "SELECT client_id FROM dialogs WHERE id = $1 AND deleted_at IS NULL",
            params![dialog],
        )
        .await?
        .ok_or(CoreError::NotFound("dialog"))?;
    if r.opt_i64("client_id")? == Some(client.0) {
        Ok(())
    } else {
        Err(CoreError::Unprocessable {
            code: "dialog_of_another_client",
            message: "the dialog is not this client's".into(),
        })
    }
}

#[async_trait]
impl OrderStore for SqlStore {
    async fn create_order(&self, o: &NewOrder) -> CoreResult<Written<Order>> {
        let mut tx = self.db.begin().await?;
        if let Some(d) = o.dialog_id {
            check_dialog(&mut tx, d, o.client_id).await?;
        }
        let source = match o.with_source {
            true => client_source(&mut tx, o.client_id).await?,
            false => None,
        };
        // A number of our own is the row's id; until it is known, a placeholder no one can give.
        let placeholder = format!("\u{1}{}", beseda_core::secret::random_hex(8));
        let number = o.number.clone().unwrap_or(placeholder);
        let row = tx
            .fetch_one(
                "INSERT INTO orders (number, client_id, dialog_id, manager_id, status, items, total_minor, currency, source, \
                   created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                params![number, o.client_id, o.dialog_id, o.manager_id, o.status.as_str(), json(&o.items)?, o.total_minor,
                    o.currency.as_str(), source, o.created_at],
            )
            .await
            .map_err(conflict_on_unique("order_number_taken", "an order with this number"))?;
        let id = OrderId(row.i64("id")?);
        if o.number.is_none() {
            let mut ours = id.0.to_string();
            let taken = tx
                .fetch_optional(
                    "SELECT id FROM orders WHERE number = $1",
                    params![ours.as_str()],
                )
                .await?;
            if taken.is_some() {
                // A CRM chose this very number for one of its orders.
                ours = format!("{ours}-{}", o.created_at.0);
            }
            tx.execute(
                "UPDATE orders SET number = $2 WHERE id = $1",
                params![id, ours],
            )
            .await
            .map_err(conflict_on_unique(
                "order_number_taken",
                "an order with this number",
            ))?;
        }
        let order = read(&mut tx, id).await?;
        let new_events = announce(&mut tx, &order).await?;
        let events = events::append(&mut tx, new_events, o.created_at).await?;
        commit(tx, order, events).await
    }

    async fn order(&self, id: OrderId) -> CoreResult<Option<Order>> {
        self.db
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM orders WHERE id = $1"),
                params![id],
            )
            .await?
            .as_ref()
            .map(order_from)
            .transpose()
    }

    async fn client_orders(&self, client: ClientId, limit: u32) -> CoreResult<Vec<Order>> {
        self.db
            .fetch_all(
                &format!(
                    "SELECT {COLUMNS} FROM orders WHERE client_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
                ),
                params![client, i64::from(limit)],
            )
            .await?
            .iter()
            .map(order_from)
            .collect()
    }

    async fn change_order(
        &self,
        id: OrderId,
        c: &OrderChange,
        now: Timestamp,
    ) -> CoreResult<Written<Order>> {
        let mut tx = self.db.begin().await?;
        let before = read(&mut tx, id).await?;
        if let Some(d) = c.dialog_id {
            check_dialog(&mut tx, d, before.client_id).await?;
        }
        let (items, total) = match &c.items {
            Some((items, total)) => (json(items)?, *total),
            None => (json(&before.items)?, before.total_minor),
        };
        tx.execute(
            "UPDATE orders SET status = $2, items = $3, total_minor = $4, currency = $5, dialog_id = $6, updated_at = $7 \
             WHERE id = $1",
            params![
                id,
                c.status.as_ref().unwrap_or(&before.status).as_str(),
                items,
                total,
                c.currency.as_ref().unwrap_or(&before.currency).as_str(),
                c.dialog_id.or(before.dialog_id),
                now
            ],
        )
        .await?;
        let order = read(&mut tx, id).await?;
        let new_events = announce(&mut tx, &order).await?;
        let events = events::append(&mut tx, new_events, now).await?;
        commit(tx, order, events).await
    }
}

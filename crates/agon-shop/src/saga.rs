//! The order's saga, as the ledger answers it: a captured payment completes the order; a declined one cancels it
//! and puts its stock back on sale; an issued refund puts the stock back too. Each step moves the order from the
//! one status it expects, in the same transaction as its effects, so a step seen twice does nothing twice.

use agon_bus::{Consume, Envelope};
use agon_db::Tx;
use agon_messages::{
    ledger::{PaymentCaptured, PaymentDeclined, RefundIssued},
    shop::{OrderCancelled, OrderCompleted},
};
use chrono::Utc;
use uuid::Uuid;

use crate::{State, domain, store::Order};

pub(crate) async fn subscribe(
    skeleton: &mut agon_kit::Skeleton,
    state: &State,
) -> anyhow::Result<()> {
    skeleton
        .consume::<PaymentCaptured>("shop.complete_order", state.clone())
        .await?;
    skeleton
        .consume::<PaymentDeclined>("shop.cancel_order", state.clone())
        .await?;
    skeleton
        .consume::<RefundIssued>("shop.restock_refund", state.clone())
        .await
}

impl State {
    /// The order, once moved from `from` to `to`; none when it was not in `from`.
    async fn step(
        &self,
        tx: &mut Tx,
        id: Uuid,
        (from, to): (&str, &str),
        reason: Option<&str>,
    ) -> anyhow::Result<Option<Order>> {
        if !self.store.transition(tx, id, (from, to), reason).await? {
            return Ok(None);
        }
        Ok(self.store.order(Some(tx), id).await?)
    }
}

/// Paid: the order is the buyer's.
impl Consume<PaymentCaptured> for State {
    async fn consume(
        &self,
        tx: &mut Tx,
        paid: PaymentCaptured,
        _: &Envelope,
    ) -> anyhow::Result<()> {
        let Some(o) = self
            .step(tx, paid.order_id, ("pending", "completed"), None)
            .await?
        else {
            return Ok(());
        };
        let completed = OrderCompleted {
            order_id: o.id,
            buyer_id: o.buyer_id,
            item_id: o.item_id,
            item_name: o.item_name,
            quantity: o.quantity,
            total: domain::money(o.amount, &o.currency),
            amount: o.amount,
            currency: o.currency,
            at: Utc::now(),
        };
        agon_bus::enqueue(tx, crate::SERVICE, &completed).await?;
        Ok(())
    }
}

/// Declined: the order is cancelled and its units go back on sale.
impl Consume<PaymentDeclined> for State {
    async fn consume(
        &self,
        tx: &mut Tx,
        declined: PaymentDeclined,
        _: &Envelope,
    ) -> anyhow::Result<()> {
        let reason = Some(declined.reason.as_str());
        let Some(o) = self
            .step(tx, declined.order_id, ("pending", "cancelled"), reason)
            .await?
        else {
            return Ok(());
        };
        self.store.release(tx, o.item_id, o.quantity).await?;
        let cancelled = OrderCancelled {
            order_id: o.id,
            buyer_id: o.buyer_id,
            item_name: o.item_name,
            reason: declined.reason,
            at: Utc::now(),
        };
        agon_bus::enqueue(tx, crate::SERVICE, &cancelled).await?;
        Ok(())
    }
}

/// Refunded: the units go back on sale.
impl Consume<RefundIssued> for State {
    async fn consume(&self, tx: &mut Tx, refund: RefundIssued, _: &Envelope) -> anyhow::Result<()> {
        if let Some(o) = self
            .step(tx, refund.order_id, ("refund_pending", "refunded"), None)
            .await?
        {
            self.store.release(tx, o.item_id, o.quantity).await?;
        }
        Ok(())
    }
}

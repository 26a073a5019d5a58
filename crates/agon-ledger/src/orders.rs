//! The shop's orders, paid and refunded: each order's payment and refund is posted once (the order is its
//! reference), and the shop is told how it went.

use agon_bus::{Consume, Envelope};
use agon_db::Tx;
use agon_messages::{
    ledger::{PaymentCaptured, PaymentDeclined, RefundIssued},
    shop::{OrderPlaced, RefundRequested},
};
use chrono::Utc;

use crate::{
    State,
    book::{self, Entry},
    domain::Kind,
    error::Error,
};

pub(crate) async fn subscribe(
    skeleton: &mut agon_kit::Skeleton,
    state: &State,
) -> anyhow::Result<()> {
    skeleton
        .consume::<OrderPlaced>("ledger.charge_order", state.clone())
        .await?;
    skeleton
        .consume::<RefundRequested>("ledger.refund_order", state.clone())
        .await
}

/// An order is paid from the buyer's account — on account within its credit limit when the order says so — or
/// declined for want of room.
impl Consume<OrderPlaced> for State {
    async fn consume(&self, tx: &mut Tx, order: OrderPlaced, _: &Envelope) -> anyhow::Result<()> {
        let reference = order.order_id.to_string();
        let paid = match self
            .store
            .by_reference(tx, Kind::Purchase, &reference)
            .await?
        {
            Some(t) => Ok(t),
            None => {
                let description: String = format!("{} × {}", order.quantity, order.item_name)
                    .chars()
                    .take(200)
                    .collect();
                let entry = Entry {
                    kind: Kind::Purchase,
                    member: order.buyer_id,
                    amount: order.amount,
                    currency: order.currency.clone(),
                    credit: order.payment == "account",
                    opening_limit: self.config.credit_limit,
                    reference: Some(reference),
                    key: None,
                    description,
                    by: order.buyer_id,
                };
                book::post(&self.store, tx, &entry).await
            }
        };
        match paid {
            Ok(t) => {
                let captured = PaymentCaptured {
                    order_id: order.order_id,
                    transaction_id: t.id,
                    at: Utc::now(),
                };
                agon_bus::enqueue(tx, crate::SERVICE, &captured).await?;
            }
            Err(Error::InsufficientFunds) => {
                let declined = PaymentDeclined {
                    order_id: order.order_id,
                    reason: "insufficient_funds".into(),
                    at: Utc::now(),
                };
                agon_bus::enqueue(tx, crate::SERVICE, &declined).await?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }
}

/// A paid order given back: its payment returns to the buyer's account, once. An order never paid has nothing
/// to give back.
impl Consume<RefundRequested> for State {
    async fn consume(
        &self,
        tx: &mut Tx,
        order: RefundRequested,
        _: &Envelope,
    ) -> anyhow::Result<()> {
        let reference = order.order_id.to_string();
        let Some(paid) = self
            .store
            .by_reference(tx, Kind::Purchase, &reference)
            .await?
        else {
            tracing::warn!(order = %order.order_id, "refund of an order never paid: nothing to give back");
            return Ok(());
        };
        let refund = match self
            .store
            .by_reference(tx, Kind::Refund, &reference)
            .await?
        {
            Some(t) => t,
            None => {
                let entry = Entry {
                    kind: Kind::Refund,
                    member: paid.created_by,
                    amount: paid.amount,
                    currency: paid.currency.clone(),
                    credit: false,
                    opening_limit: self.config.credit_limit,
                    reference: Some(reference),
                    key: None,
                    description: format!("Refund: {}", paid.description)
                        .chars()
                        .take(200)
                        .collect(),
                    by: paid.created_by,
                };
                book::post(&self.store, tx, &entry).await?
            }
        };
        let issued = RefundIssued {
            order_id: order.order_id,
            transaction_id: refund.id,
            at: Utc::now(),
        };
        agon_bus::enqueue(tx, crate::SERVICE, &issued).await?;
        Ok(())
    }
}

//! Events produced by the shop service.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A seller put an item up for sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemAdded {
    pub item_id: Uuid,
    pub seller_id: Uuid,
    pub name: String,
    /// In minor units.
    pub price: i64,
    pub currency: String,
    pub at: DateTime<Utc>,
}

/// A member ordered an item: its stock is reserved and its payment asked of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_id: Uuid,
    pub buyer_id: Uuid,
    pub item_id: Uuid,
    pub item_name: String,
    pub seller_id: Uuid,
    pub quantity: i64,
    /// The whole order, in minor units.
    pub amount: i64,
    pub currency: String,
    /// `wallet` (from what the buyer deposited) or `account` (on the club's tab, within its credit limit).
    pub payment: String,
    pub at: DateTime<Utc>,
}

/// An order was paid: it is the buyer's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCompleted {
    pub order_id: Uuid,
    pub buyer_id: Uuid,
    pub item_id: Uuid,
    pub item_name: String,
    pub quantity: i64,
    pub amount: i64,
    pub currency: String,
    /// The amount as people read it ("12.50 EUR").
    pub total: String,
    pub at: DateTime<Utc>,
}

/// An order did not go through (its payment was declined): its stock is back on sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub order_id: Uuid,
    pub buyer_id: Uuid,
    pub item_name: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A paid order is given back: the ledger refunds its payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundRequested {
    pub order_id: Uuid,
    pub buyer_id: Uuid,
    pub at: DateTime<Utc>,
}

impl crate::Event for ItemAdded {
    const TOPIC: &'static str = "shop.item_added.v1";
}
impl crate::Event for OrderPlaced {
    const TOPIC: &'static str = "shop.order_placed.v1";
}
impl crate::Event for OrderCompleted {
    const TOPIC: &'static str = "shop.order_completed.v1";
}
impl crate::Event for OrderCancelled {
    const TOPIC: &'static str = "shop.order_cancelled.v1";
}
impl crate::Event for RefundRequested {
    const TOPIC: &'static str = "shop.refund_requested.v1";
}

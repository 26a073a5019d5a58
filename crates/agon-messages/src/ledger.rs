//! Events produced by the ledger service.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Money moved on a member's account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionRecorded {
    pub transaction_id: Uuid,
    pub user_id: Uuid,
    /// `deposit`, `withdrawal`, `purchase` or `refund`.
    pub kind: String,
    /// In minor units, positive.
    pub amount: i64,
    pub currency: String,
    /// What it paid for (a shop order).
    pub reference: Option<String>,
    pub at: DateTime<Utc>,
}

/// An order's payment was taken from the buyer's account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentCaptured {
    pub order_id: Uuid,
    pub transaction_id: Uuid,
    pub at: DateTime<Utc>,
}

/// An order's payment was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentDeclined {
    pub order_id: Uuid,
    /// `insufficient_funds`.
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// An order's payment went back to the buyer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundIssued {
    pub order_id: Uuid,
    pub transaction_id: Uuid,
    pub at: DateTime<Utc>,
}

impl crate::Event for TransactionRecorded {
    const TOPIC: &'static str = "ledger.transaction_recorded.v1";
}
impl crate::Event for PaymentCaptured {
    const TOPIC: &'static str = "ledger.payment_captured.v1";
}
impl crate::Event for PaymentDeclined {
    const TOPIC: &'static str = "ledger.payment_declined.v1";
}
impl crate::Event for RefundIssued {
    const TOPIC: &'static str = "ledger.refund_issued.v1";
}

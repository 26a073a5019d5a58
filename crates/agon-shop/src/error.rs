use agon_kit::{ApiError, ErrorCode, FieldError};
use axum::http::StatusCode;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, authentication, cursors and faults, as every service has them.
    #[error(transparent)]
    Api(ApiError),
    /// Unknown, or withdrawn from sale and the caller not its seller: the same answer.
    #[error("item {0} not found")]
    ItemNotFound(Uuid),
    /// Unknown, or another member's: the same answer.
    #[error("order {0} not found")]
    OrderNotFound(Uuid),
    #[error("only the item's seller (or an administrator) may change it")]
    NotSeller,
    #[error("you can't buy your own item")]
    OwnItem,
    #[error("not enough left: {0} in stock")]
    SoldOut(i64),
    #[error("the payment was declined: {0}")]
    PaymentDeclined(String),
    #[error("this Idempotency-Key was used for a different order")]
    KeyReused,
    #[error("only a completed order is refunded")]
    NotRefundable,
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::ItemNotFound(_) => "item_not_found",
            Error::OrderNotFound(_) => "order_not_found",
            Error::NotSeller => "not_seller",
            Error::OwnItem => "own_item",
            Error::SoldOut(_) => "sold_out",
            Error::PaymentDeclined(_) => "payment_declined",
            Error::KeyReused => "idempotency_key_reused",
            Error::NotRefundable => "not_refundable",
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::ItemNotFound(_) | Error::OrderNotFound(_) => StatusCode::NOT_FOUND,
            Error::NotSeller => StatusCode::FORBIDDEN,
            Error::OwnItem | Error::SoldOut(_) | Error::NotRefundable => StatusCode::CONFLICT,
            Error::PaymentDeclined(_) => StatusCode::PAYMENT_REQUIRED,
            Error::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Api(e) => e.status(),
        }
    }

    fn fields(&self) -> Vec<FieldError> {
        match self {
            Error::Api(e) => e.fields(),
            _ => Vec::new(),
        }
    }
}

agon_kit::service_error!(Error);

//! What an item on sale is, as sellers write it, and how an order is paid: pure rules, no I/O.

use agon_kit::{
    FieldError,
    text::{self, Lines},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const NAME_MAX_CHARS: usize = 100;
pub const DESCRIPTION_MAX_CHARS: usize = 2000;
pub const IMAGES_MAX: usize = 8;
/// The highest price: ten million in major units.
pub const MAX_PRICE: i64 = 1_000_000_000;
pub const MAX_STOCK: i64 = 1_000_000;
/// The most units one order takes.
pub const MAX_QUANTITY: i64 = 100;

/// A new item, as its seller sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// 1 to 100 characters.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// In minor units (cents), 1 to 1000000000.
    pub price: i64,
    /// ISO 4217 (default: the ledger's currency, `EUR` unless configured).
    pub currency: Option<String>,
    /// Units on sale, 0 to 1000000 (default 1).
    pub stock: Option<i64>,
    /// A unique piece: one unit, sold out once bought (default false).
    #[serde(default)]
    pub unique: bool,
    /// Up to 8 image URLs.
    #[serde(default)]
    pub images: Vec<String>,
}

/// An item's settings, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub name: String,
    pub description: String,
    pub price: i64,
    pub currency: String,
    pub stock: i64,
    pub unique: bool,
    pub images: Vec<String>,
}

/// A change to an item: the fields sent replace the item's.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<i64>,
    /// Units on sale now (a unique piece keeps one).
    pub stock: Option<i64>,
    pub images: Option<Vec<String>>,
}

/// How an order is paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Payment {
    /// From what the buyer deposited.
    #[default]
    Wallet,
    /// On the club's tab: the buyer's balance may go below zero, within its credit limit.
    Account,
}

impl Payment {
    pub fn name(self) -> &'static str {
        match self {
            Payment::Wallet => "wallet",
            Payment::Account => "account",
        }
    }
}

/// Checks a new item; every problem is reported. `currency` is the default when the item names none.
pub fn check(item: NewItem, currency: &str) -> Result<Draft, Vec<FieldError>> {
    let mut problems = Vec::new();
    let name = text::required(
        "name",
        item.name,
        NAME_MAX_CHARS,
        Lines::Single,
        &mut problems,
    );
    let description = text::checked(
        "description",
        item.description,
        DESCRIPTION_MAX_CHARS,
        Lines::Multi,
        &mut problems,
    );
    check_price(item.price, &mut problems);
    let currency = (item.currency.as_deref().unwrap_or(currency).trim()).to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        problems.push(FieldError::new(
            "currency",
            "must be an ISO 4217 code such as EUR",
        ));
    }
    let stock = item.stock.unwrap_or(1);
    check_stock(stock, item.unique, &mut problems);
    let images = text::media("images", item.images, IMAGES_MAX, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Draft {
        name,
        description,
        price: item.price,
        currency,
        stock,
        unique: item.unique,
        images,
    })
}

/// `draft` with `edit` applied, checked.
pub fn edited(mut draft: Draft, edit: Edit) -> Result<Draft, Vec<FieldError>> {
    let mut problems = Vec::new();
    if let Some(name) = edit.name {
        draft.name = text::required("name", name, NAME_MAX_CHARS, Lines::Single, &mut problems);
    }
    if let Some(description) = edit.description {
        draft.description = text::checked(
            "description",
            description,
            DESCRIPTION_MAX_CHARS,
            Lines::Multi,
            &mut problems,
        );
    }
    if let Some(price) = edit.price {
        check_price(price, &mut problems);
        draft.price = price;
    }
    if let Some(stock) = edit.stock {
        check_stock(stock, draft.unique, &mut problems);
        draft.stock = stock;
    }
    if let Some(images) = edit.images {
        draft.images = text::media("images", images, IMAGES_MAX, &mut problems);
    }
    if problems.is_empty() {
        Ok(draft)
    } else {
        Err(problems)
    }
}

fn check_price(price: i64, problems: &mut Vec<FieldError>) {
    if !(1..=MAX_PRICE).contains(&price) {
        problems.push(FieldError::new(
            "price",
            "must be a whole number of minor units (cents) from 1 to 1000000000",
        ));
    }
}

fn check_stock(stock: i64, unique: bool, problems: &mut Vec<FieldError>) {
    if unique && stock > 1 {
        problems.push(FieldError::new(
            "stock",
            "a unique piece has one unit at most",
        ));
    } else if !(0..=MAX_STOCK).contains(&stock) {
        problems.push(FieldError::new("stock", "must be from 0 to 1000000"));
    }
}

/// The quantity an order asks for: 1 to [`MAX_QUANTITY`] (a unique piece: 1).
pub fn check_quantity(quantity: i64, unique: bool) -> Result<i64, FieldError> {
    match quantity {
        1 => Ok(1),
        q if unique => Err(FieldError::new(
            "quantity",
            &format!("a unique piece is bought alone, not {q}"),
        )),
        q if (1..=MAX_QUANTITY).contains(&q) => Ok(q),
        _ => Err(FieldError::new("quantity", "must be from 1 to 100")),
    }
}

/// An amount as people read it: `1250` EUR is "12.50 EUR".
pub fn money(amount: i64, currency: &str) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let cents = amount.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> NewItem {
        NewItem {
            name: " Club jersey ".into(),
            description: String::new(),
            price: 3500,
            currency: None,
            stock: Some(20),
            unique: false,
            images: vec!["https://club.example/jersey.png".into()],
        }
    }

    #[test]
    fn an_item_is_checked_whole() {
        let draft = check(item(), "EUR").unwrap();
        assert_eq!(
            (draft.name.as_str(), draft.currency.as_str(), draft.stock),
            ("Club jersey", "EUR", 20)
        );
        let bad = NewItem {
            name: " ".into(),
            price: 0,
            currency: Some("euro".into()),
            stock: Some(-1),
            images: vec!["ftp://x".into()],
            ..item()
        };
        let fields: Vec<String> = check(bad, "EUR")
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["name", "price", "currency", "stock", "images.0"]);
        let unique = NewItem {
            unique: true,
            stock: Some(2),
            ..item()
        };
        assert!(check(unique, "EUR").is_err());
    }

    #[test]
    fn an_edit_replaces_what_it_sends_and_is_checked() {
        let draft = check(item(), "EUR").unwrap();
        let edit = Edit {
            price: Some(4000),
            stock: Some(0),
            ..Edit::default()
        };
        let after = edited(draft.clone(), edit).unwrap();
        assert_eq!(
            (after.price, after.stock, after.name),
            (4000, 0, draft.name.clone())
        );
        let edit = Edit {
            price: Some(-3),
            ..Edit::default()
        };
        assert!(edited(draft, edit).is_err());
    }

    #[test]
    fn quantities_and_money() {
        assert_eq!(check_quantity(3, false), Ok(3));
        assert!(check_quantity(2, true).is_err());
        assert!(check_quantity(0, false).is_err());
        assert!(check_quantity(101, false).is_err());
        assert_eq!(money(1250, "EUR"), "12.50 EUR");
        assert_eq!(money(-5, "EUR"), "-0.05 EUR");
    }
}

//! How money moves, as rules: the kinds of transaction and the two postings each makes, amounts and currencies
//! checked, how far an account may go below zero, and a report's CSV. Pure, no I/O.

use agon_kit::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The largest amount one transaction moves: ten million in major units.
pub const MAX_AMOUNT: i64 = 1_000_000_000;
pub const DESCRIPTION_MAX_CHARS: usize = 200;

/// What a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Money paid in (at the desk, by transfer): into the member's account from the world's.
    Deposit,
    /// Money paid out: from the member's account to the world's.
    Withdrawal,
    /// What the member bought from the club: from their account to the club's.
    Purchase,
    /// A purchase given back: from the club's account to the member's.
    Refund,
}

/// Whose an account is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    Member,
    /// The club: what it sold and refunded.
    Club,
    /// Everything outside the club: where deposits come from and withdrawals go.
    World,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Deposit,
        Kind::Withdrawal,
        Kind::Purchase,
        Kind::Refund,
    ];

    /// What the member's account gains: `amount` in, or `-amount` out.
    pub fn member_delta(self, amount: i64) -> i64 {
        match self {
            Kind::Deposit | Kind::Refund => amount,
            Kind::Withdrawal | Kind::Purchase => -amount,
        }
    }

    /// The other account of the two: the world's for money entering or leaving the club, the club's for what it
    /// sells and gives back.
    pub fn counterpart(self) -> Holder {
        match self {
            Kind::Deposit | Kind::Withdrawal => Holder::World,
            Kind::Purchase | Kind::Refund => Holder::Club,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Deposit => "deposit",
            Kind::Withdrawal => "withdrawal",
            Kind::Purchase => "purchase",
            Kind::Refund => "refund",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl Holder {
    pub fn name(self) -> &'static str {
        match self {
            Holder::Member => "member",
            Holder::Club => "club",
            Holder::World => "world",
        }
    }
}

/// The two postings of a transaction: the member's and its counterpart's, adding up to zero.
pub fn postings(kind: Kind, amount: i64) -> [(Holder, i64); 2] {
    let delta = kind.member_delta(amount);
    [(Holder::Member, delta), (kind.counterpart(), -delta)]
}

/// Whether a member's balance may take `delta`: money in always; money out while the balance stays at or above
/// minus the credit limit (0 for a wallet alone).
pub fn has_room(balance: i64, credit_limit: i64, delta: i64) -> bool {
    delta >= 0
        || balance
            .checked_add(delta)
            .is_some_and(|b| b >= -credit_limit)
}

/// An amount: a whole number of minor units, from 1 to [`MAX_AMOUNT`].
pub fn check_amount(amount: i64) -> Result<i64, FieldError> {
    if (1..=MAX_AMOUNT).contains(&amount) {
        Ok(amount)
    } else {
        Err(FieldError::new(
            "amount",
            "must be a whole number of minor units (cents) from 1 to 1000000000",
        ))
    }
}

/// A currency: an ISO 4217 code, three letters (`EUR`); lowercase is read as uppercase.
pub fn check_currency(code: &str) -> Result<String, FieldError> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(FieldError::new(
            "currency",
            "must be an ISO 4217 code such as EUR",
        ))
    }
}

/// A description: one line of at most 200 characters.
pub fn check_description(text: String) -> Result<String, FieldError> {
    let mut problems = Vec::new();
    let text = agon_kit::text::checked(
        "description",
        text,
        DESCRIPTION_MAX_CHARS,
        agon_kit::text::Lines::Single,
        &mut problems,
    );
    problems.pop().map_or(Ok(text), Err)
}

/// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; a text a spreadsheet would run
/// as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transaction_posts_two_legs_that_add_up_to_zero() {
        for kind in Kind::ALL {
            let [(first, a), (second, b)] = postings(kind, 250);
            assert_eq!((first, a + b), (Holder::Member, 0), "{kind:?}");
            assert_ne!(second, Holder::Member);
            assert_eq!(Kind::parse(kind.name()), Some(kind));
        }
        assert_eq!(postings(Kind::Purchase, 250)[0].1, -250);
        assert_eq!(postings(Kind::Deposit, 250)[1], (Holder::World, -250));
    }

    #[test]
    fn a_balance_goes_below_zero_only_within_the_credit_limit() {
        assert!(has_room(100, 0, -100));
        assert!(!has_room(100, 0, -101));
        assert!(has_room(0, 500, -500));
        assert!(!has_room(-400, 500, -101));
        assert!(has_room(-10_000, 0, 1), "money in always passes");
        assert!(!has_room(i64::MIN + 1, 0, -2), "no overflow");
    }

    #[test]
    fn amounts_and_currencies_are_checked() {
        assert!(check_amount(0).is_err());
        assert!(check_amount(-5).is_err());
        assert!(check_amount(MAX_AMOUNT + 1).is_err());
        assert_eq!(check_amount(1), Ok(1));
        assert_eq!(check_currency(" eur "), Ok("EUR".into()));
        assert!(check_currency("EURO").is_err());
        assert!(check_currency("E1R").is_err());
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
    }
}

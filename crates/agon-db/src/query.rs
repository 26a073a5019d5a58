//! Statements with their parameters in one call: `query(sql, (a, b, c))` binds `$1, $2, $3` in order, and
//! `query_as::<Row>(sql, params)` reads each row into a `#[derive(sqlx::FromRow)]` struct. The same SQL serves
//! both engines through [`sqlx::Any`].

use sqlx::{
    Any, FromRow, SqlSafeStr,
    any::{AnyArguments, AnyRow},
    query::{Map, Query},
};

/// A statement on a service's database.
pub type Statement<'q> = Query<'q, Any, AnyArguments>;

/// What a statement's `$1, $2, …` are bound to: a tuple of values, in order (`()` for none).
pub trait Params<'q> {
    fn bind_to(self, statement: Statement<'q>) -> Statement<'q>;
}

macro_rules! tuple_params {
    ($($value:ident),*) => {
        impl<'q, $($value: sqlx::Encode<'q, Any> + sqlx::Type<Any>),*> Params<'q> for ($($value,)*) {
            #[allow(non_snake_case, unused_mut)]
            fn bind_to(self, mut statement: Statement<'q>) -> Statement<'q> {
                let ($($value,)*) = self;
                $(statement = statement.bind($value);)*
                statement
            }
        }
    };
}

tuple_params!();
tuple_params!(A);
tuple_params!(A, B);
tuple_params!(A, B, C);
tuple_params!(A, B, C, D);
tuple_params!(A, B, C, D, E);
tuple_params!(A, B, C, D, E, F);
tuple_params!(A, B, C, D, E, F, G);
tuple_params!(A, B, C, D, E, F, G, H);
tuple_params!(A, B, C, D, E, F, G, H, I);
tuple_params!(A, B, C, D, E, F, G, H, I, J);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S);

/// An optional float to bind: use it for every `Option<f64>` parameter. sqlx 0.9.0's `Any` arguments hand a NULL
/// `f64` to PostgreSQL as `real` (float4; the arms for `Real` and `Double` nulls are swapped), so a statement a
/// connection first prepared with a NULL there refuses a number later ("incorrect binary data format in bind
/// parameter"). A NULL declared as `Real` reaches PostgreSQL as the `double precision` NULL it should be;
/// `a_null_then_a_number_bind_in_one_prepared_statement` fails the day sqlx swaps them back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Float(pub Option<f64>);

impl<'q> sqlx::Encode<'q, Any> for Float {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self.0 {
            Some(value) => <f64 as sqlx::Encode<'q, Any>>::encode_by_ref(&value, buf),
            // A `Real` NULL: what `Option::<f32>::None` declares.
            None => <Option<f32> as sqlx::Encode<'q, Any>>::encode_by_ref(&None, buf),
        }
    }
}

impl sqlx::Type<Any> for Float {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <f64 as sqlx::Type<Any>>::type_info()
    }
}

/// `sql` with `params` bound.
pub fn query<'q>(sql: impl SqlSafeStr, params: impl Params<'q>) -> Statement<'q> {
    params.bind_to(sqlx::query(sql))
}

/// `sql` with `params` bound, each row read as an `O`.
pub fn query_as<'q, O>(
    sql: impl SqlSafeStr,
    params: impl Params<'q>,
) -> Map<'q, Any, impl FnMut(AnyRow) -> Result<O, sqlx::Error> + Send, AnyArguments>
where
    O: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    query(sql, params).try_map(|row: AnyRow| O::from_row(&row))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On the PostgreSQL of the test run when there is one (`AGON_TEST_DATABASE_URL`), else on SQLite.
    #[tokio::test]
    // The test harness's variable, as agon-testkit reads it (which this crate cannot depend on).
    #[allow(clippy::disallowed_methods)]
    async fn a_null_then_a_number_bind_in_one_prepared_statement() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let databases = match std::env::var("AGON_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => crate::Databases::Postgres {
                url,
                schema_prefix: format!("f{}_", &uuid::Uuid::new_v4().simple().to_string()[..10]),
            },
            _ => crate::Databases::SqliteDir(dir.path().to_owned()),
        };
        let db = databases
            .open("floats")
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        // One transaction: one connection, so the second insert reuses the statement the first prepared.
        let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        query("create table floats (x double precision)", ())
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for x in [None, Some(1.5), None, Some(-2.25)] {
            query("insert into floats (x) values ($1)", (Float(x),))
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("binding {x:?}: {e}"));
        }
        let sum: (f64,) = query_as("select sum(x) from floats", ())
            .fetch_one(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sum.0, -0.75);
    }
}

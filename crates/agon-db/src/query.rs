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

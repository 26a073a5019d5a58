//! Photo verification requests and the account's verification status.

use agon_db::{Row, RowExt, Tx, query, query_as};
use uuid::Uuid;

use super::Store;
use crate::error::Error;

/// The latest verification request of an account.
#[derive(sqlx::FromRow)]
pub struct Verification {
    pub status: String,
    #[sqlx(try_from = "agon_db::OptionalId")]
    pub request_id: Option<Uuid>,
    pub requested_at: Option<String>,
}

impl Store {
    pub async fn verification(&self, user_id: Uuid) -> Result<Option<Verification>, Error> {
        Ok(query_as(
            "select a.verification_status as status, r.id as request_id, r.created_at as requested_at \
             from accounts a left join verification_requests r on r.user_id = a.id and r.created_at = \
             (select max(created_at) from verification_requests where user_id = a.id) where a.id = $1",
            (user_id.to_string(),),
        )
        .fetch_optional(self.db.pool())
        .await?)
    }

    pub async fn insert_verification(
        &self,
        tx: &mut Tx,
        id: Uuid,
        user_id: Uuid,
        content_type: &str,
        photo: &[u8],
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into verification_requests (id, user_id, content_type, photo, status, created_at) \
             values ($1, $2, $3, $4, 'pending', $5)",
            (id.to_string(), user_id.to_string(), content_type, photo.to_vec(), now),
        )
        .execute(&mut **tx)
        .await?;
        query(
            "update accounts set verification_status = 'pending', updated_at = $2 where id = $1",
            (user_id.to_string(), now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The photo of a request and its owner.
    pub async fn verification_photo(
        &self,
        id: Uuid,
    ) -> Result<Option<(Uuid, String, Vec<u8>)>, Error> {
        let row = query(
            "select user_id, content_type, photo from verification_requests where id = $1",
            (id.to_string(),),
        )
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| {
            Ok((
                r.id("user_id")?,
                r.try_get("content_type")?,
                r.try_get("photo")?,
            ))
        })
        .transpose()
    }
}

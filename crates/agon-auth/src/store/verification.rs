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
    pub reason: Option<String>,
}

impl Store {
    pub async fn verification(&self, user_id: Uuid) -> Result<Option<Verification>, Error> {
        Ok(query_as(
            "select a.verification_status as status, r.id as request_id, r.created_at as requested_at, r.reason \
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

    /// The photo of a pending request and its owner (a decided request's photo is dropped).
    pub async fn verification_photo(
        &self,
        id: Uuid,
    ) -> Result<Option<(Uuid, String, Vec<u8>)>, Error> {
        let row = query(
            "select user_id, content_type, photo from verification_requests where id = $1 and status = 'pending'",
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

/// A pending request whose photo is due to be sent (again) to the face service.
#[derive(sqlx::FromRow)]
pub struct Unanswered {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub user_id: Uuid,
    pub content_type: String,
    pub photo: Vec<u8>,
    pub created_at: String,
}

impl Store {
    /// Pending requests never sent, or last sent before `before`; oldest first, at most `limit`. Two replicas may
    /// pick the same row and send its photo twice: the face service decides a request once.
    pub async fn unanswered(
        tx: &mut Tx,
        before: &str,
        limit: i64,
    ) -> Result<Vec<Unanswered>, Error> {
        Ok(query_as(
            "select id, user_id, content_type, photo, created_at from verification_requests \
             where status = 'pending' and (announced_at is null or announced_at < $1) \
             order by created_at limit $2",
            (before, limit),
        )
        .fetch_all(&mut **tx)
        .await?)
    }

    pub async fn mark_announced(tx: &mut Tx, id: Uuid, now: &str) -> Result<(), Error> {
        query(
            "update verification_requests set announced_at = $2 where id = $1",
            (id.to_string(), now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records the face service's decision on a pending request, drops its photo and, when it is the account's
    /// latest request, sets the account's status. False when the request was not pending.
    pub async fn decide_verification(
        tx: &mut Tx,
        id: Uuid,
        status: &str,
        reason: Option<&str>,
        now: &str,
    ) -> Result<bool, Error> {
        let row = query(
            "update verification_requests set status = $2, reason = $3, decided_at = $4, photo = $5 \
             where id = $1 and status = 'pending' returning user_id",
            (id.to_string(), status, reason, now, Vec::<u8>::new()),
        )
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let user_id: String = row.try_get("user_id")?;
        query(
            "update accounts set verification_status = $2, updated_at = $3 where id = $1 and not exists \
             (select 1 from verification_requests r where r.user_id = $1 and r.created_at > \
              (select created_at from verification_requests where id = $4))",
            (user_id, status, now, id.to_string()),
        )
        .execute(&mut **tx)
        .await?;
        Ok(true)
    }
}

//! All SQL of the face service. Descriptions are stored as JSON arrays of 128 numbers; photos never are.

use agon_db::{Db, Tx, query, query_as};
use uuid::Uuid;

use crate::{error::Error, model::Vector};

#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// A member's reference face.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reference {
    pub vector: String,
    pub source: String,
    pub set_at: String,
}

/// A verification request as decided (or waiting).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Verification {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub user_id: Uuid,
    pub status: String,
    pub reason: Option<String>,
    pub distance: Option<f64>,
    pub requested_at: String,
    pub decided_at: Option<String>,
}

/// What was decided about one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub status: &'static str,
    pub reason: Option<&'static str>,
    pub distance: Option<f32>,
}

pub fn vector_text(vector: &[f32]) -> String {
    serde_json::to_string(vector).unwrap_or_default()
}

pub fn parse_vector(text: &str) -> anyhow::Result<Vector> {
    let vector: Vector = serde_json::from_str(text)?;
    anyhow::ensure!(
        vector.len() == 128,
        "a stored description has {} numbers",
        vector.len()
    );
    Ok(vector)
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn reference(tx: &mut Tx, user_id: Uuid) -> Result<Option<Reference>, Error> {
        Ok(query_as(
            "select vector, source, set_at from face_references where user_id = $1",
            (user_id.to_string(),),
        )
        .fetch_optional(&mut **tx)
        .await?)
    }

    pub async fn reference_of(&self, user_id: Uuid) -> Result<Option<Reference>, Error> {
        Ok(query_as(
            "select vector, source, set_at from face_references where user_id = $1",
            (user_id.to_string(),),
        )
        .fetch_optional(self.db.pool())
        .await?)
    }

    /// Sets (or replaces) a member's reference.
    pub async fn set_reference(
        tx: &mut Tx,
        user_id: Uuid,
        vector: &[f32],
        source: &str,
        request_id: Option<Uuid>,
        set_by: Option<Uuid>,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into face_references (user_id, vector, source, request_id, set_by, set_at) \
             values ($1, $2, $3, $4, $5, $6) on conflict (user_id) do update set vector = excluded.vector, \
             source = excluded.source, request_id = excluded.request_id, set_by = excluded.set_by, \
             set_at = excluded.set_at",
            (
                user_id.to_string(),
                vector_text(vector),
                source,
                request_id.map(|id| id.to_string()),
                set_by.map(|id| id.to_string()),
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn delete_reference(&self, user_id: Uuid) -> Result<bool, Error> {
        let done = query(
            "delete from face_references where user_id = $1",
            (user_id.to_string(),),
        )
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn verification(&self, id: Uuid) -> Result<Option<Verification>, Error> {
        Ok(query_as(
            "select id, user_id, status, reason, distance, requested_at, decided_at from verifications \
             where id = $1",
            (id.to_string(),),
        )
        .fetch_optional(self.db.pool())
        .await?)
    }

    pub async fn verification_in(tx: &mut Tx, id: Uuid) -> Result<Option<Verification>, Error> {
        Ok(query_as(
            "select id, user_id, status, reason, distance, requested_at, decided_at from verifications \
             where id = $1",
            (id.to_string(),),
        )
        .fetch_optional(&mut **tx)
        .await?)
    }

    /// Records a request: decided, or waiting (`pending`) with its photo's description.
    pub async fn insert_verification(
        tx: &mut Tx,
        id: Uuid,
        user_id: Uuid,
        decision: &Decision,
        waiting: Option<&[f32]>,
        requested_at: &str,
        now: &str,
    ) -> Result<(), Error> {
        let decided_at = (decision.status != "pending").then_some(now);
        query(
            "insert into verifications (id, user_id, status, reason, distance, vector, requested_at, decided_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
            (
                id.to_string(),
                user_id.to_string(),
                decision.status,
                decision.reason,
                agon_db::Float(decision.distance.map(f64::from)),
                waiting.map(vector_text),
                requested_at,
                decided_at,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// A member's requests waiting for a reference, oldest first, with their descriptions.
    pub async fn waiting(tx: &mut Tx, user_id: Uuid) -> Result<Vec<(Uuid, String, String)>, Error> {
        let rows: Vec<(String, String, String)> = query_as(
            "select id, vector, requested_at from verifications where user_id = $1 and status = 'pending' \
             order by requested_at",
            (user_id.to_string(),),
        )
        .fetch_all(&mut **tx)
        .await?;
        rows.into_iter()
            .map(|(id, vector, at)| Ok((id.parse().map_err(anyhow::Error::from)?, vector, at)))
            .collect()
    }

    /// Decides a waiting request; its description is dropped. False when it was no longer waiting.
    pub async fn decide(
        tx: &mut Tx,
        id: Uuid,
        decision: &Decision,
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "update verifications set status = $2, reason = $3, distance = $4, vector = null, decided_at = $5 \
             where id = $1 and status = 'pending'",
            (
                id.to_string(),
                decision.status,
                decision.reason,
                agon_db::Float(decision.distance.map(f64::from)),
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

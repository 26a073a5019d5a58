//! All SQL of the users service, written once for SQLite and PostgreSQL.

use agon_db::{AnyRow, Db, Row, Tx};
use uuid::Uuid;

use crate::{domain::Profile, error::Error};

#[derive(Clone)]
pub struct Store {
    db: Db,
}

const COLUMNS: &str =
    "user_id, email, display_name, bio, city, country, avatar_url, roles, created_at, updated_at";

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Creates the profile unless it exists (the event may be delivered again).
    pub async fn insert_profile(&self, tx: &mut Tx, p: &Profile) -> anyhow::Result<()> {
        sqlx::query(
            "insert into profiles (user_id, email, display_name, bio, roles, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $6) on conflict (user_id) do nothing",
        )
        .bind(p.user_id.to_string())
        .bind(&p.email)
        .bind(&p.display_name)
        .bind(&p.bio)
        .bind(p.roles.join(","))
        .bind(&p.created_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn profile(&self, user_id: Uuid) -> Result<Option<Profile>, Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {COLUMNS} from profiles where user_id = $1"
        )))
        .bind(user_id.to_string())
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(profile).transpose()
    }

    pub async fn update_profile(&self, p: &Profile) -> Result<(), Error> {
        sqlx::query(
            "update profiles set display_name = $2, bio = $3, city = $4, country = $5, avatar_url = $6, \
             updated_at = $7 where user_id = $1",
        )
        .bind(p.user_id.to_string())
        .bind(&p.display_name)
        .bind(&p.bio)
        .bind(p.city.clone())
        .bind(p.country.clone())
        .bind(p.avatar_url.clone())
        .bind(&p.updated_at)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}

fn profile(row: &AnyRow) -> Result<Profile, Error> {
    let id: String = row.try_get("user_id")?;
    let roles: String = row.try_get("roles")?;
    Ok(Profile {
        user_id: id
            .parse()
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored id {id:?}: {e}")))?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        bio: row.try_get("bio")?,
        city: row.try_get("city")?,
        country: row.try_get("country")?,
        avatar_url: row.try_get("avatar_url")?,
        roles: roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

//! All SQL of the users service, written once for SQLite and PostgreSQL.

use agon_db::{AnyRow, Db, Row, RowExt, Tx, query, query_as};
use uuid::Uuid;

use crate::{
    domain::{Profile, Status},
    error::Error,
};

#[derive(Clone)]
pub struct Store {
    db: Db,
}

const COLUMNS: &str = "user_id, email, username, display_name, bio, city, country, avatar_url, roles, status, created_at, updated_at";

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Creates the profile unless it exists (the event may be delivered again).
    /// A new profile, with its location when the sign-up gave one.
    pub async fn insert_profile(
        &self,
        tx: &mut Tx,
        p: &Profile,
        location: Option<(f64, f64)>,
    ) -> anyhow::Result<()> {
        query(
            "insert into profiles (user_id, email, username, display_name, bio, city, country, latitude, \
             longitude, roles, status, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) on conflict (user_id) do nothing",
            (
                p.user_id.to_string(),
                p.email.as_deref(),
                p.username.as_deref(),
                &p.display_name,
                &p.bio,
                p.city.as_deref(),
                p.country.as_deref(),
                agon_db::Float(location.map(|l| l.0)),
                agon_db::Float(location.map(|l| l.1)),
                p.roles.join(","),
                p.status.as_str(),
                &p.created_at,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn profile(&self, user_id: Uuid) -> Result<Option<Profile>, Error> {
        let row = query(
            sqlx::AssertSqlSafe(format!("select {COLUMNS} from profiles where user_id = $1")),
            (user_id.to_string(),),
        )
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(profile).transpose()
    }

    pub async fn update_profile(&self, p: &Profile) -> Result<(), Error> {
        query(
            "update profiles set display_name = $2, bio = $3, city = $4, country = $5, avatar_url = $6, \
             updated_at = $7 where user_id = $1",
            (
                p.user_id.to_string(),
                &p.display_name,
                &p.bio,
                p.city.clone(),
                p.country.clone(),
                p.avatar_url.clone(),
                &p.updated_at,
            ),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}

fn profile(row: &AnyRow) -> Result<Profile, Error> {
    let roles: String = row.try_get("roles")?;
    Ok(Profile {
        user_id: row.id("user_id")?,
        email: row.try_get("email")?,
        username: row.try_get("username")?,
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
        status: {
            let text: String = row.try_get("status")?;
            Status::parse(&text)
                .ok_or_else(|| Error::Api(anyhow::anyhow!("stored status {text:?}").into()))?
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Filters of a user listing.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    /// Case-insensitive substring of the display name.
    pub name: Option<&'a str>,
    /// Case-insensitive city.
    pub city: Option<&'a str>,
    pub status: Option<Status>,
    /// The exact email or username the account logs in with (administrators only).
    pub login: Option<&'a str>,
}

/// The conditions of a [`Filter`] on `$2` (name pattern), `$3` (city), `$4` (status) and `$5` (login), each
/// empty for "any".
/// The name is matched literally: `\`, `%` and `_` are escaped, and `escape '\'` is spelled out because SQLite
/// has no default escape character (PostgreSQL's is `\`).
const FILTER: &str = "($2 = '' or lower(display_name) like $2 escape '\\') \
     and ($3 = '' or lower(coalesce(city, '')) = $3) and ($4 = '' or status = $4) \
     and ($5 = '' or email = $5 or username = $5)";

impl Filter<'_> {
    fn params(&self) -> (String, String, &'static str, String) {
        (
            self.name.map(contains_pattern).unwrap_or_default(),
            self.city.map(str::to_lowercase).unwrap_or_default(),
            self.status.map_or("", Status::as_str),
            self.login
                .map(|l| l.trim().to_lowercase())
                .unwrap_or_default(),
        )
    }
}

impl Store {
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Profiles matching `filter`, in id (creation) order after `after`.
    pub async fn search(
        &self,
        filter: &Filter<'_>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Profile>, Error> {
        let sql = format!(
            "select {COLUMNS} from profiles where user_id > $1 and {FILTER} order by user_id limit $6"
        );
        let (name, city, status, login) = filter.params();
        let rows = query(
            sqlx::AssertSqlSafe(sql),
            (after, name, city, status, login, limit),
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(profile).collect()
    }

    /// How many profiles `filter` matches (the backoffice's counters).
    pub async fn count(&self, filter: &Filter<'_>) -> Result<i64, Error> {
        // `$1` stands where the listing's cursor does, so both share FILTER's numbering.
        let sql = format!("select count(*) as n from profiles where $1 = '' and {FILTER}");
        let (name, city, status, login) = filter.params();
        let row = query(sqlx::AssertSqlSafe(sql), ("", name, city, status, login))
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Writes the account-state columns of `p` inside `tx`.
    pub async fn save_state(
        &self,
        tx: &mut Tx,
        p: &Profile,
        ban_reason: Option<&str>,
    ) -> Result<(), Error> {
        query(
            "update profiles set status = $2, roles = $3, ban_reason = $4, updated_at = $5 where \
             user_id = $1",
            (
                p.user_id.to_string(),
                p.status.as_str(),
                p.roles.join(","),
                ban_reason.map(str::to_owned),
                &p.updated_at,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn delete_profile(&self, tx: &mut Tx, user_id: Uuid) -> Result<bool, Error> {
        let done = query(
            "delete from profiles where user_id = $1",
            (user_id.to_string(),),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// A `like` pattern matching names that contain `text`, case-insensitively (the caller lowers the column).
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A member's device registered for push notifications.
#[derive(sqlx::FromRow)]
pub struct Device {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub token: String,
    pub platform: String,
    pub created_at: String,
    pub last_seen_at: String,
}

impl Store {
    pub async fn set_location(
        &self,
        user_id: Uuid,
        at: Option<(f64, f64)>,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "update profiles set latitude = $2, longitude = $3, updated_at = $4 where user_id = $1",
            (
                user_id.to_string(),
                agon_db::Float(at.map(|a| a.0)),
                agon_db::Float(at.map(|a| a.1)),
                now,
            ),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    pub async fn location(&self, user_id: Uuid) -> Result<Option<(f64, f64)>, Error> {
        let row = query(
            "select latitude, longitude from profiles where user_id = $1",
            (user_id.to_string(),),
        )
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (lat, lon): (Option<f64>, Option<f64>) =
            (row.try_get("latitude")?, row.try_get("longitude")?);
        Ok(lat.zip(lon))
    }

    /// Active members inside a latitude/longitude box, with their coordinates (at most `cap`).
    pub async fn in_box(
        &self,
        lat: (f64, f64),
        lon: (f64, f64),
        cap: i64,
    ) -> Result<Vec<(Profile, f64, f64)>, Error> {
        let sql = format!(
            "select {COLUMNS}, latitude, longitude from profiles where status = 'active' and latitude between $1 and $2 \
             and longitude between $3 and $4 limit $5"
        );
        let rows = query(sqlx::AssertSqlSafe(sql), (lat.0, lat.1, lon.0, lon.1, cap))
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((profile(r)?, r.try_get("latitude")?, r.try_get("longitude")?)))
            .collect()
    }

    pub async fn preferences(&self, user_id: Uuid) -> Result<Option<String>, Error> {
        let row = query(
            "select preferences from profiles where user_id = $1",
            (user_id.to_string(),),
        )
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(|r| r.try_get("preferences")).transpose()?)
    }

    pub async fn set_preferences(&self, user_id: Uuid, json: &str, now: &str) -> Result<(), Error> {
        query(
            "update profiles set preferences = $2, updated_at = $3 where user_id = $1",
            (user_id.to_string(), json, now),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Records the follow; true if it is new.
    pub async fn follow(
        &self,
        tx: &mut Tx,
        follower: Uuid,
        followee: Uuid,
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "insert into follows (follower_id, followee_id, created_at) values ($1, $2, $3) \
             on conflict (follower_id, followee_id) do nothing",
            (follower.to_string(), followee.to_string(), now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn unfollow(&self, follower: Uuid, followee: Uuid) -> Result<(), Error> {
        query(
            "delete from follows where follower_id = $1 and followee_id = $2",
            (follower.to_string(), followee.to_string()),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Profiles following `user_id` (`followers`) or followed by it, in id order after `after`.
    pub async fn follow_list(
        &self,
        user_id: Uuid,
        followers: bool,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Profile>, Error> {
        let (mine, theirs) = if followers {
            ("followee_id", "follower_id")
        } else {
            ("follower_id", "followee_id")
        };
        let columns = COLUMNS
            .split(", ")
            .map(|c| format!("p.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "select {columns} from follows f join profiles p on p.user_id = f.{theirs} \
             where f.{mine} = $1 and p.user_id > $2 order by p.user_id limit $3"
        );
        let rows = query(
            sqlx::AssertSqlSafe(sql),
            (user_id.to_string(), after, limit),
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(profile).collect()
    }

    pub async fn follow_counts(&self, user_id: Uuid) -> Result<(i64, i64), Error> {
        let row = query(
            "select (select count(*) from follows where followee_id = $1) as followers, \
             (select count(*) from follows where follower_id = $1) as following",
            (user_id.to_string(),),
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok((row.try_get("followers")?, row.try_get("following")?))
    }

    /// Registers a device token for `user_id`, or refreshes it (platform, last seen) if it is already theirs.
    /// False if another member holds the token: it stays theirs until they remove it (docs/security.md). One
    /// statement, so two members racing for a token cannot both win.
    pub async fn put_device(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        token: &str,
        platform: &str,
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "insert into devices (id, token, user_id, platform, created_at, last_seen_at) \
             values ($1, $2, $3, $4, $5, $5) \
             on conflict (token) do update set platform = excluded.platform, last_seen_at = excluded.last_seen_at \
             where devices.user_id = excluded.user_id",
            (Uuid::now_v7().to_string(), token, user_id.to_string(), platform, now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The tokens of `user_id`'s devices beyond the `cap` most recently seen, never `keep` (the one just
    /// registered), least recently seen first.
    pub async fn devices_beyond(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        keep: &str,
        cap: i64,
    ) -> Result<Vec<String>, Error> {
        let count: i64 = query(
            "select count(*) as n from devices where user_id = $1",
            (user_id.to_string(),),
        )
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
        if count <= cap {
            return Ok(Vec::new());
        }
        let rows = query(
            "select token from devices where user_id = $1 and token <> $2 order by last_seen_at, \
             id limit $3",
            (user_id.to_string(), keep, count - cap),
        )
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("token")?)).collect()
    }

    /// A page of `user_id`'s devices in id (registration) order after `after`.
    pub async fn devices(
        &self,
        user_id: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Device>, Error> {
        Ok(query_as(
            "select id, token, platform, created_at, last_seen_at from devices \
             where user_id = $1 and id > $2 order by id limit $3",
            (
                user_id.to_string(),
                after.map(|id| id.to_string()).unwrap_or_default(),
                limit,
            ),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    pub async fn delete_device(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        token: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "delete from devices where token = $1 and user_id = $2",
            (token, user_id.to_string()),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes what hangs off a deleted member: follows both ways and devices.
    pub async fn delete_relations(&self, tx: &mut Tx, user_id: Uuid) -> Result<(), Error> {
        for sql in [
            "delete from follows where follower_id = $1 or followee_id = $1",
            "delete from devices where user_id = $1",
        ] {
            query(sql, (user_id.to_string(),))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

impl Store {
    /// The profile of the account that logs in as `login`: an email, or a username (which never holds `@`).
    pub async fn profile_by_login(&self, login: &str) -> Result<Option<Profile>, Error> {
        let column = if login.contains('@') {
            "email"
        } else {
            "username"
        };
        let row = query(
            sqlx::AssertSqlSafe(format!(
                "select {COLUMNS} from profiles where {column} = $1"
            )),
            (login.trim().to_lowercase(),),
        )
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(profile).transpose()
    }
}

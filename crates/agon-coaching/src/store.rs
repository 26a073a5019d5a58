//! All SQL of the coaching service.

use agon_db::{Db, Flag, JsonText, ResultExt, Tx, query, query_as};
use jiff::Timestamp;
use uuid::Uuid;

use crate::{
    domain::{Exception, Span, Window},
    error::Error,
};

#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// A coach's profile as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Coach {
    #[sqlx(try_from = "String")]
    pub user_id: Uuid,
    pub name: String,
    pub bio: String,
    #[sqlx(try_from = "JsonText")]
    pub specialities: serde_json::Value,
    #[sqlx(try_from = "JsonText")]
    pub languages: serde_json::Value,
    pub price: i64,
    pub currency: String,
    pub time_zone: String,
    pub session_minutes: i64,
    pub cutoff_hours: i64,
    pub notice_hours: i64,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// What a coach's profile is written from.
#[derive(Debug, Clone)]
pub struct CoachRow {
    pub name: String,
    pub bio: String,
    pub specialities: Vec<String>,
    pub languages: Vec<String>,
    pub price: i64,
    pub currency: String,
    pub time_zone: String,
    pub session_minutes: i64,
    pub cutoff_hours: i64,
    pub notice_hours: i64,
    pub active: bool,
}

const COACH_COLUMNS: &str = "user_id, name, bio, specialities, languages, price, currency, time_zone, \
                             session_minutes, cutoff_hours, notice_hours, active, created_at, updated_at";

/// An exception as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExceptionRow {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub day: String,
    pub kind: String,
    pub start_minute: i64,
    pub end_minute: i64,
    pub reason: String,
}

/// A booking as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Booking {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub coach_id: Uuid,
    #[sqlx(try_from = "String")]
    pub athlete_id: Uuid,
    pub starts_at: String,
    pub ends_at: String,
    pub status: String,
    pub note: String,
    pub price: i64,
    pub currency: String,
    pub cancelled_by: Option<String>,
    pub reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const BOOKING_COLUMNS: &str = "id, coach_id, athlete_id, starts_at, ends_at, status, note, price, currency, \
                               cancelled_by, reason, created_at, updated_at";

/// A booking to write.
pub struct NewBooking<'a> {
    pub id: Uuid,
    pub coach: &'a Coach,
    pub athlete: Uuid,
    pub span: Span,
    pub note: &'a str,
    pub key: Option<&'a str>,
}

/// A session note as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Note {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub author_id: Uuid,
    pub body: String,
    #[sqlx(try_from = "Flag")]
    pub shared: bool,
    pub created_at: String,
}

/// Whose bookings a listing shows.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Athlete,
    Coach,
}

/// An instant as stored.
pub fn text(t: Timestamp) -> String {
    let micros = t.as_microsecond();
    agon_db::time_text(chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default())
}

/// A stored instant read back.
pub fn instant(text: &str) -> Result<Timestamp, Error> {
    text.parse()
        .map_err(|e| anyhow::anyhow!("stored instant {text:?}: {e}").into())
}

fn id(u: Uuid) -> String {
    u.to_string()
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn coach(&self, user: Uuid) -> Result<Option<Coach>, Error> {
        let sql = format!("select {COACH_COLUMNS} from coaches where user_id = $1");
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id(user),))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// Creates or replaces a coach's profile.
    pub async fn put_coach(&self, user: Uuid, c: &CoachRow, now: &str) -> Result<(), Error> {
        let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        query(
            "insert into coaches (user_id, name, bio, specialities, languages, price, currency, time_zone, \
             session_minutes, cutoff_hours, notice_hours, active, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
             on conflict (user_id) do update set name = excluded.name, bio = excluded.bio, \
             specialities = excluded.specialities, languages = excluded.languages, price = excluded.price, \
             currency = excluded.currency, time_zone = excluded.time_zone, \
             session_minutes = excluded.session_minutes, cutoff_hours = excluded.cutoff_hours, \
             notice_hours = excluded.notice_hours, active = excluded.active, updated_at = excluded.updated_at",
            (
                id(user),
                &c.name,
                &c.bio,
                json(&c.specialities),
                json(&c.languages),
                c.price,
                &c.currency,
                &c.time_zone,
                c.session_minutes,
                c.cutoff_hours,
                c.notice_hours,
                i64::from(c.active),
                now,
            ),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// A page of the coaches offering sessions, by id; `text` (lowercase) matched in a speciality or language
    /// and `name` anywhere in the name.
    pub async fn coaches(
        &self,
        (speciality, language, name): (&str, &str, &str),
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Coach>, Error> {
        let sql = format!(
            "select {COACH_COLUMNS} from coaches where active = 1 and ($1 = '' or user_id > $1) \
             and ($2 = '' or lower(specialities) like $2) and ($3 = '' or lower(languages) like $3) \
             and ($4 = '' or lower(name) like $4) order by user_id limit $5"
        );
        let like = |t: &str, quoted: bool| match (t.is_empty(), quoted) {
            (true, _) => String::new(),
            (false, true) => format!("%\"{}\"%", t.replace(['%', '_', '"', '\\'], "")),
            (false, false) => format!("%{}%", t.replace(['%', '_'], "")),
        };
        let after = after.map(id).unwrap_or_default();
        Ok(query_as(
            sqlx::AssertSqlSafe(sql),
            (
                after,
                like(speciality, true),
                like(language, true),
                like(name, false),
                limit,
            ),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Replaces a coach's weekly rules.
    pub async fn replace_rules(&self, coach: Uuid, windows: &[Window]) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        query(
            "delete from availability_rules where coach_id = $1",
            (id(coach),),
        )
        .execute(&mut *tx)
        .await?;
        for (i, w) in windows.iter().enumerate() {
            query(
                "insert into availability_rules (coach_id, position, weekday, start_minute, end_minute) \
                 values ($1, $2, $3, $4, $5)",
                (
                    id(coach),
                    i as i64,
                    i64::from(w.weekday.to_monday_one_offset()),
                    w.minutes.0,
                    w.minutes.1,
                ),
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn rules(&self, coach: Uuid) -> Result<Vec<Window>, Error> {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "select weekday, start_minute, end_minute from availability_rules where coach_id = $1 order by position",
        )
        .bind(id(coach))
        .fetch_all(self.db.pool())
        .await?;
        Ok((rows.into_iter())
            .filter_map(|(day, start, end)| {
                let weekday = jiff::civil::Weekday::from_monday_one_offset(day as i8).ok()?;
                Some(Window {
                    weekday,
                    minutes: (start, end),
                })
            })
            .collect())
    }

    pub async fn insert_exception(
        &self,
        coach: Uuid,
        exception_id: Uuid,
        e: &Exception,
        reason: &str,
    ) -> Result<(), Error> {
        query(
            "insert into availability_exceptions (id, coach_id, day, kind, start_minute, end_minute, reason, \
             created_at) values ($1, $2, $3, $4, $5, $6, $7, $8)",
            (
                id(exception_id),
                id(coach),
                e.date.to_string(),
                if e.extra { "extra" } else { "off" },
                e.minutes.0,
                e.minutes.1,
                reason,
                agon_db::now_text(),
            ),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// A coach's exceptions on dates `from..=to` (`YYYY-MM-DD`), by date, at most `limit`.
    pub async fn exceptions(
        &self,
        coach: Uuid,
        (from, to): (&str, &str),
        limit: i64,
    ) -> Result<Vec<ExceptionRow>, Error> {
        Ok(query_as(
            "select id, day, kind, start_minute, end_minute, reason from availability_exceptions \
             where coach_id = $1 and day >= $2 and day <= $3 order by day, start_minute, id limit $4",
            (id(coach), from, to, limit),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    pub async fn delete_exception(&self, coach: Uuid, exception: Uuid) -> Result<bool, Error> {
        let done = query(
            "delete from availability_exceptions where id = $1 and coach_id = $2",
            (id(exception), id(coach)),
        )
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The coach's confirmed sessions overlapping `[from, to)`.
    pub async fn busy(&self, coach: Uuid, (from, to): Span) -> Result<Vec<Span>, Error> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "select starts_at, ends_at from bookings where coach_id = $1 and status = 'confirmed' \
             and starts_at < $3 and ends_at > $2",
        )
        .bind(id(coach))
        .bind(text(from))
        .bind(text(to))
        .fetch_all(self.db.pool())
        .await?;
        (rows.iter())
            .map(|(s, e)| Ok((instant(s)?, instant(e)?)))
            .collect()
    }

    /// Claims the cells of `span` for each of `holders`, for booking `booking`: [`Error::SlotTaken`] when one of
    /// them is already in a session then.
    pub async fn claim(
        tx: &mut Tx,
        booking: Uuid,
        holders: [Uuid; 2],
        span: Span,
    ) -> Result<(), Error> {
        let cells = crate::domain::cells(span);
        let rows = cells.clone().count() * holders.len();
        let values: Vec<String> = (0..rows)
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let sql = format!(
            "insert into claims (holder_id, cell, booking_id) values {}",
            values.join(", ")
        );
        let mut statement = query(sqlx::AssertSqlSafe(sql), ());
        for holder in holders {
            for cell in cells.clone() {
                statement = statement.bind(id(holder)).bind(cell).bind(id(booking));
            }
        }
        statement
            .execute(&mut **tx)
            .await
            .on_unique(|| Error::SlotTaken)?;
        Ok(())
    }

    /// Gives a booking's cells back.
    pub async fn release(tx: &mut Tx, booking: Uuid) -> Result<(), Error> {
        query("delete from claims where booking_id = $1", (id(booking),))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn insert_booking(tx: &mut Tx, b: &NewBooking<'_>, now: &str) -> Result<(), Error> {
        query(
            "insert into bookings (id, coach_id, athlete_id, starts_at, ends_at, status, note, price, currency, \
             reminded, idempotency_key, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, 'confirmed', $6, $7, $8, 0, $9, $10, $10)",
            (
                id(b.id),
                id(b.coach.user_id),
                id(b.athlete),
                text(b.span.0),
                text(b.span.1),
                b.note,
                b.coach.price,
                &b.coach.currency,
                b.key,
                now,
            ),
        )
        .execute(&mut **tx)
        .await
        .on_unique(|| Error::KeyReused)?;
        Ok(())
    }

    pub async fn booking(&self, booking: Uuid) -> Result<Option<Booking>, Error> {
        let sql = format!("select {BOOKING_COLUMNS} from bookings where id = $1");
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id(booking),))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// A booking as the transaction `tx` sees it.
    pub async fn booking_in(tx: &mut Tx, booking: Uuid) -> Result<Option<Booking>, Error> {
        let sql = format!("select {BOOKING_COLUMNS} from bookings where id = $1");
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id(booking),))
            .fetch_optional(&mut **tx)
            .await?)
    }

    /// The booking an athlete made with this Idempotency-Key.
    pub async fn booking_by_key(&self, athlete: Uuid, key: &str) -> Result<Option<Booking>, Error> {
        let sql = format!(
            "select {BOOKING_COLUMNS} from bookings where athlete_id = $1 and idempotency_key = $2"
        );
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id(athlete), key))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// A page of one person's bookings as athlete or as coach, by start then id, from `since` on.
    pub async fn bookings(
        &self,
        (side, person): (Side, Uuid),
        (status, since): (&str, &str),
        after: Option<(String, Uuid)>,
        limit: i64,
    ) -> Result<Vec<Booking>, Error> {
        let column = match side {
            Side::Athlete => "athlete_id",
            Side::Coach => "coach_id",
        };
        let sql = format!(
            "select {BOOKING_COLUMNS} from bookings where {column} = $1 and ($2 = '' or status = $2) \
             and starts_at >= $3 and ($4 = '' or starts_at > $4 or (starts_at = $4 and id > $5)) \
             order by starts_at, id limit $6"
        );
        let (after_start, after_id) =
            after.map_or((String::new(), String::new()), |(s, i)| (s, id(i)));
        Ok(query_as(
            sqlx::AssertSqlSafe(sql),
            (id(person), status, since, after_start, after_id, limit),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Moves a confirmed booking to `span` (its cells claimed anew by the caller).
    pub async fn move_booking(
        tx: &mut Tx,
        booking: Uuid,
        span: Span,
        reason: &str,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "update bookings set starts_at = $2, ends_at = $3, reason = $4, reminded = 0, updated_at = $5 \
             where id = $1",
            (id(booking), text(span.0), text(span.1), reason, now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Sets a confirmed booking's status; false when it was no longer confirmed (another request was first).
    pub async fn settle(
        tx: &mut Tx,
        booking: Uuid,
        (status, by, reason): (&str, Option<Uuid>, Option<&str>),
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "update bookings set status = $2, cancelled_by = $3, reason = $4, updated_at = $5 \
             where id = $1 and status = 'confirmed'",
            (id(booking), status, by.map(id), reason, now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn record_change(
        tx: &mut Tx,
        booking: Uuid,
        (by, action, reason): (Uuid, &str, &str),
        previous_start: &str,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into booking_changes (booking_id, at, by_id, action, reason, previous_start) \
             values ($1, $2, $3, $4, $5, $6)",
            (id(booking), now, id(by), action, reason, previous_start),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Confirmed bookings starting before `before` whose reminder has not gone out, soonest first.
    pub async fn due_reminders(&self, before: &str, limit: i64) -> Result<Vec<Booking>, Error> {
        let sql = format!(
            "select {BOOKING_COLUMNS} from bookings where status = 'confirmed' and reminded = 0 \
             and starts_at <= $1 and starts_at > $2 order by starts_at limit $3"
        );
        Ok(query_as(
            sqlx::AssertSqlSafe(sql),
            (before, agon_db::now_text(), limit),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Marks a reminder sent; false when another replica did first.
    pub async fn mark_reminded(tx: &mut Tx, booking: Uuid) -> Result<bool, Error> {
        let done = query(
            "update bookings set reminded = 1 where id = $1 and reminded = 0 and status = 'confirmed'",
            (id(booking),),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn add_note(
        &self,
        (note, booking, author): (Uuid, Uuid, Uuid),
        body: &str,
        shared: bool,
    ) -> Result<(), Error> {
        query(
            "insert into session_notes (id, booking_id, author_id, body, shared, created_at) \
             values ($1, $2, $3, $4, $5, $6)",
            (
                id(note),
                id(booking),
                id(author),
                body,
                i64::from(shared),
                agon_db::now_text(),
            ),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// A page of a session's notes, oldest first; `shared_only` for its athlete.
    pub async fn notes(
        &self,
        booking: Uuid,
        shared_only: bool,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Note>, Error> {
        Ok(query_as(
            "select id, author_id, body, shared, created_at from session_notes where booking_id = $1 \
             and ($2 = 0 or shared = 1) and ($3 = '' or id > $3) order by id limit $4",
            (
                id(booking),
                i64::from(shared_only),
                after.map(id).unwrap_or_default(),
                limit,
            ),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    pub async fn set_calendar_key(&self, user: Uuid, hash: &str) -> Result<(), Error> {
        query(
            "insert into calendar_keys (user_id, key_hash, created_at) values ($1, $2, $3) \
             on conflict (user_id) do update set key_hash = excluded.key_hash, created_at = excluded.created_at",
            (id(user), hash, agon_db::now_text()),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    pub async fn calendar_owner(&self, hash: &str) -> Result<Option<Uuid>, Error> {
        let row: Option<(String,)> =
            sqlx::query_as("select user_id from calendar_keys where key_hash = $1")
                .bind(hash)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.and_then(|(u,)| u.parse().ok()))
    }
}

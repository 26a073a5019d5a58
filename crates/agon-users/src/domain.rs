//! Profile rules: what a profile holds and which edits are valid.

use agon_kit::{FieldError, text::Lines};
use uuid::Uuid;

/// A user's profile as the service stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub user_id: Uuid,
    /// Absent for an account opened with a username alone.
    pub email: Option<String>,
    pub username: Option<String>,
    pub display_name: String,
    pub bio: String,
    pub city: Option<String>,
    pub country: Option<String>,
    pub avatar_url: Option<String>,
    pub roles: Vec<String>,
    pub status: Status,
    pub created_at: String,
    pub updated_at: String,
}

/// Where an account stands: the users service decides it, the auth service enforces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Can log in.
    Active,
    /// A trainer or coach waiting for an administrator's approval.
    Pending,
    /// Cannot log in; sessions ended.
    Banned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Pending => "pending",
            Status::Banned => "banned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Status::Active, Status::Pending, Status::Banned]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A validated partial update. `Some(None)` clears an optional field.
#[derive(Debug, Default, Clone)]
pub struct ProfileEdit {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub city: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
}

impl Profile {
    pub fn apply(&mut self, edit: ProfileEdit) {
        if let Some(v) = edit.display_name {
            self.display_name = v;
        }
        if let Some(v) = edit.bio {
            self.bio = v;
        }
        if let Some(v) = edit.city {
            self.city = v;
        }
        if let Some(v) = edit.country {
            self.country = v;
        }
        if let Some(v) = edit.avatar_url {
            self.avatar_url = v;
        }
    }
}

/// The display name a new account starts with: the given one, else the username, else the email's local part.
pub fn initial_display_name(
    given: Option<&str>,
    username: Option<&str>,
    email: Option<&str>,
) -> String {
    let local = || email.map(|e| e.split('@').next().unwrap_or(e));
    given
        .or(username)
        .or_else(local)
        .unwrap_or_default()
        .to_owned()
}

pub use agon_kit::text::checked as text;

/// Checks an avatar URL: absolute http(s), bounded length.
pub fn avatar_url(value: String, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim().to_owned();
    let ok = (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() <= 2048
        && !value.contains(char::is_whitespace)
        && agon_kit::text::check("avatar_url", &value, Lines::Single).is_ok();
    if !ok {
        errors.push(FieldError {
            field: "avatar_url".into(),
            message: "must be an http(s) URL".into(),
        });
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_defaults_to_local_part() {
        let email = Some("ana@club.org");
        assert_eq!(initial_display_name(None, None, email), "ana");
        assert_eq!(
            initial_display_name(Some("Ana"), Some("ana_b"), email),
            "Ana"
        );
        assert_eq!(initial_display_name(None, Some("ana_b"), email), "ana_b");
    }

    #[test]
    fn field_checks_collect_errors() {
        let mut errors = Vec::new();
        assert_eq!(
            text("bio", "  hi ".into(), 5, Lines::Multi, &mut errors),
            "hi"
        );
        text("bio", "x".repeat(6), 5, Lines::Multi, &mut errors);
        avatar_url("ftp://x".into(), &mut errors);
        assert_eq!(errors.len(), 2);
        assert_eq!(
            text("bio", "a\nb".into(), 5, Lines::Multi, &mut errors),
            "a\nb"
        );
        assert_eq!(errors.len(), 2, "a bio keeps its line feeds");
        text("display_name", "a\nb".into(), 5, Lines::Single, &mut errors);
        text("bio", "a\u{1b}b".into(), 5, Lines::Multi, &mut errors);
        avatar_url("https://x.example/\0".into(), &mut errors);
        assert_eq!(errors.len(), 5);
    }
}

/// Mean Earth radius, in km.
const EARTH_KM: f64 = 6371.0088;

/// Great-circle distance between two points, in km (haversine).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1, lat2, lon2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_KM * h.sqrt().asin()
}

/// A latitude/longitude box that contains every point within `km` of `center` (longitude widened at high
/// latitudes; the whole range near the poles).
pub fn bounding_box(center: (f64, f64), km: f64) -> ((f64, f64), (f64, f64)) {
    let dlat = (km / EARTH_KM).to_degrees();
    let lat = ((center.0 - dlat).max(-90.0), (center.0 + dlat).min(90.0));
    let cos = center.0.to_radians().cos();
    let lon = if cos < 0.01 || km / (EARTH_KM * cos) > std::f64::consts::PI {
        (-180.0, 180.0)
    } else {
        let dlon = (km / (EARTH_KM * cos)).to_degrees();
        (center.1 - dlon, center.1 + dlon)
    };
    (lat, lon)
}

/// Checks a coordinate pair.
pub fn coordinates(latitude: f64, longitude: f64) -> Result<(f64, f64), FieldError> {
    if !(-90.0..=90.0).contains(&latitude) || !latitude.is_finite() {
        return Err(FieldError {
            field: "latitude".into(),
            message: "must be between -90 and 90".into(),
        });
    }
    if !(-180.0..=180.0).contains(&longitude) || !longitude.is_finite() {
        return Err(FieldError {
            field: "longitude".into(),
            message: "must be between -180 and 180".into(),
        });
    }
    Ok((latitude, longitude))
}

#[cfg(test)]
mod geo_tests {
    use super::*;

    #[test]
    fn distances_match_known_cities() {
        let paris = (48.8566, 2.3522);
        let lyon = (45.7640, 4.8357);
        let d = distance_km(paris, lyon);
        assert!((390.0..395.0).contains(&d), "{d}");
        assert!(distance_km(paris, paris) < 1e-9);
    }

    #[test]
    fn the_box_holds_the_circle() {
        let center = (60.0, 10.0);
        let ((lat0, lat1), (lon0, lon1)) = bounding_box(center, 100.0);
        // Points 100 km due north and due east lie inside.
        assert!(lat1 > center.0 + 0.89 && lat0 < center.0 - 0.89);
        assert!(lon1 > center.1 + 1.79 && lon0 < center.1 - 1.79);
        assert_eq!(bounding_box((89.9, 0.0), 50.0).1, (-180.0, 180.0));
        assert!(
            coordinates(91.0, 0.0).is_err()
                && coordinates(0.0, -181.0).is_err()
                && coordinates(45.0, 5.0).is_ok()
        );
    }
}

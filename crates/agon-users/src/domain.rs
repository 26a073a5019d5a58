//! Profile rules: what a profile holds and which edits are valid.

use agon_kit::FieldError;
use uuid::Uuid;

/// A user's profile as the service stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub bio: String,
    pub city: Option<String>,
    pub country: Option<String>,
    pub avatar_url: Option<String>,
    pub roles: Vec<String>,
    /// `active`, `pending` or `banned`.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
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

/// The display name a new account starts with: the given one, or the email's local part.
pub fn initial_display_name(given: Option<&str>, email: &str) -> String {
    given
        .map(str::to_owned)
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned())
}

/// Checks a text field's length in characters, trimming it.
pub fn text(field: &str, value: String, max: usize, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim().to_owned();
    if value.chars().count() > max {
        errors.push(FieldError {
            field: field.into(),
            message: format!("must be at most {max} characters"),
        });
    }
    value
}

/// Checks an avatar URL: absolute http(s), bounded length.
pub fn avatar_url(value: String, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim().to_owned();
    let ok = (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() <= 2048
        && !value.contains(char::is_whitespace);
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
        assert_eq!(initial_display_name(None, "ana@club.org"), "ana");
        assert_eq!(initial_display_name(Some("Ana"), "ana@club.org"), "Ana");
    }

    #[test]
    fn field_checks_collect_errors() {
        let mut errors = Vec::new();
        assert_eq!(text("bio", "  hi ".into(), 5, &mut errors), "hi");
        text("bio", "x".repeat(6), 5, &mut errors);
        avatar_url("ftp://x".into(), &mut errors);
        assert_eq!(errors.len(), 2);
    }
}

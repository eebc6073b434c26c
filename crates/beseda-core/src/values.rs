//! Parsed values: once a value of these types exists, it is valid.

use crate::error::{CoreError, CoreResult};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A lower-cased, trimmed email address with one `@` and a dot in its domain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> CoreResult<Email> {
        let s = raw.trim().to_lowercase();
        let bad = || CoreError::invalid("email", "must look like name@example.com");
        // No spaces and no control characters (a NUL cannot even be stored by PostgreSQL).
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(bad());
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed. Never printed: `Debug` shows a placeholder.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 512;

    pub fn parse(raw: &str) -> CoreResult<Password> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(CoreError::invalid(
                "password",
                format!("must have at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(CoreError::invalid(
                "password",
                format!("must have at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &str, raw: &str) -> CoreResult<DisplayName> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(CoreError::invalid(field, "must not be empty"));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(CoreError::invalid(
                field,
                format!("must have at most {} characters", Self::MAX_CHARS),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(CoreError::invalid(
                field,
                "must not contain control characters",
            ));
        }
        Ok(DisplayName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The languages the interface speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    En,
    Ru,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Ru];

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ru => "ru",
        }
    }

    pub fn parse(raw: &str) -> CoreResult<Locale> {
        match raw {
            "en" => Ok(Locale::En),
            "ru" => Ok(Locale::Ru),
            _ => Err(CoreError::invalid("locale", "must be en or ru")),
        }
    }
}

/// What a manager says about being able to take dialogs (F33, F36).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ManagerStatus {
    Free,
    Busy,
    Lunch,
    Break,
}

impl ManagerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ManagerStatus::Free => "free",
            ManagerStatus::Busy => "busy",
            ManagerStatus::Lunch => "lunch",
            ManagerStatus::Break => "break",
        }
    }

    pub fn parse(raw: &str) -> CoreResult<ManagerStatus> {
        match raw {
            "free" => Ok(ManagerStatus::Free),
            "busy" => Ok(ManagerStatus::Busy),
            "lunch" => Ok(ManagerStatus::Lunch),
            "break" => Ok(ManagerStatus::Break),
            _ => Err(CoreError::invalid(
                "status",
                "must be one of free, busy, lunch, break",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Anna@Example.COM ").unwrap().as_str(),
            "anna@example.com"
        );
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.com",
            "anna@example",
            "a b@example.com",
            "a@b@c.com",
            "a@.com",
            "an\u{0}na@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn password_debug_never_shows_the_secret() {
        let p = Password::parse("correct horse").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        assert!(Password::parse("short").is_err());
    }

    #[test]
    fn display_name_is_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("name", "  Анна ").unwrap().as_str(),
            "Анна"
        );
        assert!(DisplayName::parse("name", "   ").is_err());
        assert!(DisplayName::parse("name", &"я".repeat(101)).is_err());
        assert!(DisplayName::parse("name", "a\u{7}b").is_err());
    }
}

/// The most bytes a stored text may take, whatever its visible length: a message counts only
/// its non-blank characters (F30), so blanks alone could otherwise fill a row.
pub mod max_bytes {
    /// A manager's message, draft or quick reply.
    pub const COMPANY_TEXT: usize = 16 * 1024;
    /// A client's message or edit from a channel (messengers allow long texts).
    pub const CLIENT_TEXT: usize = 64 * 1024;
    /// A name, nickname, phone, email, language or external id a channel gives.
    pub const NAME: usize = 1024;
    /// A link, a page address, a failure's reason.
    pub const URL: usize = 4096;
}

/// Refuses a text over `max` bytes, naming the field.
pub fn within_bytes(field: &str, text: &str, max: usize) -> CoreResult<()> {
    if text.len() > max {
        return Err(CoreError::invalid(
            field,
            format!("must take at most {max} bytes"),
        ));
    }
    Ok(())
}

/// A text cut to at most `max` bytes, at a character boundary: for what another system tells
/// us and we keep anyway (a module's failure reason).
pub fn clipped(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// For a field that may be left out (`None`), set to `null` (`Some(None)`) or given: serde
/// reads a missing field with `default` and a present one through this.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

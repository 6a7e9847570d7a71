//! Timestamps are stored as RFC 3339 UTC text with millisecond precision (`2026-11-27T08:00:00.000Z`),
//! which sorts and compares correctly as text in SQL.

use chrono::{DateTime, SecondsFormat, Utc};

/// Format a time for storage.
pub fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Now, formatted for storage.
pub fn now() -> String {
    fmt(Utc::now())
}

/// Parse a stored time.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

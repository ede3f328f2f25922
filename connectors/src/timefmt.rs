//! Time formats the channels use. Naive local times are Asia/Shanghai (UTC+8,
//! no daylight saving since 1991), so a fixed offset is exact.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};

/// Asia/Shanghai.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// A time that a channel or a setting wrote, and could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("`{value}` is not a valid time in format {format}: {source}")]
    Format {
        value: String,
        format: String,
        source: chrono::ParseError,
    },
    #[error("`{value}` is not a valid local time")]
    NotLocal { value: String },
}

/// A wire mapping's reasons are quarantine text (see `spec::Unreadable`).
impl From<TimeError> for String {
    fn from(e: TimeError) -> String {
        e.to_string()
    }
}

/// Parses a naive local time in `fmt` as Asia/Shanghai.
pub fn parse_local(s: &str, fmt: &str) -> Result<DateTime<FixedOffset>, TimeError> {
    let naive = NaiveDateTime::parse_from_str(s.trim(), fmt).map_err(|source| TimeError::Format {
        value: s.to_owned(),
        format: fmt.to_owned(),
        source,
    })?;
    shanghai()
        .from_local_datetime(&naive)
        .single()
        .ok_or_else(|| TimeError::NotLocal { value: s.to_owned() })
}

/// Formats as a naive Asia/Shanghai local time.
pub fn format_local(t: &DateTime<FixedOffset>, fmt: &str) -> String {
    t.with_timezone(&shanghai()).format(fmt).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compact_and_dashed_local_times() {
        let a = parse_local("20230519120938", "%Y%m%d%H%M%S").unwrap();
        let b = parse_local("2023-05-19 12:09:38", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_rfc3339(), "2023-05-19T12:09:38+08:00");
        assert_eq!(format_local(&a, "%Y%m%d%H%M%S"), "20230519120938");
    }

    #[test]
    fn rejects_impossible_dates() {
        let e = parse_local("2023-02-30 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap_err();
        assert!(e.to_string().contains("2023-02-30"));
        assert!(parse_local("20231345000000", "%Y%m%d%H%M%S").is_err());
    }
}

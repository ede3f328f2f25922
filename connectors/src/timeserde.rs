//! Timestamps and dates in serde, written and read exactly as chrono's own
//! serde impls do (RFC 3339, `AutoSi` fractions, `Z` for UTC), without
//! chrono's general formatter and parser on the hot path.
//!
//! Every appeal and event on the bus carries several timestamps, and a
//! profile of the production demo put chrono's RFC 3339 writing and parsing
//! at about 5% of minqing's CPU. The fast path covers the shape minqing
//! writes itself (years 0–9999, `YYYY-MM-DDTHH:MM:SS[.f]` with a `Z` or
//! `±HH:MM` offset); anything else, including leap seconds, offsets with
//! seconds and every malformed input, goes to chrono, so the accepted
//! inputs, the results and the error messages stay chrono's.
//!
//! Use with `#[serde(with = "…")]`: [`fixed`] and [`fixed_opt`] for
//! `DateTime<FixedOffset>`, [`utc_opt`] for `Option<DateTime<Utc>>`,
//! [`date_opt`] for `Option<NaiveDate>`. Option fields also need
//! `#[serde(default)]`, as serde only defaults a missing `Option` by itself
//! when no `with` is given.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+HH:MM`.
const MAX: usize = 35;

fn two(out: &mut [u8], at: usize, v: u32) {
    out[at] = b'0' + (v / 10) as u8;
    out[at + 1] = b'0' + (v % 10) as u8;
}

/// `YYYY-MM-DD` into `out[..10]`, for a year in 0–9999.
fn date(out: &mut [u8], d: &impl Datelike) {
    two(out, 0, d.year() as u32 / 100);
    two(out, 2, d.year() as u32 % 100);
    out[4] = b'-';
    two(out, 5, d.month());
    out[7] = b'-';
    two(out, 8, d.day());
}

/// chrono's `write_rfc3339(…, AutoSi, use_z = true)`, or None outside the
/// fast path.
fn format(naive: NaiveDateTime, offset: i32, out: &mut [u8; MAX]) -> Option<usize> {
    let nano = naive.nanosecond();
    if !(0..=9999).contains(&naive.year()) || nano >= 1_000_000_000 || offset % 60 != 0 {
        return None;
    }
    date(out, &naive);
    out[10] = b'T';
    two(out, 11, naive.hour());
    out[13] = b':';
    two(out, 14, naive.minute());
    out[16] = b':';
    two(out, 17, naive.second());
    let mut n = 19;
    let (digits, mut frac) = match nano {
        0 => (0, 0),
        _ if nano.is_multiple_of(1_000_000) => (3, nano / 1_000_000),
        _ if nano.is_multiple_of(1_000) => (6, nano / 1_000),
        _ => (9, nano),
    };
    if digits > 0 {
        out[n] = b'.';
        for i in (0..digits).rev() {
            out[n + 1 + i] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        n += 1 + digits;
    }
    if offset == 0 {
        out[n] = b'Z';
        return Some(n + 1);
    }
    out[n] = if offset < 0 { b'-' } else { b'+' };
    let minutes = offset.unsigned_abs() / 60;
    two(out, n + 1, minutes / 60);
    out[n + 3] = b':';
    two(out, n + 4, minutes % 60);
    Some(n + 6)
}

/// The fast path of `DateTime::<FixedOffset>::from_str`: None hands the
/// input to chrono.
fn parse(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let digit = |i: usize| {
        let d = b[i].wrapping_sub(b'0');
        (d < 10).then_some(u32::from(d))
    };
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let year = two(0)? * 100 + two(2)?;
    let (month, day, hour, minute, second) = (two(5)?, two(8)?, two(11)?, two(14)?, two(17)?);
    if second > 59 {
        return None;
    }
    let mut i = 19;
    let mut nano = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return None;
        }
        for k in start..i {
            nano = nano * 10 + digit(k)?;
        }
        nano *= 10u32.pow(9 - n as u32);
    }
    let offset = match &b[i..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let secs = (two(i + 1)? * 60 + two(i + 4)?) as i32 * 60;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let naive = NaiveDate::from_ymd_opt(year as i32, month, day)?.and_hms_nano_opt(hour, minute, second, nano)?;
    FixedOffset::east_opt(offset)?.from_local_datetime(&naive).single()
}

fn parse_or_chrono<E: de::Error>(s: &str) -> Result<DateTime<FixedOffset>, E> {
    match parse(s) {
        Some(t) => Ok(t),
        None => s.parse::<DateTime<FixedOffset>>().map_err(E::custom),
    }
}

/// A timestamp that serializes through the fast path.
struct Fast<'a, Tz: TimeZone>(&'a DateTime<Tz>);

impl<Tz: TimeZone> Serialize for Fast<'_, Tz>
where
    DateTime<Tz>: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = [0u8; MAX];
        let offset = self.0.offset().fix().local_minus_utc();
        match format(self.0.naive_local(), offset, &mut out) {
            // Only ASCII was written.
            Some(n) => s.serialize_str(std::str::from_utf8(&out[..n]).map_err(serde::ser::Error::custom)?),
            None => self.0.serialize(s),
        }
    }
}

struct Visitor;

impl de::Visitor<'_> for Visitor {
    type Value = DateTime<FixedOffset>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 formatted date and time string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        parse_or_chrono(v)
    }
}

/// Deserializes through the fast path.
struct Parsed(DateTime<FixedOffset>);

impl<'de> Deserialize<'de> for Parsed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Visitor).map(Parsed)
    }
}

/// `DateTime<FixedOffset>`.
pub mod fixed {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        Fast(t).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
        Parsed::deserialize(d).map(|p| p.0)
    }
}

/// `Option<DateTime<FixedOffset>>`.
pub mod fixed_opt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<FixedOffset>>, s: S) -> Result<S::Ok, S::Error> {
        t.as_ref().map(Fast).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
        Ok(Option::<Parsed>::deserialize(d)?.map(|p| p.0))
    }
}

/// `Option<DateTime<Utc>>`; any offset is read and converted, as chrono does.
pub mod utc_opt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        t.as_ref().map(Fast).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Ok(Option::<Parsed>::deserialize(d)?.map(|p| p.0.with_timezone(&Utc)))
    }
}

/// `Option<NaiveDate>` as `YYYY-MM-DD`.
pub mod date_opt {
    use super::*;

    struct Date<'a>(&'a NaiveDate);

    impl Serialize for Date<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let d = self.0;
            if !(0..=9999).contains(&d.year()) {
                return d.serialize(s);
            }
            let mut out = [0u8; 10];
            date(&mut out, d);
            s.serialize_str(std::str::from_utf8(&out).map_err(serde::ser::Error::custom)?)
        }
    }

    struct DateVisitor;

    impl de::Visitor<'_> for DateVisitor {
        type Value = NaiveDate;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a formatted date string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<NaiveDate, E> {
            let b = v.as_bytes();
            let fast = (b.len() == 10 && b[4] == b'-' && b[7] == b'-')
                .then(|| {
                    let n = |r: std::ops::Range<usize>| v.get(r).filter(|x| x.bytes().all(|c| c.is_ascii_digit()))?.parse::<u32>().ok();
                    NaiveDate::from_ymd_opt(n(0..4)? as i32, n(5..7)?, n(8..10)?)
                })
                .flatten();
            match fast {
                Some(d) => Ok(d),
                None => v.parse().map_err(E::custom),
            }
        }
    }

    struct ParsedDate(NaiveDate);

    impl<'de> Deserialize<'de> for ParsedDate {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_str(DateVisitor).map(ParsedDate)
        }
    }

    pub fn serialize<S: Serializer>(t: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        t.as_ref().map(Date).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        Ok(Option::<ParsedDate>::deserialize(d)?.map(|p| p.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Ours {
        #[serde(with = "fixed")]
        at: DateTime<FixedOffset>,
        #[serde(default, with = "utc_opt")]
        utc: Option<DateTime<Utc>>,
        #[serde(default, with = "fixed_opt")]
        maybe: Option<DateTime<FixedOffset>>,
        #[serde(default, with = "date_opt")]
        day: Option<NaiveDate>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Chronos {
        at: DateTime<FixedOffset>,
        utc: Option<DateTime<Utc>>,
        maybe: Option<DateTime<FixedOffset>>,
        day: Option<NaiveDate>,
    }

    /// Timestamps across the fast path's edges: every fraction length,
    /// offsets east, west and zero, years at both ends and beyond.
    fn samples() -> Vec<DateTime<FixedOffset>> {
        let mut out = Vec::new();
        let offsets = [0, 8 * 3600, -(5 * 3600 + 30 * 60), 14 * 3600, -(23 * 3600 + 59 * 60), 3600 + 1];
        let nanos = [0, 1, 999, 1_000, 120_000, 7_000_000, 123_456_789, 999_999_999, 1_500_000_000];
        let days = [
            (1, 1, 1),
            (1970, 1, 1),
            (2024, 2, 29),
            (2026, 12, 31),
            (9999, 12, 31),
            (10000, 1, 1),
            (-5, 3, 1),
        ];
        let mut k = 0u32;
        for &(y, m, d) in &days {
            for &nano in &nanos {
                for &off in &offsets {
                    k = k.wrapping_mul(2_654_435_761).wrapping_add(12_345);
                    let naive = NaiveDate::from_ymd_opt(y, m, d)
                        .unwrap()
                        .and_hms_nano_opt(k % 24, (k / 24) % 60, if nano >= 1_000_000_000 { 59 } else { (k / 7) % 60 }, nano)
                        .unwrap();
                    out.push(FixedOffset::east_opt(off).unwrap().from_local_datetime(&naive).unwrap());
                }
            }
        }
        out
    }

    #[test]
    fn writes_exactly_what_chrono_writes() {
        for t in samples() {
            let ours = Ours {
                at: t,
                utc: Some(t.with_timezone(&Utc)),
                maybe: Some(t),
                day: Some(t.date_naive()),
            };
            let theirs = Chronos {
                at: t,
                utc: Some(t.with_timezone(&Utc)),
                maybe: Some(t),
                day: Some(t.date_naive()),
            };
            assert_eq!(
                serde_json::to_string(&ours).unwrap(),
                serde_json::to_string(&theirs).unwrap(),
                "{t:?}"
            );
        }
        let none = Ours {
            at: DateTime::parse_from_rfc3339("2026-06-01T09:00:00.120+08:00").unwrap(),
            utc: None,
            maybe: None,
            day: None,
        };
        assert_eq!(
            serde_json::to_string(&none).unwrap(),
            r#"{"at":"2026-06-01T09:00:00.120+08:00","utc":null,"maybe":null,"day":null}"#
        );
    }

    #[test]
    fn reads_what_chrono_reads() {
        for t in samples() {
            let json = serde_json::to_string(&Chronos {
                at: t,
                utc: Some(t.with_timezone(&Utc)),
                maybe: Some(t),
                day: Some(t.date_naive()),
            })
            .unwrap();
            let ours: Ours = serde_json::from_str(&json).unwrap();
            let theirs: Chronos = serde_json::from_str(&json).unwrap();
            assert_eq!(
                (ours.at, ours.utc, ours.maybe, ours.day),
                (theirs.at, theirs.utc, theirs.maybe, theirs.day),
                "{json}"
            );
            // Same instant and the same offset.
            assert_eq!(ours.at.offset(), theirs.at.offset());
        }
        // Shapes outside the fast path still read as chrono reads them.
        for s in [
            "2023-05-19 12:09:38+08:00",
            "2023-05-19t12:09:38z",
            "2023-05-19T12:09:38.1234567891+08:00",
            "2023-05-19T12:09:38.5-00:00",
            "2016-12-31T23:59:60Z",
            "+12023-05-19T12:09:38Z",
        ] {
            let json = format!(r#"{{"at":"{s}","utc":"{s}","maybe":"{s}"}}"#);
            let ours: Result<Ours, _> = serde_json::from_str(&json);
            let theirs: Result<Chronos, _> = serde_json::from_str(&json);
            match (ours, theirs) {
                (Ok(o), Ok(t)) => assert_eq!((o.at, o.utc, o.maybe), (t.at, t.utc, t.maybe), "{s}"),
                (Err(o), Err(t)) => assert_eq!(o.to_string(), t.to_string(), "{s}"),
                (o, t) => panic!("{s}: ours {o:?}, chrono {t:?}"),
            }
        }
        // A missing option is None, as without `with`.
        let o: Ours = serde_json::from_str(r#"{"at":"2026-06-01T09:00:00+08:00"}"#).unwrap();
        assert_eq!((o.utc, o.maybe, o.day), (None, None, None));
    }

    #[test]
    fn malformed_input_fails_with_chronos_message() {
        for s in [
            "2023-02-30T10:00:00+08:00",
            "2023-13-01T10:00:00Z",
            "2023-05-19T24:00:00Z",
            "2023-05-19T12:09:38.Z",
            "2023-05-19T12:09:38+8:00",
            "2023-05-19T12:09:38+24:00",
            "2023-05-19T12:0x:38Z",
            "2023-05-19",
            "",
        ] {
            let json = format!(r#"{{"at":"{s}"}}"#);
            let ours = serde_json::from_str::<Ours>(&json).expect_err(s).to_string();
            let theirs = serde_json::from_str::<Chronos>(&json).expect_err(s).to_string();
            assert_eq!(ours, theirs, "{s}");
        }
        for s in ["2023-02-30", "2023-1-01", "20230101", "2023-01-0x", "+2023-01-01"] {
            let json = format!(r#"{{"at":"2026-06-01T09:00:00Z","day":"{s}"}}"#);
            let ours = serde_json::from_str::<Ours>(&json).map(|o| o.day).map_err(|e| e.to_string());
            let theirs = serde_json::from_str::<Chronos>(&json).map(|o| o.day).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{s}");
        }
    }
}

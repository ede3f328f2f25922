//! Helpers shared by the pull connectors: reading and writing their stored
//! cursors, the first point in time to read from, and time windows.

use crate::appeal::Channel;
use crate::error::ConnectorError;
use crate::timefmt::parse_local;
use chrono::{DateTime, Duration, FixedOffset};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Reads a stored cursor; an unreadable one says how to recover.
pub fn decode<T: DeserializeOwned>(channel: Channel, cursor: &str) -> Result<T, ConnectorError> {
    serde_json::from_str(cursor).map_err(|e| ConnectorError::Cursor {
        reason: format!(
            "the stored {channel} cursor `{cursor}` is unreadable ({e}); delete it from connector_checkpoints to start from start_from"
        ),
    })
}

pub fn encode<T: Serialize>(cursor: &T) -> String {
    serde_json::to_string(cursor).expect("cursors are plain structs")
}

/// Now, as the upstream sees it (see [`crate::clock`]).
pub fn now() -> DateTime<FixedOffset> {
    crate::clock::now()
}

/// Where reading starts without a checkpoint: `start_from` (a local time in
/// `fmt`) or `backfill_days` before now.
pub fn initial_time(start_from: Option<&str>, fmt: &str, backfill_days: u32) -> Result<DateTime<FixedOffset>, ConnectorError> {
    match start_from {
        Some(s) => parse_local(s, fmt).map_err(|e| ConnectorError::Contract {
            endpoint: "config start_from".into(),
            reason: e.to_string(),
        }),
        None => Ok(now() - Duration::days(i64::from(backfill_days))),
    }
}

/// The window after `from`: `hours` wide, ending no later than `lag_seconds`
/// before now (the upstream may still be writing the current minute).
/// Returns `(to, horizon)`, or `None` when nothing is due yet.
pub fn next_window(from: DateTime<FixedOffset>, hours: u32, lag_seconds: u32) -> Option<(DateTime<FixedOffset>, DateTime<FixedOffset>)> {
    let horizon = now() - Duration::seconds(i64::from(lag_seconds));
    let to = (from + Duration::hours(i64::from(hours.max(1)))).min(horizon);
    (to > from).then_some((to, horizon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_explain_themselves() {
        #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
        struct C {
            page: u32,
        }
        assert_eq!(decode::<C>(Channel::Supervision, &encode(&C { page: 3 })).unwrap(), C { page: 3 });
        let e = decode::<C>(Channel::Tax12366, "{oops").unwrap_err().to_string();
        assert!(e.contains("tax_12366") && e.contains("connector_checkpoints"), "{e}");
    }

    #[test]
    fn windows_stop_short_of_now() {
        let from = now() - Duration::hours(30);
        let (to, horizon) = next_window(from, 24, 60).unwrap();
        assert_eq!(to, from + Duration::hours(24));
        assert!(horizon > to);
        let recent = now() - Duration::seconds(30);
        assert!(next_window(recent, 24, 60).is_none(), "nothing is due inside the lag");
        let (to, horizon) = next_window(now() - Duration::hours(2), 24, 60).unwrap();
        assert_eq!(to, horizon);
        assert!(initial_time(Some("2026-02-30 00:00:00"), "%Y-%m-%d %H:%M:%S", 7).is_err());
    }
}

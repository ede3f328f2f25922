//! What an unauthenticated caller can make us hold (DESIGN.md §7).
//!
//! A push endpoint must keep a record of what it refused (quarantine, with
//! the reason), but a caller who cannot sign must not be able to fill the
//! disk with it: an 8 MiB body with a bad signature once went to quarantine
//! whole, and twelve of them grew the data directory by 180 MB. So:
//!
//! - [`unauthenticated_record`] keeps the body's size, SHA-256 and first
//!   [`PREFIX_BYTES`] bytes instead of the body;
//! - [`Refusals`] counts refusals per source address and, past a limit per
//!   minute, answers 429 and records nothing at all;
//! - [`Replays`] remembers the signed (timestamp, nonce) pairs seen inside
//!   the freshness window, so a captured request cannot be sent again with
//!   another body.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How much of an unauthenticated body is kept, for an operator to see what came.
pub const PREFIX_BYTES: usize = 256;

/// How every [`unauthenticated_record`] begins.
pub const UNAUTHENTICATED: &[u8] = b"unauthenticated body not kept: ";

/// The record kept instead of a body that failed authentication.
pub fn unauthenticated_record(body: &[u8]) -> Vec<u8> {
    let prefix = &body[..body.len().min(PREFIX_BYTES)];
    format!(
        "unauthenticated body not kept: {} bytes, sha256 {}, first {} bytes: {}",
        body.len(),
        hex::encode(Sha256::digest(body)),
        prefix.len(),
        String::from_utf8_lossy(prefix)
    )
    .into_bytes()
}

/// The default of `refusals_per_minute` on both webhooks.
pub fn refusals_default() -> u32 {
    30
}

/// Refusals per source address in a sliding minute; past `per_minute` the
/// caller gets 429 and nothing is recorded. Holds at most `max_sources`
/// addresses: when full, the stalest are forgotten first.
pub struct Refusals {
    per_minute: u32,
    max_sources: usize,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Refusals {
    pub fn new(per_minute: u32) -> Self {
        Refusals {
            per_minute,
            max_sources: 10_000,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a refusal from `ip`; false when `ip` is over its limit and the
    /// refusal should be answered 429 without recording it.
    pub fn record(&self, ip: IpAddr) -> bool {
        self.record_at(ip, Instant::now())
    }

    fn record_at(&self, ip: IpAddr, now: Instant) -> bool {
        let mut seen = self.seen.lock().expect("refusals lock");
        if seen.len() >= self.max_sources && !seen.contains_key(&ip) {
            seen.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
            if seen.len() >= self.max_sources {
                // Still full of live windows: forget the oldest half.
                let mut starts: Vec<Instant> = seen.values().map(|v| v.0).collect();
                starts.sort_unstable();
                let cut = starts[starts.len() / 2];
                seen.retain(|_, (start, _)| *start > cut);
            }
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_minute
    }
}

/// What [`Replays::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Never seen: go on.
    New,
    /// The same request again (a sender's retry): go on, dedup handles it.
    Retry,
    /// The same timestamp and nonce with another body: a replay; refuse.
    Replay,
}

/// When a (timestamp, nonce) pair was first seen, and the SHA-256 of its body.
type Sighting = (Instant, [u8; 32]);

/// Signed (timestamp, nonce) pairs inside the freshness window, with a
/// digest of the body they came with.
pub struct Replays {
    window: Duration,
    max_entries: usize,
    seen: Mutex<HashMap<(String, String), Sighting>>,
}

impl Replays {
    pub fn new(window: Duration) -> Self {
        Replays {
            window,
            max_entries: 200_000,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Call only for requests whose signature checked out.
    pub fn check(&self, timestamp: &str, nonce: &str, body: &[u8]) -> Seen {
        let digest: [u8; 32] = Sha256::digest(body).into();
        let now = Instant::now();
        let mut seen = self.seen.lock().expect("replays lock");
        if seen.len() >= self.max_entries {
            // Entries older than the window cannot be replayed: the
            // timestamp check refuses them first.
            let window = self.window;
            seen.retain(|_, (at, _)| now.duration_since(*at) < window * 2);
        }
        match seen.get(&(timestamp.to_owned(), nonce.to_owned())) {
            Some((_, d)) if *d == digest => Seen::Retry,
            Some(_) => Seen::Replay,
            None => {
                seen.insert((timestamp.to_owned(), nonce.to_owned()), (now, digest));
                Seen::New
            }
        }
    }
}

/// Whether a unix `timestamp` lies within `window` of now (no overflow on
/// a hostile `-9223372036854775808`).
pub fn fresh(timestamp: &str, window: Duration) -> bool {
    timestamp
        .parse::<i64>()
        .is_ok_and(|t| chrono::Utc::now().timestamp().abs_diff(t) <= window.as_secs())
}

/// The caller's address, where the server recorded it; unspecified when it
/// did not (a test calling the router directly).
pub fn source_ip(ext: &axum::http::Extensions) -> IpAddr {
    ext.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unauthenticated_body_leaves_its_size_digest_and_prefix() {
        let body = vec![b'a'; 8 * 1024 * 1024];
        let r = String::from_utf8(unauthenticated_record(&body)).unwrap();
        assert!(r.len() < 400, "{} bytes kept", r.len());
        assert!(r.contains("8388608 bytes") && r.contains("sha256 "), "{r}");
    }

    #[test]
    fn refusals_past_the_limit_are_not_recorded_and_the_minute_resets() {
        let r = Refusals::new(3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        assert!((0..3).all(|_| r.record_at(a, t0)));
        assert!(!r.record_at(a, t0));
        assert!(r.record_at(b, t0), "another address has its own limit");
        assert!(r.record_at(a, t0 + Duration::from_secs(61)));
    }

    #[test]
    fn the_source_table_stays_bounded() {
        let mut r = Refusals::new(1);
        r.max_sources = 100;
        let t0 = Instant::now();
        for i in 0..1000u32 {
            r.record_at(IpAddr::from(i.to_be_bytes()), t0 + Duration::from_millis(u64::from(i)));
        }
        assert!(r.seen.lock().unwrap().len() <= 100);
    }

    #[test]
    fn a_nonce_again_is_a_retry_with_its_body_and_a_replay_with_another() {
        let r = Replays::new(Duration::from_secs(300));
        assert_eq!(r.check("1700000000", "n1", b"body"), Seen::New);
        assert_eq!(r.check("1700000000", "n1", b"body"), Seen::Retry);
        assert_eq!(r.check("1700000000", "n1", b"forged"), Seen::Replay);
        assert_eq!(r.check("1700000000", "n2", b"forged"), Seen::New);
    }

    #[test]
    fn freshness_is_checked_both_ways() {
        let now = chrono::Utc::now().timestamp();
        let w = Duration::from_secs(300);
        assert!(fresh(&now.to_string(), w));
        assert!(!fresh("1000000000", w));
        assert!(!fresh(&(now + 3600).to_string(), w));
        assert!(!fresh("soon", w));
        assert!(!fresh("-9223372036854775808", w));
    }
}

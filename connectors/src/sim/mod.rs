//! Simulators of the seven channels' upstream servers (feature `sim`).
//!
//! A [`Scenario`] is built once from a seed: per channel, a *feed* of record
//! deliveries in the order the upstream makes them visible, with faults
//! injected at known places (malformed records, replays and edits,
//! cross-channel duplicates). Each channel's `sim` module serves its feed over
//! real HTTP in that channel's wire contract, or pushes it to our webhook, and
//! [`faults`] adds transport faults (500, 429 with `Retry-After`, slow answers).
//! Because the plan is fixed up front, [`Scenario::expected`] says exactly what
//! the gateway should observe, so a run checks itself.

pub mod corpus;
pub mod faults;
pub mod server;

use crate::appeal::Channel;
use chrono::{DateTime, Duration, FixedOffset};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use faults::HttpFaults;

/// What to generate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimSettings {
    pub seed: u64,
    /// Record deliveries across all channels, faults included.
    pub appeals: usize,
    /// Receive times fall in `[start, start + span_hours)`.
    pub start: DateTime<FixedOffset>,
    pub span_hours: i64,
    pub malformed_rate: f64,
    pub replay_rate: f64,
    pub duplicate_rate: f64,
    pub http: HttpFaults,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            seed: 1,
            appeals: 5000,
            start: DateTime::parse_from_rfc3339("2026-06-01T08:00:00+08:00").expect("valid literal"),
            span_hours: 7 * 24,
            malformed_rate: 0.02,
            replay_rate: 0.03,
            duplicate_rate: 0.02,
            http: HttpFaults::default(),
        }
    }
}

/// How a channel's share of the traffic is weighted.
fn weight(c: Channel) -> f64 {
    match c {
        Channel::Hotline12345 => 0.35,
        Channel::Supervision => 0.08,
        Channel::YunshangApp => 0.14,
        Channel::Wechat => 0.14,
        Channel::Police110 => 0.08,
        Channel::Tax12366 => 0.07,
        Channel::Grid => 0.14,
    }
}

/// Ways a record is broken on purpose. Each channel uses the ones its wire allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Malform {
    /// The content field is absent.
    MissingContent,
    /// A time that does not exist (`2023-02-30`, month 13).
    BadDate,
    /// Content far beyond the size limit.
    Oversize,
    /// Broken XML inside one record.
    BadXml,
    /// Bytes that are not valid in the declared encoding.
    BadEncoding,
    /// A push whose signature does not verify.
    BadSignature,
    /// A WeChat safe-mode body whose AES block does not decrypt.
    BadAes,
    /// Coordinates outside the earth.
    BadGps,
}

impl Malform {
    fn for_channel(c: Channel) -> &'static [Malform] {
        use Malform::*;
        match c {
            Channel::Hotline12345 => &[MissingContent, BadDate, Oversize],
            Channel::Supervision => &[BadXml, MissingContent, BadDate],
            Channel::YunshangApp => &[MissingContent, BadDate, Oversize],
            Channel::Wechat => &[BadSignature, BadAes, BadXml],
            Channel::Police110 => &[BadEncoding, BadDate, BadXml],
            Channel::Tax12366 => &[MissingContent, BadDate],
            Channel::Grid => &[BadSignature, MissingContent, BadGps],
        }
    }
}

/// WeChat message kinds the simulator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WxKind {
    Text,
    Image,
    Location,
}

/// What an entry in a feed is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EntryKind {
    /// A new appeal.
    Fresh,
    /// A new appeal that repeats another channel's appeal (same citizen, same text).
    Duplicate,
    /// An earlier record delivered again (re-sent page, WeChat retry).
    Replay,
    /// An earlier record edited: same id, newer version (云上大冶).
    Edit,
    Malformed(Malform),
}

/// One generated appeal, in channel-neutral form; each sim renders it.
#[derive(Debug, Clone)]
pub struct SimAppeal {
    pub source_id: String,
    pub version: u32,
    pub received_at: DateTime<FixedOffset>,
    pub text: corpus::Text,
    pub person: corpus::Person,
    /// The phone as this channel writes it.
    pub phone_shown: String,
    pub openid: String,
    pub anonymous: bool,
    pub coords: (f64, f64),
    pub wx: WxKind,
    pub serial: u64,
}

impl SimAppeal {
    /// What triage should decide for this appeal on channel `c`. A WeChat
    /// picture or location carries none of the words, so it cannot
    /// be categorized and waits for the centre (or, placed outside Daye, is
    /// rejected).
    pub fn expected_scope(&self, c: Channel) -> corpus::Scope {
        let outside = self.text.town.is_none() && !self.text.address.is_empty();
        match (c, self.wx) {
            // A location outside Daye is still rejected on its label.
            (Channel::Wechat, WxKind::Location) if outside => corpus::Scope::Rejected,
            (Channel::Wechat, WxKind::Image | WxKind::Location) => corpus::Scope::Manual,
            _ => self.text.scope,
        }
    }
}

/// One delivery in a channel's feed.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: EntryKind,
    pub appeal: Arc<SimAppeal>,
    /// When the upstream makes it visible; strictly increasing within a feed.
    pub delivered_at: DateTime<FixedOffset>,
}

/// What the gateway should observe for one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    pub generated: u64,
    pub tickets: u64,
    pub replays: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    /// What triage should decide for the new, non-duplicate tickets.
    pub triage: ExpectedTriage,
}

/// Triage outcomes by scope; `dispatched` includes `manual`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedTriage {
    pub forwarded: u64,
    pub rejected: u64,
    pub answered_online: u64,
    pub dispatched: u64,
    pub manual: u64,
}

impl ExpectedTriage {
    fn count(&mut self, s: corpus::Scope) {
        use corpus::Scope;
        match s {
            Scope::Forwarded => self.forwarded += 1,
            Scope::Rejected => self.rejected += 1,
            Scope::AnsweredOnline => self.answered_online += 1,
            Scope::Dispatched => self.dispatched += 1,
            Scope::Manual => {
                self.dispatched += 1;
                self.manual += 1;
            }
        }
    }

    pub fn add(&mut self, o: &ExpectedTriage) {
        self.forwarded += o.forwarded;
        self.rejected += o.rejected;
        self.answered_online += o.answered_online;
        self.dispatched += o.dispatched;
        self.manual += o.manual;
    }
}

/// Every channel's feed plus what it should produce.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub settings: SimSettings,
    pub feeds: BTreeMap<Channel, Arc<Vec<Entry>>>,
    pub expected: BTreeMap<Channel, Expected>,
}

impl Scenario {
    pub fn generate(settings: SimSettings) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        let span = Duration::hours(settings.span_hours.max(1));
        let mut serial = 0u64;
        let mut fresh: BTreeMap<Channel, Vec<(EntryKind, SimAppeal)>> = BTreeMap::new();
        let mut plan = BTreeMap::new();
        let mut assigned = 0usize;
        for (i, c) in Channel::ALL.into_iter().enumerate() {
            let left = settings.appeals - assigned;
            let n = if i + 1 == Channel::ALL.len() {
                left
            } else {
                ((settings.appeals as f64 * weight(c)).round() as usize).min(left)
            };
            assigned += n;
            let malformed = (n as f64 * settings.malformed_rate).round() as usize;
            let replays = (n as f64 * settings.replay_rate).round() as usize;
            let dups = if c == Channel::Wechat {
                0
            } else {
                (n as f64 * settings.duplicate_rate).round() as usize
            };
            // A tiny run may leave no originals; then nothing can be
            // replayed or duplicated and the rest is malformed.
            let originals = n.saturating_sub(malformed + replays + dups);
            let (replays, dups, malformed) = if originals == 0 { (0, 0, n) } else { (replays, dups, malformed) };
            plan.insert(c, (originals, dups, replays, malformed));
            let list = fresh.entry(c).or_default();
            for _ in 0..originals {
                let at = settings.start + random_offset(&mut rng, span);
                list.push((EntryKind::Fresh, make_appeal(&mut rng, c, serial, at)));
                serial += 1;
            }
        }

        // Cross-channel duplicates: copy an original of another phone channel,
        // same citizen and text, received 5 minutes to 48 hours later.
        let mut used = std::collections::HashSet::new();
        for c in Channel::ALL {
            let dups = plan[&c].1;
            let sources: Vec<Channel> = Channel::ALL
                .into_iter()
                .filter(|o| *o != c && *o != Channel::Wechat && !fresh[o].is_empty())
                .collect();
            for _ in 0..dups {
                let Some(src) = sources.choose(&mut rng).copied() else { break };
                let list = &fresh[&src];
                // Only originals: a copy of a copy could fall outside the
                // original's window and would not be a duplicate of it; an
                // anonymous original carries no contact to match on.
                let idx = (0..8)
                    .map(|_| rng.random_range(0..list.len()))
                    .find(|i| !used.contains(&(src, *i)) && list[*i].0 == EntryKind::Fresh && !list[*i].1.anonymous);
                let Some(idx) = idx else { continue };
                used.insert((src, idx));
                let orig = &list[idx].1;
                let at = orig.received_at + Duration::minutes(rng.random_range(5..48 * 60));
                let mut dup = make_appeal(&mut rng, c, serial, at);
                serial += 1;
                dup.text = orig.text.clone();
                dup.person = orig.person.clone();
                dup.phone_shown = corpus::phone_variant(&mut rng, &orig.person.phone);
                dup.anonymous = false;
                fresh
                    .get_mut(&c)
                    .expect("every channel has a list")
                    .push((EntryKind::Duplicate, dup));
            }
        }

        let mut feeds = BTreeMap::new();
        let mut expected = BTreeMap::new();
        for c in Channel::ALL {
            let (_, _, replays, malformed) = plan[&c];
            let list = fresh.remove(&c).unwrap_or_default();
            let mut exp = Expected {
                tickets: list.len() as u64,
                duplicates: list.iter().filter(|(k, _)| *k == EntryKind::Duplicate).count() as u64,
                ..Expected::default()
            };
            // A duplicate is linked, not triaged again.
            for (_, a) in list.iter().filter(|(k, _)| *k != EntryKind::Duplicate) {
                exp.triage.count(a.expected_scope(c));
            }
            let mut entries: Vec<Entry> = list
                .into_iter()
                .map(|(kind, a)| Entry {
                    kind,
                    delivered_at: a.received_at + Duration::seconds(rng.random_range(1..120)),
                    appeal: Arc::new(a),
                })
                .collect();
            let originals = entries.len();
            entries.sort_by_key(|e| e.delivered_at);
            let mut r = 0;
            while r < replays && originals > 0 {
                // Pull channels re-send a run of consecutive records, as a
                // re-sent page does; WeChat retries one message 5-15 s later,
                // as it does when our answer is late.
                let run = if c == Channel::Wechat {
                    1
                } else {
                    rng.random_range(1..=8).min(replays - r)
                };
                let first = rng.random_range(0..originals);
                let later = if c == Channel::Wechat {
                    Duration::seconds(rng.random_range(5..15))
                } else {
                    Duration::seconds(rng.random_range(60..6 * 3600))
                };
                let resent_at = entries[first].delivered_at + later;
                for k in 0..run {
                    let src = entries[(first + k) % originals].clone();
                    let edit = c == Channel::YunshangApp && (r + k) % 2 == 0;
                    let appeal = if edit {
                        let mut a = (*src.appeal).clone();
                        a.version += 1;
                        a.text.content.push_str("（补充：情况仍未改善，请尽快处理。）");
                        Arc::new(a)
                    } else {
                        src.appeal.clone()
                    };
                    let kind = if edit { EntryKind::Edit } else { EntryKind::Replay };
                    let at = resent_at.max(src.delivered_at + Duration::seconds(1)) + Duration::seconds(k as i64);
                    entries.push(Entry {
                        kind,
                        appeal,
                        delivered_at: at,
                    });
                    exp.replays += 1;
                }
                r += run;
            }
            let kinds = Malform::for_channel(c);
            for _ in 0..malformed {
                let at = settings.start + random_offset(&mut rng, span);
                let a = make_appeal(&mut rng, c, serial, at);
                serial += 1;
                let kind = *kinds.choose(&mut rng).expect("every channel has malform kinds");
                entries.push(Entry {
                    kind: EntryKind::Malformed(kind),
                    delivered_at: at + Duration::seconds(30),
                    appeal: Arc::new(a),
                });
                exp.quarantined += 1;
            }
            for e in &mut entries {
                e.delivered_at = truncate_secs(e.delivered_at);
            }
            entries.sort_by_key(|e| e.delivered_at);
            // Strictly increasing whole seconds, as the time-cursor contracts assume.
            for i in 1..entries.len() {
                let prev = entries[i - 1].delivered_at;
                if entries[i].delivered_at <= prev {
                    entries[i].delivered_at = prev + Duration::seconds(1);
                }
            }
            exp.generated = entries.len() as u64;
            feeds.insert(c, Arc::new(entries));
            expected.insert(c, exp);
        }
        Scenario { settings, feeds, expected }
    }

    /// The feed of one channel.
    pub fn feed(&self, c: Channel) -> Arc<Vec<Entry>> {
        self.feeds.get(&c).cloned().unwrap_or_default()
    }

    /// The delivery time of the last entry of any feed.
    pub fn last_delivery(&self) -> Option<DateTime<FixedOffset>> {
        self.feeds.values().filter_map(|f| f.last().map(|e| e.delivered_at)).max()
    }
}

/// How many entries of `feed` are visible at `now`.
pub fn visible(feed: &[Entry], now: DateTime<FixedOffset>) -> usize {
    feed.partition_point(|e| e.delivered_at <= now)
}

fn truncate_secs(t: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    t - Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos()))
}

fn random_offset(rng: &mut impl Rng, span: Duration) -> Duration {
    Duration::seconds(rng.random_range(0..span.num_seconds().max(1)))
}

fn make_appeal(rng: &mut impl Rng, c: Channel, serial: u64, at: DateTime<FixedOffset>) -> SimAppeal {
    let person = corpus::person(rng);
    let phone_shown = corpus::phone_variant(rng, &person.phone);
    let wx = match rng.random_range(0..100) {
        0..85 => WxKind::Text,
        85..93 => WxKind::Image,
        _ => WxKind::Location,
    };
    SimAppeal {
        source_id: source_id(c, serial, at),
        version: 1,
        received_at: truncate_secs(at),
        text: corpus::text(rng, serial),
        person,
        phone_shown,
        openid: format!("oDY{:024x}", rng.random::<u128>() >> 32),
        anonymous: rng.random_bool(0.05),
        coords: corpus::coordinates(rng),
        wx,
        serial,
    }
}

fn source_id(c: Channel, serial: u64, at: DateTime<FixedOffset>) -> String {
    let day = at.format("%Y%m%d");
    match c {
        Channel::Hotline12345 => format!("GD{day}{serial:07}"),
        Channel::Supervision => format!("JD-{day}-{serial:06}"),
        Channel::YunshangApp => format!("ys{serial:09}"),
        Channel::Wechat => format!("{}", 24_000_000_000_000_000u64 + serial * 7919),
        Channel::Police110 => format!("J420281{day}{serial:06}"),
        Channel::Tax12366 => format!("NS{day}{serial:06}"),
        Channel::Grid => format!("WG-{serial:08}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_scenario_and_counts_add_up() {
        let s = SimSettings {
            appeals: 3000,
            ..SimSettings::default()
        };
        let a = Scenario::generate(s.clone());
        let b = Scenario::generate(s);
        let total: u64 = a.expected.values().map(|e| e.generated).sum();
        assert_eq!(total, 3000);
        for c in Channel::ALL {
            let (fa, fb) = (a.feed(c), b.feed(c));
            assert_eq!(fa.len(), fb.len());
            assert!(fa.iter().zip(fb.iter()).all(|(x, y)| x.appeal.source_id == y.appeal.source_id));
            let e = a.expected[&c];
            assert_eq!(e.generated, e.tickets + e.replays + e.quarantined, "{c}");
            assert!(
                fa.windows(2).all(|w| w[0].delivered_at < w[1].delivered_at),
                "{c} not strictly ordered"
            );
        }
        let dups: u64 = a.expected.values().map(|e| e.duplicates).sum();
        let quarantined: u64 = a.expected.values().map(|e| e.quarantined).sum();
        assert!((40..=80).contains(&dups), "dups {dups}");
        assert!((40..=80).contains(&quarantined), "quarantined {quarantined}");
        assert_eq!(a.expected[&Channel::Wechat].duplicates, 0);
    }
}

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
    /// Share of appeals that retell an issue on purpose: neighbours
    /// reporting the same thing, one citizen coming back after three days,
    /// letters that bridge two cases (see [`PlannedGroup`]).
    pub repeat_rate: f64,
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
            repeat_rate: 0.03,
            http: HttpFaults::default(),
        }
    }
}

/// How a channel's traffic looks: each channel's `sim` module has one
/// (`PROFILE`), and the registry finds it by [`Channel::profile`].
#[derive(Debug)]
pub struct Profile {
    /// Its share of the traffic (the shares add up to 1).
    pub weight: f64,
    /// The ways its records break, as its wire allows.
    pub malforms: &'static [Malform],
    /// Its wire carries a title (a bridge letter is linked by it).
    pub titled: bool,
    /// It knows citizens by an account of its own (WeChat's openid), not
    /// by phone: no cross-channel duplicate or same-citizen repeat comes
    /// through it.
    pub own_accounts: bool,
    /// How it sends a record again.
    pub resend: Resend,
    /// Every other record it sends again is an edit (云上大冶's posts).
    pub edits: bool,
    /// Pictures and locations come through it besides text.
    pub media: bool,
    /// Its record id for a serial number and a day (`%Y%m%d`).
    pub source_id: fn(serial: u64, day: &str) -> String,
}

/// A channel's feed: what its simulator serves or sends, in order.
pub type Feed = Arc<Vec<Entry>>;

/// What a pulled channel's simulated upstream serves: its feed, the
/// transport faults to inject, and whether to inject the channel's own
/// wire faults too.
pub struct Upstream {
    pub feed: Feed,
    pub faults: Arc<faults::FaultInjector>,
    pub injected: bool,
}

/// What a pushed channel's simulated sender sends, and where: its feed,
/// our API's base URL, and when to stop.
pub struct SendTo {
    pub feed: Feed,
    pub target: String,
    pub cancel: tokio_util::sync::CancellationToken,
}

/// A pushed channel's simulated sender, ready to run.
pub struct Sending {
    /// Sends the feed until it is done or cancelled.
    pub run: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    /// Passive replies checked so far: (as expected, not).
    pub replies: Arc<dyn Fn() -> (u64, u64) + Send + Sync>,
}

impl Profile {
    /// A channel of titled-less records known by phone, sent again a page
    /// at a time, text only; the builders below say what differs.
    pub const fn new(weight: f64, malforms: &'static [Malform], source_id: fn(u64, &str) -> String) -> Profile {
        Profile {
            weight,
            malforms,
            titled: false,
            own_accounts: false,
            resend: Resend::Page,
            edits: false,
            media: false,
            source_id,
        }
    }

    /// Its wire carries a title.
    pub const fn titled(self) -> Profile {
        Profile { titled: true, ..self }
    }

    /// Every other record it sends again is an edit.
    pub const fn edits(self) -> Profile {
        Profile { edits: true, ..self }
    }

    /// WeChat's ways: citizens known by openid, a message retried seconds
    /// later, pictures and locations besides text.
    pub const fn wechat(self) -> Profile {
        Profile {
            own_accounts: true,
            resend: Resend::Retry,
            media: true,
            ..self
        }
    }
}

/// How a channel sends records again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// A run of consecutive records, minutes to hours later, as a re-sent
    /// page does.
    Page,
    /// One message 5–15 s later, as WeChat does when our answer is late.
    Retry,
}

/// Ways a record is broken on purpose. Each channel uses the ones its wire allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Malform {
    /// The content field is absent.
    MissingContent,
    /// A time that does not exist (`2023-02-30`, month 13).
    BadDate,
    /// Content just past the default size limit (64 KiB): as a citizen's
    /// pasted document would be, and no bigger, so the fault costs what it
    /// would in life rather than megabytes per record.
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

/// Bytes the oversize fault exceeds: the default `pipeline.max_content_bytes`.
pub const OVERSIZE_BYTES: usize = 64 * 1024;

/// `text` repeated until it is just past [`OVERSIZE_BYTES`].
pub fn oversize(text: &str) -> String {
    text.repeat(OVERSIZE_BYTES / text.len().max(1) + 1)
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
    /// A new appeal of a planned same-issue group (its first one included).
    Repeat,
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
    /// The planned group (index into [`Scenario::groups`]) it belongs to.
    pub group: Option<usize>,
}

impl SimAppeal {
    /// What triage should decide for this appeal on channel `c`. A WeChat
    /// picture or location carries none of the issue's words, so it cannot
    /// be categorized and waits for the centre (or, placed outside Daye, is
    /// rejected).
    pub fn expected_scope(&self, c: Channel) -> corpus::Scope {
        let outside = self.text.town.is_none() && !self.text.address.is_empty();
        match (c.profile().media, self.wx) {
            // A location outside Daye is still rejected on its label.
            (true, WxKind::Location) if outside => corpus::Scope::Rejected,
            (true, WxKind::Image | WxKind::Location) => corpus::Scope::Manual,
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
    /// The same-issue groups written on purpose. Every other appeal is a
    /// case of its own: by [`corpus::Bigrams`] no closer than
    /// [`DISTINCT`] to any other of its kind and town.
    pub groups: Vec<PlannedGroup>,
}

/// How a planned group came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// An appeal copied to another channel within 48 h (a duplicate).
    Duplicate,
    /// Several citizens report one issue in their own words.
    Neighbours,
    /// One citizen comes back every three days or so.
    SameCitizen,
    /// Two cases of two citizens each, then one letter about both.
    Bridge,
}

/// A same-issue group: one cluster once every member has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlannedGroup {
    pub kind: GroupKind,
    pub members: u32,
    /// Distinct citizens.
    pub citizens: u32,
    /// The most reports by one citizen (a duplicate is not a report).
    pub most_by_one: u32,
    /// The time those reports span, in seconds.
    pub most_by_one_secs: i64,
}

impl PlannedGroup {
    /// The 现场督办 escalations this group should raise under the rule:
    /// one citizen `same_citizen` times within `days`, or `citizens`
    /// distinct citizens.
    pub fn escalations(&self, same_citizen: u32, days: i64, citizens: u32) -> u64 {
        let same = self.most_by_one >= same_citizen && self.most_by_one_secs <= days * 86_400;
        u64::from(same) + u64::from(self.citizens >= citizens)
    }
}

/// Unplanned appeals of one kind and town stay below this similarity (and
/// below [`CONTAINED`] containment); the gateway links at 0.4.
pub const DISTINCT: f64 = 0.35;
pub const CONTAINED: f64 = 0.7;
/// Landmark sentences a draft may take before it is redrawn.
const LANDMARKS: usize = 3;
/// Drafts of a retelling, or of a bridge's second case, before giving up.
const DRAFTS: usize = 50;
/// A retold appeal stays at least this close to the one it retells.
pub const RETOLD: f64 = 0.8;

/// An issue template and a town.
type Kind = (usize, Option<&'static str>);

/// What was written so far, by issue template and town, to keep
/// unplanned appeals apart.
#[derive(Default)]
struct Written {
    by_kind: std::collections::HashMap<Kind, corpus::Family<u64>>,
}

impl Written {
    fn key(t: &corpus::Text) -> Kind {
        (t.template, t.town)
    }

    /// Whether `t` is apart from everything written outside `group`.
    fn apart(&self, t: &corpus::Text, b: &corpus::Bigrams, group: u64) -> bool {
        self.by_kind
            .get(&Self::key(t))
            .is_none_or(|f| f.apart(b, &group, DISTINCT, CONTAINED))
    }

    fn add(&mut self, t: &corpus::Text, b: corpus::Bigrams, group: u64) {
        self.by_kind.entry(Self::key(t)).or_default().add(group, b);
    }

    /// Drops a group that was abandoned half-written.
    fn forget(&mut self, group: u64) {
        for f in self.by_kind.values_mut() {
            f.forget(&group);
        }
    }
}

fn bigrams(t: &corpus::Text) -> corpus::Bigrams {
    corpus::Bigrams::of(&t.title, &t.content)
}

/// Groups take turns in this order; each kind's size.
const GROUP_CYCLE: [(GroupKind, usize); 6] = [
    (GroupKind::Neighbours, 3),
    (GroupKind::SameCitizen, 3),
    (GroupKind::Neighbours, 2),
    (GroupKind::SameCitizen, 2),
    (GroupKind::Neighbours, 4),
    (GroupKind::Bridge, 5),
];
const GROUP_BASE: u64 = 1 << 40;
/// A bridge's title is long enough for the gateway's title view (eight
/// character pairs at the default `min_head_shingles`).
const BRIDGE_TITLE_CHARS: usize = 10;
const SAME_CITIZEN_GAP_H: (i64, i64) = (74, 78);

impl Scenario {
    pub fn generate(settings: SimSettings) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        let span = Duration::hours(settings.span_hours.max(1));
        let mut serial = 0u64;
        let mut written = Written::default();
        let mut fresh: BTreeMap<Channel, Vec<(EntryKind, SimAppeal)>> = BTreeMap::new();
        let mut plan = BTreeMap::new();
        let mut slots: BTreeMap<Channel, usize> = BTreeMap::new();
        let mut assigned = 0usize;
        for (i, c) in Channel::ALL.into_iter().enumerate() {
            let left = settings.appeals - assigned;
            let n = if i + 1 == Channel::ALL.len() {
                left
            } else {
                ((settings.appeals as f64 * c.profile().weight).round() as usize).min(left)
            };
            assigned += n;
            let malformed = (n as f64 * settings.malformed_rate).round() as usize;
            let replays = (n as f64 * settings.replay_rate).round() as usize;
            let dups = if c.profile().own_accounts {
                0
            } else {
                (n as f64 * settings.duplicate_rate).round() as usize
            };
            // A tiny run may leave no originals; then nothing can be
            // replayed or duplicated and the rest is malformed.
            let originals = n.saturating_sub(malformed + replays + dups);
            let (replays, dups, malformed) = if originals == 0 { (0, 0, n) } else { (replays, dups, malformed) };
            plan.insert(c, (originals, dups, replays, malformed));
            // Planned repeats come out of the originals; most stay fresh.
            let repeats = ((n as f64 * settings.repeat_rate).round() as usize).min(originals / 2);
            slots.insert(c, repeats);
            let list = fresh.entry(c).or_default();
            for _ in 0..originals - repeats {
                let at = settings.start + random_offset(&mut rng, span);
                list.push((EntryKind::Fresh, distinct_appeal(&mut rng, &mut written, c, serial, at)));
                serial += 1;
            }
        }

        let mut groups = plan_groups(&mut rng, &settings, &mut slots, &mut written, &mut serial, &mut fresh);
        // Slots no group could use are ordinary appeals.
        for (c, left) in slots {
            for _ in 0..left {
                let at = settings.start + random_offset(&mut rng, span);
                let a = distinct_appeal(&mut rng, &mut written, c, serial, at);
                fresh.get_mut(&c).expect("every channel has a list").push((EntryKind::Fresh, a));
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
                .filter(|o| *o != c && !o.profile().own_accounts && !fresh[o].is_empty())
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
                groups.push(PlannedGroup {
                    kind: GroupKind::Duplicate,
                    members: 2,
                    citizens: 1,
                    most_by_one: 1,
                    most_by_one_secs: 0,
                });
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
                let retry = c.profile().resend == Resend::Retry;
                let run = if retry { 1 } else { rng.random_range(1..=8).min(replays - r) };
                let first = rng.random_range(0..originals);
                let later = if retry {
                    Duration::seconds(rng.random_range(5..15))
                } else {
                    Duration::seconds(rng.random_range(60..6 * 3600))
                };
                let resent_at = entries[first].delivered_at + later;
                for k in 0..run {
                    let src = entries[(first + k) % originals].clone();
                    let edit = c.profile().edits && (r + k) % 2 == 0;
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
            let kinds = c.profile().malforms;
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
        Scenario {
            settings,
            feeds,
            expected,
            groups,
        }
    }

    /// Same-issue clusters of two or more tickets the gateway should find.
    pub fn expected_clusters(&self) -> u64 {
        self.groups.len() as u64
    }

    /// 现场督办 escalations the gateway should raise under the rule.
    pub fn expected_escalations(&self, same_citizen: u32, days: i64, citizens: u32) -> u64 {
        self.groups.iter().map(|g| g.escalations(same_citizen, days, citizens)).sum()
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

/// A fresh appeal, redrawn until it is a case of its own.
fn distinct_appeal(rng: &mut impl Rng, written: &mut Written, c: Channel, serial: u64, at: DateTime<FixedOffset>) -> SimAppeal {
    loop {
        let mut a = make_appeal(rng, c, serial, at);
        if settle(rng, written, &mut a.text, serial, &[]) {
            return a;
        }
    }
}

/// Makes `t` apart from what was written outside `group` (and from
/// `avoid`), adding a few landmarks if need be, and records it; false if
/// it stays too close (a short text contained in another needs a new draft).
fn settle(rng: &mut impl Rng, written: &mut Written, t: &mut corpus::Text, group: u64, avoid: &[&corpus::Bigrams]) -> bool {
    for step in 0..=LANDMARKS {
        let b = bigrams(t);
        if written.apart(t, &b, group) && avoid.iter().all(|x| b.apart(x, DISTINCT, CONTAINED)) {
            written.add(t, b, group);
            return true;
        }
        // Templates run out of fresh wordings in a large run; landmarks
        // (each a few unseen character pairs) then set a case apart.
        if step < LANDMARKS {
            corpus::add_landmark(rng, t);
        }
    }
    false
}

/// Writes the planned same-issue groups into the slots each channel set
/// aside, in [`GROUP_CYCLE`] order, until a group no longer fits.
fn plan_groups(
    rng: &mut impl Rng,
    settings: &SimSettings,
    slots: &mut BTreeMap<Channel, usize>,
    written: &mut Written,
    serial: &mut u64,
    fresh: &mut BTreeMap<Channel, Vec<(EntryKind, SimAppeal)>>,
) -> Vec<PlannedGroup> {
    let span = Duration::hours(settings.span_hours.max(1));
    let gap = |rng: &mut dyn rand::RngCore| Duration::minutes(rng.random_range(SAME_CITIZEN_GAP_H.0 * 60..SAME_CITIZEN_GAP_H.1 * 60));
    let mut groups = Vec::new();
    for (n, (kind, size)) in GROUP_CYCLE.into_iter().cycle().enumerate() {
        let group = GROUP_BASE + n as u64;
        // One citizen's reports are three days apart, beyond the
        // duplicate window; a run too short for them gets neighbours.
        let kind = match kind {
            GroupKind::SameCitizen if span < Duration::hours(SAME_CITIZEN_GAP_H.1 * (size as i64 - 1) + 1) => GroupKind::Neighbours,
            k => k,
        };
        let Some(channels) = take_slots(rng, slots, kind, size) else {
            break;
        };
        let mut members: Vec<SimAppeal> = Vec::with_capacity(size);
        match kind {
            GroupKind::Neighbours | GroupKind::SameCitizen => {
                let same = kind == GroupKind::SameCitizen;
                let latest = if same {
                    span - Duration::hours(SAME_CITIZEN_GAP_H.1 * (size as i64 - 1))
                } else {
                    span / 2
                };
                let t0 = settings.start + random_offset(rng, latest);
                let first = founder(rng, written, channels[0], *serial, t0, group, 0);
                *serial += 1;
                let mut at = t0;
                for &c in &channels[1..] {
                    at = if same {
                        at + gap(rng)
                    } else {
                        t0 + Duration::minutes(rng.random_range(30..(span.num_minutes() / 2).max(31)))
                    };
                    let mut a = make_appeal(rng, c, *serial, at);
                    *serial += 1;
                    a.text = retold(rng, written, &first.text, same, group, &[]);
                    written.add(&a.text, bigrams(&a.text), group);
                    if same {
                        a.person = first.person.clone();
                        a.phone_shown = corpus::phone_variant(rng, &first.person.phone);
                    }
                    members.push(speaking(a));
                }
                members.insert(0, first);
            }
            GroupKind::Bridge => {
                let t0 = settings.start + random_offset(rng, span / 3);
                let a = founder(rng, written, channels[0], *serial, t0, group, BRIDGE_TITLE_CHARS);
                *serial += 1;
                let ab = bigrams(&a.text);
                // A second case of the same kind in the same place, apart
                // from the first; the letter about both contains each, and
                // the shared title (long enough to count) links it to both.
                let b_text = (0..DRAFTS).find_map(|_| {
                    let mut t = corpus::sibling(rng, *serial, &a.text);
                    settle(rng, written, &mut t, group, &[&ab]).then_some(t)
                });
                let Some(b_text) = b_text else {
                    // The place has no room for a second case: the slots
                    // go back to ordinary appeals.
                    written.forget(group);
                    *slots.get_mut(&channels[0]).expect("taken from it") += size;
                    continue;
                };
                let mut at = t0;
                let step = |rng: &mut dyn rand::RngCore| Duration::minutes(rng.random_range(30..(span.num_minutes() / 12).max(31)));
                at += step(rng);
                let mut b = make_appeal(rng, channels[1], *serial, at);
                *serial += 1;
                b.text = b_text;
                let a2_text = retold(rng, written, &a.text, false, group, &[&b.text]);
                let b2_text = retold(rng, written, &b.text, false, group, &[&a.text, &a2_text]);
                for text in [a2_text, b2_text] {
                    at += step(rng);
                    let mut m = make_appeal(rng, channels[0], *serial, at);
                    *serial += 1;
                    written.add(&text, bigrams(&text), group);
                    m.text = text;
                    members.push(speaking(m));
                }
                at += step(rng) + Duration::hours(6);
                let mut letter = make_appeal(rng, channels[4], *serial, at);
                *serial += 1;
                letter.text = corpus::joined(&a.text, &b.text);
                members.insert(0, speaking(b));
                members.insert(0, a);
                members.push(speaking(letter));
            }
            GroupKind::Duplicate => unreachable!("duplicates are planned apart"),
        }
        let citizens: std::collections::HashSet<&str> = members.iter().map(|m| m.person.phone.as_str()).collect();
        let (most, secs) = if kind == GroupKind::SameCitizen {
            let (lo, hi) = (members[0].received_at, members[size - 1].received_at);
            (size as u32, (hi - lo).num_seconds())
        } else {
            (1, 0)
        };
        groups.push(PlannedGroup {
            kind,
            members: size as u32,
            citizens: citizens.len() as u32,
            most_by_one: most,
            most_by_one_secs: secs,
        });
        for (mut m, c) in members.into_iter().zip(channels) {
            m.group = Some(groups.len() - 1);
            fresh.get_mut(&c).expect("every channel has a list").push((EntryKind::Repeat, m));
        }
    }
    groups
}

/// Channels for a group's members, taken from the slots: a citizen's own
/// reports come by phone channels (WeChat knows them by another key), and
/// a bridge's five by one titled channel, so that its letter is decided
/// after the cases it joins.
fn take_slots(rng: &mut impl Rng, slots: &mut BTreeMap<Channel, usize>, kind: GroupKind, size: usize) -> Option<Vec<Channel>> {
    let allowed = |c: &Channel| match kind {
        GroupKind::Neighbours => true,
        GroupKind::SameCitizen => !c.profile().own_accounts,
        _ => c.profile().titled,
    };
    if kind == GroupKind::Bridge {
        let (&c, n) = slots
            .iter_mut()
            .filter(|(c, n)| allowed(c) && **n >= size)
            .max_by_key(|(_, n)| **n)?;
        *n -= size;
        return Some(vec![c; size]);
    }
    if slots.iter().filter(|(c, _)| allowed(c)).map(|(_, n)| *n).sum::<usize>() < size {
        return None;
    }
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        let open: Vec<Channel> = slots.iter().filter(|(c, n)| allowed(c) && **n > 0).map(|(c, _)| *c).collect();
        let c = *open.choose(rng)?;
        *slots.get_mut(&c).expect("listed") -= 1;
        out.push(c);
    }
    Some(out)
}

/// A group's first appeal: an ordinary Daye work order, apart from
/// everything else, by a citizen who leaves a contact.
fn founder(
    rng: &mut impl Rng,
    written: &mut Written,
    c: Channel,
    serial: u64,
    at: DateTime<FixedOffset>,
    group: u64,
    min_title_chars: usize,
) -> SimAppeal {
    loop {
        let mut a = make_appeal(rng, c, serial, at);
        let t = &a.text;
        if t.scope != corpus::Scope::Dispatched
            || t.town.is_none()
            || corpus::ISSUES[t.template].type_code == "ZX"
            || t.title.chars().count() < min_title_chars
        {
            continue;
        }
        if settle(rng, written, &mut a.text, group, &[]) {
            return speaking(a);
        }
    }
}

/// Retells `of` until it is close to it, apart from everything outside the
/// group, and apart from `avoid` (the other side of a bridge).
fn retold(
    rng: &mut impl Rng,
    written: &Written,
    of: &corpus::Text,
    same_citizen: bool,
    group: u64,
    avoid: &[&corpus::Text],
) -> corpus::Text {
    let ob = bigrams(of);
    let avoid: Vec<corpus::Bigrams> = avoid.iter().map(|t| bigrams(t)).collect();
    for _ in 0..DRAFTS {
        let t = corpus::reword(rng, of, same_citizen);
        let b = bigrams(&t);
        if b.similarity(&ob) >= RETOLD && written.apart(&t, &b, group) && avoid.iter().all(|x| b.apart(x, DISTINCT, CONTAINED)) {
            return t;
        }
    }
    // Only the punctuation changed: as close to the original, and as far
    // from everything else, as the original is.
    corpus::repunctuate(of)
}

/// A member of a group speaks in words and leaves a contact.
fn speaking(mut a: SimAppeal) -> SimAppeal {
    a.anonymous = false;
    a.wx = WxKind::Text;
    a
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
        group: None,
    }
}

fn source_id(c: Channel, serial: u64, at: DateTime<FixedOffset>) -> String {
    (c.profile().source_id)(serial, &at.format("%Y%m%d").to_string())
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

    /// Every pair of appeals of one kind and town, compared by the
    /// simulators' own measure: planned members close, the rest apart.
    #[test]
    fn planned_groups_are_close_and_everything_else_apart() {
        let s = Scenario::generate(SimSettings {
            appeals: 5000,
            ..SimSettings::default()
        });
        let kinds = |k: GroupKind| s.groups.iter().filter(|g| g.kind == k).count();
        assert!(kinds(GroupKind::Neighbours) >= 10 && kinds(GroupKind::SameCitizen) >= 5 && kinds(GroupKind::Bridge) >= 2);
        assert_eq!(
            kinds(GroupKind::Duplicate) as u64,
            s.expected.values().map(|e| e.duplicates).sum::<u64>()
        );
        // Default rule: 3 reports by one citizen within 30 days, or 3 citizens.
        let esc = s.expected_escalations(3, 30, 3);
        let want = s
            .groups
            .iter()
            .filter(|g| (g.kind == GroupKind::SameCitizen && g.members >= 3) || g.citizens >= 3)
            .count() as u64;
        assert_eq!(esc, want);
        let repeats: usize = s
            .feeds
            .values()
            .map(|f| f.iter().filter(|e| e.kind == EntryKind::Repeat).count())
            .sum();
        assert_eq!(
            repeats as u32,
            s.groups
                .iter()
                .filter(|g| g.kind != GroupKind::Duplicate)
                .map(|g| g.members)
                .sum::<u32>()
        );
        // Unplanned texts of one template and town are apart.
        let mut by: std::collections::HashMap<(usize, Option<&str>), Vec<corpus::Bigrams>> = Default::default();
        for f in s.feeds.values() {
            for e in f.iter().filter(|e| e.kind == EntryKind::Fresh) {
                by.entry((e.appeal.text.template, e.appeal.text.town))
                    .or_default()
                    .push(bigrams(&e.appeal.text));
            }
        }
        let (mut sim, mut contained): (f64, f64) = (0.0, 0.0);
        for v in by.values() {
            for i in 0..v.len() {
                for j in i + 1..v.len() {
                    sim = sim.max(v[i].similarity(&v[j]));
                    contained = contained.max(v[i].containment(&v[j]));
                }
            }
        }
        assert!(sim < DISTINCT && contained < CONTAINED, "{sim} {contained}");
        // Members of a group are retold close to its first appeal; a
        // bridge's letter holds both of its cases.
        let mut members: BTreeMap<usize, Vec<&SimAppeal>> = BTreeMap::new();
        for f in s.feeds.values() {
            for e in f.iter().filter(|e| e.kind == EntryKind::Repeat) {
                members
                    .entry(e.appeal.group.expect("a repeat has a group"))
                    .or_default()
                    .push(&e.appeal);
            }
        }
        for (g, mut m) in members {
            let plan = s.groups[g];
            assert_eq!(m.len() as u32, plan.members);
            m.sort_by_key(|a| a.serial);
            let b: Vec<corpus::Bigrams> = m.iter().map(|a| bigrams(&a.text)).collect();
            match plan.kind {
                GroupKind::Bridge => {
                    assert!(b[0].apart(&b[1], DISTINCT, CONTAINED), "the two cases are apart");
                    assert!(b[4].containment(&b[0]) > 0.95 && b[4].containment(&b[1]) > 0.95);
                }
                _ => assert!(b[1..].iter().all(|x| x.similarity(&b[0]) >= RETOLD)),
            }
            let phones: std::collections::HashSet<&str> = m.iter().map(|a| a.person.phone.as_str()).collect();
            assert_eq!(phones.len() as u32, plan.citizens);
        }
    }
}

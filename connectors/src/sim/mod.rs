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
    /// Share of appeals set aside for planned hotspots: one issue at one
    /// place raised by [`HOT_CITIZENS`] neighbours in their own words, at
    /// most [`HOT_MAX`] of them (the demo's week must rank each in its top
    /// five); what they leave goes to the other planned groups.
    pub hotspot_rate: f64,
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
            hotspot_rate: 0.02,
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
    /// Many neighbours report one issue at one place: a hotspot.
    Hotspot,
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
    /// (issue template, town, village) of every unplanned appeal.
    spots: std::collections::HashSet<(usize, Option<&'static str>, &'static str)>,
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
/// Planned hotspots' group numbers start here, apart from the cycle's.
const HOT_BASE: u64 = GROUP_BASE + (1 << 20);
/// Citizens of one planned hotspot: more than the simulators' unplanned
/// appeals ever put on one issue at one place by chance (at most eight in
/// a week of 5,000), so that a hotspot ranking can tell them apart.
pub const HOT_CITIZENS: std::ops::RangeInclusive<usize> = 12..=16;
/// Appeals in a run for which [`HOT_CITIZENS`] is the size; a larger run
/// has hotspots larger in proportion, a smaller one keeps that size.
const HOT_SCALE: usize = 5000;
/// Planned hotspots at most, whatever the run's size.
pub const HOT_MAX: usize = 3;
/// A bridge's title is long enough for the gateway's title view (eight
/// character pairs at the default `min_head_shingles`).
const BRIDGE_TITLE_CHARS: usize = 10;
const SAME_CITIZEN_GAP_H: (i64, i64) = (74, 78);

/// How one channel's deliveries divide.
#[derive(Debug, Clone, Copy)]
struct Share {
    /// New appeals of its own, planned repeats included.
    originals: usize,
    /// Of the originals, the slots set aside for planned groups.
    repeats: usize,
    /// Of those, the slots meant for planned hotspots.
    hot: usize,
    duplicates: usize,
    replays: usize,
    malformed: usize,
}

/// Each channel's share of the run's deliveries. Counts only: nothing is
/// drawn here, so it may be worked out before any appeal is written.
fn shares(settings: &SimSettings) -> BTreeMap<Channel, Share> {
    let mut shares = BTreeMap::new();
    let mut assigned = 0usize;
    for (i, c) in Channel::ALL.into_iter().enumerate() {
        let left = settings.appeals - assigned;
        // The last channel takes what rounding left over.
        let n = if i + 1 == Channel::ALL.len() {
            left
        } else {
            ((settings.appeals as f64 * c.profile().weight).round() as usize).min(left)
        };
        assigned += n;
        shares.insert(c, share(settings, c, n));
    }
    shares
}

/// How `n` deliveries of channel `c` divide by the settings' rates.
fn share(settings: &SimSettings, c: Channel, n: usize) -> Share {
    let part = |rate: f64| (n as f64 * rate).round() as usize;
    let malformed = part(settings.malformed_rate);
    let replays = part(settings.replay_rate);
    let duplicates = if c.profile().own_accounts {
        0
    } else {
        part(settings.duplicate_rate)
    };
    // A tiny run may leave no originals; then nothing can be
    // replayed or duplicated and the rest is malformed.
    let originals = n.saturating_sub(malformed + replays + duplicates);
    let (replays, duplicates, malformed) = if originals == 0 {
        (0, 0, n)
    } else {
        (replays, duplicates, malformed)
    };
    // Planned repeats and hotspots come out of the originals; most stay fresh.
    let hot = part(settings.hotspot_rate);
    let repeats = (part(settings.repeat_rate) + hot).min(originals / 2);
    Share {
        originals,
        repeats,
        hot,
        duplicates,
        replays,
        malformed,
    }
}

/// A scenario being written. One generator draws everything, so the
/// phases must run, and draw, in a fixed order: only then does a seed give
/// the same scenario every time.
struct Draft {
    rng: ChaCha8Rng,
    start: DateTime<FixedOffset>,
    span: Duration,
    /// The next appeal's serial number.
    serial: u64,
    written: Written,
    /// Each channel's new appeals so far: fresh, repeats, duplicates.
    fresh: BTreeMap<Channel, Vec<(EntryKind, SimAppeal)>>,
    groups: Vec<PlannedGroup>,
    /// The run's deliveries, which sets the planned hotspots' size.
    appeals: usize,
}

impl Draft {
    /// Seeds the generator; every channel starts with an empty list.
    fn new(settings: &SimSettings) -> Draft {
        Draft {
            rng: ChaCha8Rng::seed_from_u64(settings.seed),
            start: settings.start,
            span: Duration::hours(settings.span_hours.max(1)),
            serial: 0,
            written: Written::default(),
            fresh: Channel::ALL.into_iter().map(|c| (c, Vec::new())).collect(),
            groups: Vec::new(),
            appeals: settings.appeals,
        }
    }

    /// A receive time anywhere in the run.
    fn any_time(&mut self) -> DateTime<FixedOffset> {
        self.start + random_offset(&mut self.rng, self.span)
    }

    /// A new appeal on `c` received `at`, with the next serial number.
    fn appeal(&mut self, c: Channel, at: DateTime<FixedOffset>) -> SimAppeal {
        let a = make_appeal(&mut self.rng, c, self.serial, at);
        self.serial += 1;
        a
    }

    /// Adds a new appeal to `c`'s list.
    fn push(&mut self, c: Channel, kind: EntryKind, a: SimAppeal) {
        self.fresh.get_mut(&c).expect("every channel has a list").push((kind, a));
    }

    /// Writes `n` fresh appeals on `c`, each a case of its own.
    fn fresh_appeals(&mut self, c: Channel, n: usize) {
        for _ in 0..n {
            let at = self.any_time();
            let a = distinct_appeal(&mut self.rng, &mut self.written, c, self.serial, at);
            self.push(c, EntryKind::Fresh, a);
            self.serial += 1;
        }
    }

    /// Cross-channel duplicates: up to `n` times, copies an original of
    /// another phone channel to `c`, same citizen and text, received 5
    /// minutes to 48 hours later. `used` holds the originals copied so far.
    fn duplicates(&mut self, c: Channel, n: usize, used: &mut std::collections::HashSet<(Channel, usize)>) {
        let sources: Vec<Channel> = Channel::ALL
            .into_iter()
            .filter(|o| *o != c && !o.profile().own_accounts && !self.fresh[o].is_empty())
            .collect();
        for _ in 0..n {
            let Some(src) = sources.choose(&mut self.rng).copied() else { break };
            let Some(idx) = self.original_to_copy(src, used) else { continue };
            used.insert((src, idx));
            let orig = &self.fresh[&src][idx].1;
            let (received_at, text, person) = (orig.received_at, orig.text.clone(), orig.person.clone());
            let at = received_at + Duration::minutes(self.rng.random_range(5..48 * 60));
            let mut dup = self.appeal(c, at);
            dup.text = text;
            dup.phone_shown = corpus::phone_variant(&mut self.rng, &person.phone);
            dup.person = person;
            dup.anonymous = false;
            self.push(c, EntryKind::Duplicate, dup);
            self.groups.push(PlannedGroup {
                kind: GroupKind::Duplicate,
                members: 2,
                citizens: 1,
                most_by_one: 1,
                most_by_one_secs: 0,
            });
        }
    }

    /// An entry of `src`'s list fit to be copied, if one of eight draws
    /// finds one.
    fn original_to_copy(&mut self, src: Channel, used: &std::collections::HashSet<(Channel, usize)>) -> Option<usize> {
        let list = &self.fresh[&src];
        // Only originals: a copy of a copy could fall outside the
        // original's window and would not be a duplicate of it; an
        // anonymous original carries no contact to match on.
        (0..8)
            .map(|_| self.rng.random_range(0..list.len()))
            .find(|i| !used.contains(&(src, *i)) && list[*i].0 == EntryKind::Fresh && !list[*i].1.anonymous)
    }

    /// Channel `c`'s feed and what it should produce: its new appeals
    /// delivered, then the replays and malformed records of its share.
    fn feed(&mut self, c: Channel, share: &Share) -> (Vec<Entry>, Expected) {
        let list = self.fresh.remove(&c).unwrap_or_default();
        let mut exp = expect_new(c, &list);
        let mut entries = deliver(&mut self.rng, list);
        exp.replays = replay(&mut self.rng, c, &mut entries, share.replays);
        exp.quarantined = self.malformed(c, share.malformed, &mut entries);
        settle_delivery(&mut entries);
        exp.generated = entries.len() as u64;
        (entries, exp)
    }

    /// Appends `n` records of `c` broken in ways its wire allows; returns `n`.
    fn malformed(&mut self, c: Channel, n: usize, entries: &mut Vec<Entry>) -> u64 {
        let kinds = c.profile().malforms;
        for _ in 0..n {
            let at = self.any_time();
            let a = self.appeal(c, at);
            let kind = *kinds.choose(&mut self.rng).expect("every channel has malform kinds");
            entries.push(Entry {
                kind: EntryKind::Malformed(kind),
                delivered_at: at + Duration::seconds(30),
                appeal: Arc::new(a),
            });
        }
        n as u64
    }
}

/// What channel `c`'s new appeals should become: each a ticket, and all
/// but the duplicates triaged.
fn expect_new(c: Channel, list: &[(EntryKind, SimAppeal)]) -> Expected {
    let mut exp = Expected {
        tickets: list.len() as u64,
        duplicates: list.iter().filter(|(k, _)| *k == EntryKind::Duplicate).count() as u64,
        ..Expected::default()
    };
    // A duplicate is linked, not triaged again.
    for (_, a) in list.iter().filter(|(k, _)| *k != EntryKind::Duplicate) {
        exp.triage.count(a.expected_scope(c));
    }
    exp
}

/// New appeals as entries, each visible 1 to 119 s after it was received,
/// in delivery order.
fn deliver(rng: &mut impl Rng, list: Vec<(EntryKind, SimAppeal)>) -> Vec<Entry> {
    let mut entries: Vec<Entry> = list
        .into_iter()
        .map(|(kind, a)| Entry {
            kind,
            delivered_at: a.received_at + Duration::seconds(rng.random_range(1..120)),
            appeal: Arc::new(a),
        })
        .collect();
    entries.sort_by_key(|e| e.delivered_at);
    entries
}

/// Sends `n` of the records in `entries` again, as channel `c` does;
/// returns how many entries it added.
fn replay(rng: &mut impl Rng, c: Channel, entries: &mut Vec<Entry>, n: usize) -> u64 {
    let originals = entries.len();
    let mut r = 0;
    while r < n && originals > 0 {
        // Pull channels re-send a run of consecutive records, as a
        // re-sent page does; WeChat retries one message 5-15 s later,
        // as it does when our answer is late.
        let retry = c.profile().resend == Resend::Retry;
        let run = if retry { 1 } else { rng.random_range(1..=8).min(n - r) };
        let first = rng.random_range(0..originals);
        let later = if retry {
            Duration::seconds(rng.random_range(5..15))
        } else {
            Duration::seconds(rng.random_range(60..6 * 3600))
        };
        let resent_at = entries[first].delivered_at + later;
        for k in 0..run {
            let edit = c.profile().edits && (r + k) % 2 == 0;
            let again = resent(&entries[(first + k) % originals], edit, resent_at, k);
            entries.push(again);
        }
        r += run;
    }
    r as u64
}

/// `src` sent again as the `k`th record of a run re-sent at `resent_at`
/// (and never before it was first sent); with `edit`, as a newer version.
fn resent(src: &Entry, edit: bool, resent_at: DateTime<FixedOffset>, k: usize) -> Entry {
    let appeal = if edit {
        let mut a = (*src.appeal).clone();
        a.version += 1;
        a.text.content.push_str("（补充：情况仍未改善，请尽快处理。）");
        Arc::new(a)
    } else {
        src.appeal.clone()
    };
    Entry {
        kind: if edit { EntryKind::Edit } else { EntryKind::Replay },
        appeal,
        delivered_at: resent_at.max(src.delivered_at + Duration::seconds(1)) + Duration::seconds(k as i64),
    }
}

/// Puts a feed in delivery order at strictly increasing whole seconds, as
/// the time-cursor contracts assume.
fn settle_delivery(entries: &mut [Entry]) {
    for e in entries.iter_mut() {
        e.delivered_at = truncate_secs(e.delivered_at);
    }
    entries.sort_by_key(|e| e.delivered_at);
    for i in 1..entries.len() {
        let prev = entries[i - 1].delivered_at;
        if entries[i].delivered_at <= prev {
            entries[i].delivered_at = prev + Duration::seconds(1);
        }
    }
}

impl Scenario {
    /// Generates the scenario of `settings`: the same settings, the same
    /// scenario. The phases run in a fixed order, each drawing from one
    /// generator.
    pub fn generate(settings: SimSettings) -> Scenario {
        let shares = shares(&settings);
        let mut d = Draft::new(&settings);
        let mut slots: BTreeMap<Channel, usize> = BTreeMap::new();
        for c in Channel::ALL {
            let s = shares[&c];
            slots.insert(c, s.repeats);
            d.fresh_appeals(c, s.originals - s.repeats);
        }
        plan_hotspots(&mut d, &mut slots, shares.values().map(|s| s.hot).sum());
        plan_groups(&mut d, &mut slots);
        // Slots no group could use are ordinary appeals.
        for (c, left) in slots {
            d.fresh_appeals(c, left);
        }
        let mut used = std::collections::HashSet::new();
        for c in Channel::ALL {
            d.duplicates(c, shares[&c].duplicates, &mut used);
        }
        let mut feeds = BTreeMap::new();
        let mut expected = BTreeMap::new();
        for c in Channel::ALL {
            let (entries, exp) = d.feed(c, &shares[&c]);
            feeds.insert(c, Arc::new(entries));
            expected.insert(c, exp);
        }
        Scenario {
            settings,
            feeds,
            expected,
            groups: d.groups,
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

/// Draws of an unplanned appeal's issue and place before one already used
/// is accepted.
const FRESH_SPOT_DRAWS: usize = 30;

/// A fresh appeal, redrawn until it is a case of its own: apart in words
/// from what was written, and, while the run leaves room, about an issue
/// at a village no other unplanned appeal raised. Thirty citizens writing
/// of one village's overloaded lorries are a hotspot to an operator (and
/// to `minqing hotspots`); only the planned groups should be.
fn distinct_appeal(rng: &mut impl Rng, written: &mut Written, c: Channel, serial: u64, at: DateTime<FixedOffset>) -> SimAppeal {
    let mut draws = 0;
    loop {
        let mut a = make_appeal(rng, c, serial, at);
        let spot = (a.text.template, a.text.town, a.text.village);
        draws += 1;
        if draws < FRESH_SPOT_DRAWS && written.spots.contains(&spot) {
            continue;
        }
        if settle(rng, written, &mut a.text, serial, &[]) {
            written.spots.insert(spot);
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

/// Writes the planned hotspots, each [`HOT_CITIZENS`] neighbours on one
/// issue at one place, into at most `budget` of the slots set aside.
fn plan_hotspots(d: &mut Draft, slots: &mut BTreeMap<Channel, usize>, budget: usize) {
    let mut left = budget;
    for n in 0..HOT_MAX as u64 {
        if left < *HOT_CITIZENS.start() {
            break;
        }
        // Chance coincidences grow with the run; a hotspot grows with them.
        let draw = d.rng.random_range(HOT_CITIZENS);
        let size = (draw * d.appeals).div_ceil(HOT_SCALE).max(draw).min(left);
        let Some(channels) = take_slots(&mut d.rng, slots, GroupKind::Neighbours, size) else {
            break;
        };
        left -= size;
        let members = d.retellings(&channels, false, HOT_BASE + n);
        d.add_group(GroupKind::Hotspot, members, channels);
    }
}

/// Writes the planned same-issue groups into the slots each channel set
/// aside, in [`GROUP_CYCLE`] order, until a group no longer fits.
fn plan_groups(d: &mut Draft, slots: &mut BTreeMap<Channel, usize>) {
    for (n, (kind, size)) in GROUP_CYCLE.into_iter().cycle().enumerate() {
        let group = GROUP_BASE + n as u64;
        // One citizen's reports are three days apart, beyond the
        // duplicate window; a run too short for them gets neighbours.
        let kind = match kind {
            GroupKind::SameCitizen if d.span < Duration::hours(SAME_CITIZEN_GAP_H.1 * (size as i64 - 1) + 1) => GroupKind::Neighbours,
            k => k,
        };
        let Some(channels) = take_slots(&mut d.rng, slots, kind, size) else {
            break;
        };
        let members = match kind {
            GroupKind::Neighbours | GroupKind::SameCitizen => d.retellings(&channels, kind == GroupKind::SameCitizen, group),
            GroupKind::Bridge => {
                let Some(members) = d.bridge(&channels, group) else {
                    // The place has no room for a second case: the slots
                    // go back to ordinary appeals.
                    *slots.get_mut(&channels[0]).expect("taken from it") += size;
                    continue;
                };
                members
            }
            GroupKind::Duplicate | GroupKind::Hotspot => unreachable!("duplicates and hotspots are planned apart"),
        };
        d.add_group(kind, members, channels);
    }
}

impl Draft {
    /// One issue told once per channel in `channels`: by neighbours within
    /// half the run, or (`same`) by one citizen every three days or so.
    fn retellings(&mut self, channels: &[Channel], same: bool, group: u64) -> Vec<SimAppeal> {
        let (size, span) = (channels.len(), self.span);
        let gap = |rng: &mut dyn rand::RngCore| Duration::minutes(rng.random_range(SAME_CITIZEN_GAP_H.0 * 60..SAME_CITIZEN_GAP_H.1 * 60));
        let latest = if same {
            span - Duration::hours(SAME_CITIZEN_GAP_H.1 * (size as i64 - 1))
        } else {
            span / 2
        };
        let t0 = self.start + random_offset(&mut self.rng, latest);
        let first = founder(&mut self.rng, &mut self.written, channels[0], self.serial, t0, group, 0);
        self.serial += 1;
        let mut members: Vec<SimAppeal> = Vec::with_capacity(size);
        let mut at = t0;
        for &c in &channels[1..] {
            at = if same {
                at + gap(&mut self.rng)
            } else {
                t0 + Duration::minutes(self.rng.random_range(30..(span.num_minutes() / 2).max(31)))
            };
            let mut a = self.appeal(c, at);
            a.text = retold(&mut self.rng, &self.written, &first.text, same, group, &[]);
            self.written.add(&a.text, bigrams(&a.text), group);
            if same {
                a.person = first.person.clone();
                a.phone_shown = corpus::phone_variant(&mut self.rng, &first.person.phone);
            }
            members.push(speaking(a));
        }
        members.insert(0, first);
        members
    }

    /// A bridge on `channels` (one titled channel five times): two cases
    /// of two citizens each, then one letter about both; `None`, with the
    /// group forgotten, if the place has no room for a second case.
    fn bridge(&mut self, channels: &[Channel], group: u64) -> Option<Vec<SimAppeal>> {
        let span = self.span;
        let t0 = self.start + random_offset(&mut self.rng, span / 3);
        let a = founder(
            &mut self.rng,
            &mut self.written,
            channels[0],
            self.serial,
            t0,
            group,
            BRIDGE_TITLE_CHARS,
        );
        self.serial += 1;
        let Some(b_text) = self.second_case(&a.text, group) else {
            self.written.forget(group);
            return None;
        };
        let mut members: Vec<SimAppeal> = Vec::with_capacity(channels.len());
        let mut at = t0;
        let step = |rng: &mut dyn rand::RngCore| Duration::minutes(rng.random_range(30..(span.num_minutes() / 12).max(31)));
        at += step(&mut self.rng);
        let mut b = self.appeal(channels[1], at);
        b.text = b_text;
        let a2_text = retold(&mut self.rng, &self.written, &a.text, false, group, &[&b.text]);
        let b2_text = retold(&mut self.rng, &self.written, &b.text, false, group, &[&a.text, &a2_text]);
        for text in [a2_text, b2_text] {
            at += step(&mut self.rng);
            let mut m = self.appeal(channels[0], at);
            self.written.add(&text, bigrams(&text), group);
            m.text = text;
            members.push(speaking(m));
        }
        at += step(&mut self.rng) + Duration::hours(6);
        let mut letter = self.appeal(channels[4], at);
        letter.text = corpus::joined(&a.text, &b.text);
        members.insert(0, speaking(b));
        members.insert(0, a);
        members.push(speaking(letter));
        Some(members)
    }

    /// A bridge's second case: of the same kind in the same place as `a`,
    /// apart from it. The letter about both contains each, and the shared
    /// title (long enough to count) links it to both.
    fn second_case(&mut self, a: &corpus::Text, group: u64) -> Option<corpus::Text> {
        let ab = bigrams(a);
        (0..DRAFTS).find_map(|_| {
            let mut t = corpus::sibling(&mut self.rng, self.serial, a);
            settle(&mut self.rng, &mut self.written, &mut t, group, &[&ab]).then_some(t)
        })
    }

    /// Records a written group and files each member, as a repeat, under
    /// the channel it came by.
    fn add_group(&mut self, kind: GroupKind, members: Vec<SimAppeal>, channels: Vec<Channel>) {
        let size = members.len();
        let citizens = members
            .iter()
            .map(|m| m.person.phone.as_str())
            .collect::<std::collections::HashSet<&str>>()
            .len();
        let (most, secs) = if kind == GroupKind::SameCitizen {
            let (lo, hi) = (members[0].received_at, members[size - 1].received_at);
            (size as u32, (hi - lo).num_seconds())
        } else {
            (1, 0)
        };
        self.groups.push(PlannedGroup {
            kind,
            members: size as u32,
            citizens: citizens as u32,
            most_by_one: most,
            most_by_one_secs: secs,
        });
        for (mut m, c) in members.into_iter().zip(channels) {
            m.group = Some(self.groups.len() - 1);
            self.push(c, EntryKind::Repeat, m);
        }
    }
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

    /// A hotspot needs a dozen slots: a small run has one, a run twice the
    /// yardstick has hotspots twice the size.
    #[test]
    fn planned_hotspots_scale_with_the_run() {
        let hot = |appeals: usize| {
            let s = Scenario::generate(SimSettings {
                appeals,
                ..SimSettings::default()
            });
            s.groups
                .iter()
                .filter(|g| g.kind == GroupKind::Hotspot)
                .map(|g| g.citizens as usize)
                .collect::<Vec<_>>()
        };
        assert!(hot(300).is_empty());
        assert_eq!(hot(700).len(), 1);
        let big = hot(2 * HOT_SCALE);
        assert_eq!(big.len(), HOT_MAX);
        assert!(
            big.iter().all(|c| (2 * HOT_CITIZENS.start()..=2 * HOT_CITIZENS.end()).contains(c)),
            "{big:?}"
        );
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
        // Planned hotspots: as many as fit, each of distinct neighbours.
        assert_eq!(kinds(GroupKind::Hotspot), HOT_MAX);
        assert!(
            s.groups
                .iter()
                .filter(|g| g.kind == GroupKind::Hotspot)
                .all(|g| HOT_CITIZENS.contains(&(g.citizens as usize)) && g.citizens == g.members)
        );
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

//! What a channel said: [`RawAppeal`], before any normalization.
//!
//! Connectors fill these fields as faithfully as the wire allows; cleaning
//! (NFKC, phone formats, towns) is the pipeline's job, so the raw values here
//! are what an auditor would want to see.

pub use crate::channel::Channel;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A WGS-84 coordinate, as grid workers' phones and WeChat report it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// Who raised the appeal, as the channel reported it. Personal data: never log
/// these fields in clear; the pipeline hashes and masks them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// WeChat openid, for appeals from the official account.
    pub openid: Option<String>,
    pub anonymous: bool,
}

/// Content placeholders for media sent without words (a picture, a
/// location, a voice or video message): `[图片] <url>` and so on. Such a
/// content names no issue, so nothing compares it with other appeals.
pub const MEDIA_PLACEHOLDERS: [&str; 4] = ["[图片]", "[位置]", "[语音]", "[视频]"];

/// Whether a content is only a media placeholder.
pub fn is_media_placeholder(content: &str) -> bool {
    MEDIA_PLACEHOLDERS.iter().any(|m| content.starts_with(m))
}

/// One appeal as a channel said it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawAppeal {
    pub channel: Channel,
    /// The channel's own id for the record; with `channel` it names the appeal.
    pub source_id: String,
    /// Edit version for channels whose posts can be edited (云上大冶); 0 elsewhere.
    pub version: u32,
    #[serde(with = "crate::timeserde::fixed")]
    pub received_at: DateTime<FixedOffset>,
    pub title: Option<String>,
    pub content: String,
    pub contact: Contact,
    pub location: Option<String>,
    pub coordinates: Option<GeoPoint>,
    /// The channel's own appeal-type code (e.g. 12345's `sqlx`).
    pub appeal_type_code: Option<String>,
    /// The channel's own category code or label.
    pub category_code: Option<String>,
    pub attachments: Vec<String>,
    /// The record as it came over the wire (decoded to UTF-8), for audit and replay.
    pub raw: String,
    /// When minqing accepted it from the channel (stamped on its way to the
    /// bus), for ingest-to-store latency. Not part of the appeal's identity.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::timeserde::utc_opt")]
    pub accepted_at: Option<DateTime<Utc>>,
    /// Where a pull found the record; see [`Inbound::occurrence`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<u64>,
}

/// The namespace of ticket ids (UUIDv5).
const NAMESPACE: Uuid = Uuid::from_u128(0x6d69_6e71_696e_4700_8000_0000_7469_636b);

/// A ticket's id: the UUIDv5 of `channel:source_id`, so a re-pull of the
/// same record names the same ticket and every consumer can be idempotent.
pub fn ticket_id(channel: Channel, source_id: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{}:{}", channel.id(), source_id).as_bytes())
}

/// The acceptance number told to citizens: `DY-` and 50 bits of the ticket id
/// in Crockford base 32 (no I, L, O or U, so it reads well over the phone).
pub fn short_no(id: &Uuid) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bits = u64::from_be_bytes(id.as_bytes()[..8].try_into().expect("8 bytes")) >> 14;
    let c: String = (0..10).rev().map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect();
    format!("DY-{}-{}", &c[..5], &c[5..])
}

impl RawAppeal {
    /// An appeal with what every channel has (who by phone, when, what)
    /// and nothing else: for the benchmarks' made-up orders and tests.
    pub fn plain(
        channel: Channel,
        source_id: impl Into<String>,
        received_at: DateTime<FixedOffset>,
        phone: Option<&str>,
        content: impl Into<String>,
    ) -> RawAppeal {
        RawAppeal {
            channel,
            source_id: source_id.into(),
            version: 0,
            received_at,
            title: None,
            content: content.into(),
            contact: Contact {
                name: None,
                phone: phone.map(str::to_owned),
                openid: None,
                anonymous: false,
            },
            location: None,
            coordinates: None,
            appeal_type_code: None,
            category_code: None,
            attachments: vec![],
            raw: "{}".into(),
            accepted_at: None,
            occurrence: None,
        }
    }

    /// The id of the ticket this appeal becomes.
    pub fn ticket_id(&self) -> Uuid {
        ticket_id(self.channel, &self.source_id)
    }

    /// The acceptance number a citizen is told for this appeal.
    pub fn acceptance_no(&self) -> String {
        short_no(&self.ticket_id())
    }
}

/// A record that could not be decoded or mapped. It goes to quarantine with
/// its raw bytes and a reason that names the field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    pub channel: Channel,
    /// The channel's id for the record when it could be read at all.
    pub source_id: Option<String>,
    pub raw: Vec<u8>,
    pub reason: String,
    /// Where a pull found the record; see [`Inbound::occurrence`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<u64>,
}

/// What a connector hands on: an appeal, or a record for quarantine. Both are
/// durably accepted before a checkpoint moves, so nothing is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Inbound {
    Appeal(Box<RawAppeal>),
    Rejected(Rejected),
}

impl Inbound {
    /// Stamps `accepted_at` on an appeal that has none yet.
    pub fn stamp_accepted(&mut self, now: DateTime<Utc>) {
        if let Inbound::Appeal(a) = self {
            a.accepted_at.get_or_insert(now);
        }
    }

    pub fn channel(&self) -> Channel {
        match self {
            Inbound::Appeal(a) => a.channel,
            Inbound::Rejected(r) => r.channel,
        }
    }

    /// Where a pull found the record: a hash of its channel, the cursor its
    /// page was fetched from, its place in the page and its identity (so a
    /// new record at an old place is not taken for the old one). A page fetched again
    /// after our own fault (a publish that failed, a broker that went away)
    /// gives its records the same occurrences; a record the channel itself
    /// sends again sits elsewhere in its feed and gets another. Intake counts
    /// a record whose occurrence it has decided before as our own
    /// redelivery, not as the channel's replay. `None` for pushed records.
    pub fn occurrence(&self) -> Option<u64> {
        match self {
            Inbound::Appeal(a) => a.occurrence,
            Inbound::Rejected(r) => r.occurrence,
        }
    }

    /// What names the record whatever page it is on: its channel's id and
    /// version, or the bytes of a record that could not be read.
    pub fn identity(&self) -> u64 {
        match self {
            Inbound::Appeal(a) => {
                Fnv::START
                    .eat(a.channel.id().as_bytes())
                    .eat(&[0])
                    .eat(a.source_id.as_bytes())
                    .eat(&a.version.to_le_bytes())
                    .0
            }
            Inbound::Rejected(r) => Fnv::START.eat(r.channel.id().as_bytes()).eat(&[1]).eat(&r.raw).0,
        }
    }

    /// Sets [`Inbound::occurrence`].
    pub fn set_occurrence(&mut self, o: u64) {
        match self {
            Inbound::Appeal(a) => a.occurrence = Some(o),
            Inbound::Rejected(r) => r.occurrence = Some(o),
        }
    }
}

/// FNV-1a, fed the parts as they lie: stable across processes and
/// versions, unlike std's hasher, since a page may be fetched again by the
/// next process; and no string is built per record.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    const START: Fnv = Fnv(0xcbf2_9ce4_8422_2325);

    fn eat(mut self, bytes: &[u8]) -> Fnv {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        self
    }
}

/// Where the `index`th record of the page fetched after `cursor` sits.
fn place(channel: Channel, cursor: Option<&str>, index: usize) -> Fnv {
    Fnv::START
        .eat(channel.id().as_bytes())
        .eat(&[0])
        .eat(cursor.unwrap_or("").as_bytes())
        .eat(&[u8::from(cursor.is_some())])
        .eat(&(index as u64).to_le_bytes())
}

/// The occurrence of the `index`th record of the page fetched after `cursor`.
pub fn occurrence(channel: Channel, cursor: Option<&str>, index: usize) -> u64 {
    place(channel, cursor, index).0
}

/// The same, for the record whose [`Inbound::identity`] is `identity`, so a
/// new record at an old place is not taken for the old one.
pub fn occurrence_of(channel: Channel, cursor: Option<&str>, index: usize, identity: u64) -> u64 {
    place(channel, cursor, index).eat(&identity.to_le_bytes()).0
}

/// The longest record id a channel may give (bytes).
pub const MAX_SOURCE_ID: usize = 128;

/// A pushed appeal's time as intake will accept it: from 2000 on and at
/// most a day ahead (`pipeline.future_tolerance_hours`' default; a
/// deployment that lowers it may still see a pushed appeal quarantined
/// after "accepted"). A push endpoint checks it before answering, so a
/// sender is not told "accepted" for what intake then quarantines.
pub fn check_pushed_time(t: DateTime<FixedOffset>, field: &str) -> Result<DateTime<FixedOffset>, String> {
    const Y2000: i64 = 946_656_000;
    if t.timestamp() < Y2000 {
        return Err(format!("{field}: {} is before 2000", t.to_rfc3339()));
    }
    if t.with_timezone(&Utc) > Utc::now() + chrono::Duration::hours(24) {
        return Err(format!("{field}: {} lies more than a day in the future", t.to_rfc3339()));
    }
    Ok(t)
}

/// A string field of a JSON record read loosely, for a record that did not
/// decode: its id (for quarantine) or update time (for the cursor).
pub fn json_field(raw: &str, key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    v.get(key)?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_field_reads_a_string_field_of_any_record() {
        let raw = r#"{"id":"A1","n":3,"sqnr":123}"#;
        assert_eq!(json_field(raw, "id").as_deref(), Some("A1"));
        assert_eq!(json_field(raw, "n"), None, "not a string");
        assert_eq!(json_field(raw, "gone"), None);
        assert_eq!(json_field("{", "id"), None, "not JSON");
    }

    #[test]
    fn channel_ids_round_trip() {
        for c in Channel::ALL {
            assert_eq!(c.id().parse::<Channel>().unwrap(), c);
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{}\"", c.id()));
        }
        assert!("fax".parse::<Channel>().unwrap_err().to_string().contains("hotline_12345"));
    }
}

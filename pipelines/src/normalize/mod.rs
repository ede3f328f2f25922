//! Normalize: a [`RawAppeal`] becomes a [`Ticket`], or a [`NormalizeError`]
//! that names the field, for quarantine.
//!
//! - text: NFKC, HTML stripped, control characters dropped, whitespace
//!   collapsed, capped at `max_content_chars` (content beyond the hard limit
//!   `max_content_bytes` is refused as oversize);
//! - phones: `+86`, `0086`, Huangshi `0714` landlines; a keyed hash as
//!   `citizen_key` and a masked form for display;
//! - times: naive local times were read as Asia/Shanghai by the connectors;
//!   here impossible ones (far future, before 2000) are refused;
//! - town from the gazetteer: the address first, then title and content;
//! - appeal type from the channel's code, else cue words.

pub mod phone;
pub mod text;
pub mod town;

use crate::ticket::{AppealType, Ticket, short_no, ticket_id};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use hmac::{Hmac, Mac};
use minqing_connectors::RawAppeal;
use minqing_connectors::timefmt::shanghai;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
pub use town::{Gazetteer, GazetteerError};

/// A channel's own record id longer than this is refused: ids key tickets
/// and indexes, and no upstream's is near it.
pub const MAX_SOURCE_ID: usize = minqing_connectors::appeal::MAX_SOURCE_ID;

/// `[pipeline]` settings that shape normalization.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Longer content is cut to this many characters (and flagged).
    pub max_content_chars: usize,
    /// Content larger than this many bytes is refused as oversize.
    pub max_content_bytes: usize,
    /// Key of the citizen hash. Set it per deployment, and keep it: changing
    /// it breaks duplicate detection across the change.
    pub citizen_key_secret: minqing_connectors::Secret,
    /// The id of that key, stored beside every `citizen_key` so that the key
    /// can be rotated (docs/security.md): letters and digits, at most 16.
    #[serde(default = "first_key_id")]
    pub citizen_key_id: String,
    /// Keys retired by a rotation, kept for a while: each new ticket also
    /// carries its citizen's key under each of them, so that the warehouse
    /// links old and new keys of one citizen and a duplicate is still found
    /// across the change (docs/security.md, "Rotating the citizen key").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_citizen_keys: Vec<RetiredKey>,
    /// Area code assumed for a bare local number.
    pub default_area_code: String,
    /// How far in the future a receive time may lie (clock skew).
    pub future_tolerance_hours: i64,
    /// Cross-channel duplicates are looked for within this many hours.
    pub dedup_window_hours: i64,
}

fn first_key_id() -> String {
    "k1".into()
}

/// A citizen key retired by a rotation, still computed during the change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetiredKey {
    pub id: String,
    pub secret: minqing_connectors::Secret,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_content_chars: 4000,
            max_content_bytes: 64 * 1024,
            citizen_key_secret: "change-me".into(),
            citizen_key_id: first_key_id(),
            previous_citizen_keys: Vec::new(),
            default_area_code: "0714".into(),
            future_tolerance_hours: 24,
            dedup_window_hours: 72,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct NormalizeError {
    pub field: &'static str,
    pub reason: String,
}

/// HMAC-SHA256 of `kind:value` under `secret`, cut to 128 bits.
fn keyed(secret: &str, kind: &str, value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(kind.as_bytes());
    mac.update(b":");
    mac.update(value.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

pub struct Normalizer {
    settings: Settings,
    gazetteer: Gazetteer,
}

impl Normalizer {
    pub fn new(settings: Settings, gazetteer: Gazetteer) -> Self {
        Normalizer { settings, gazetteer }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A keyed hash: equal for the same citizen, useless without the key.
    pub fn citizen_key(&self, kind: &str, value: &str) -> String {
        keyed(&self.settings.citizen_key_secret, kind, value)
    }

    /// The citizen's keys under the retired keys, newest retirement first.
    fn retired_keys(&self, kind: &str, value: &str) -> Vec<crate::ticket::KeyLink> {
        self.settings
            .previous_citizen_keys
            .iter()
            .map(|k| crate::ticket::KeyLink {
                id: k.id.clone(),
                key: keyed(&k.secret, kind, value),
            })
            .collect()
    }

    pub fn normalize(&self, a: &RawAppeal) -> Result<Ticket, NormalizeError> {
        let s = &self.settings;
        if a.source_id.len() > MAX_SOURCE_ID {
            return Err(NormalizeError {
                field: "source_id",
                reason: format!(
                    "{} bytes is over the {MAX_SOURCE_ID}-byte limit for a channel's record id",
                    a.source_id.len()
                ),
            });
        }
        if a.content.len() > s.max_content_bytes {
            return Err(NormalizeError {
                field: "content",
                reason: format!(
                    "oversize text: {} bytes is over the {}-byte limit",
                    a.content.len(),
                    s.max_content_bytes
                ),
            });
        }
        let (content, content_truncated) = text::clean(&a.content, s.max_content_chars);
        if content.is_empty() {
            return Err(NormalizeError {
                field: "content",
                reason: "empty after cleaning".into(),
            });
        }
        let received_at = check_time(a.received_at, s.future_tolerance_hours)?;
        let title = a.title.as_deref().map(|t| text::clean(t, 200).0).filter(|t| !t.is_empty());
        let phone = a.contact.phone.as_deref().and_then(|p| phone::normalize(p, &s.default_area_code));
        let who = match (&phone, &a.contact.openid) {
            (Some(p), _) => Some(("tel", p.0.as_str())),
            (None, Some(o)) if !o.trim().is_empty() => Some(("wx", o.trim())),
            _ => None,
        };
        let citizen_key = who.map(|(kind, v)| self.citizen_key(kind, v));
        let previous_citizen_keys = who.map(|(kind, v)| self.retired_keys(kind, v)).unwrap_or_default();
        let location = a.location.as_deref().map(|l| text::clean(l, 300).0).filter(|l| !l.is_empty());
        let town = self
            .gazetteer
            .resolve([location.as_deref().unwrap_or(""), title.as_deref().unwrap_or(""), content.as_str()])
            .map(|t| t.name.clone());
        let appeal_type = a.appeal_type_code.as_deref().and_then(type_from_code);
        let id = ticket_id(a.channel, &a.source_id);
        Ok(Ticket {
            ticket_id: id,
            short_no: short_no(&id),
            channel: a.channel,
            source_id: a.source_id.clone(),
            version: a.version,
            received_at,
            text_hash: text::dedup_hash(&content),
            title,
            content,
            content_truncated,
            appeal_type,
            category: a.category_code.as_deref().map(|c| text::clean(c, 100).0).filter(|c| !c.is_empty()),
            town,
            location,
            coordinates: a.coordinates,
            citizen_key_id: citizen_key.as_ref().map(|_| s.citizen_key_id.clone()),
            citizen_key,
            previous_citizen_keys,
            contact_name: a.contact.name.as_deref().map(|n| text::clean(n, 50).0).filter(|n| !n.is_empty()),
            phone_masked: phone.as_ref().map(phone::Phone::masked),
            contact_phone: phone.map(|p| p.0),
            anonymous: a.contact.anonymous,
            attachments: a.attachments.clone(),
            duplicate_of: None,
            cluster_id: None,
            triage: None,
        })
    }
}

fn check_time(t: DateTime<FixedOffset>, future_hours: i64) -> Result<DateTime<FixedOffset>, NormalizeError> {
    let now = Utc::now();
    if t.with_timezone(&Utc) > now + Duration::hours(future_hours) {
        return Err(NormalizeError {
            field: "received_at",
            reason: format!("{} lies in the future", t.to_rfc3339()),
        });
    }
    if t.naive_utc().and_utc().timestamp() < 946_656_000 {
        return Err(NormalizeError {
            field: "received_at",
            reason: format!("{} is before 2000", t.to_rfc3339()),
        });
    }
    Ok(t.with_timezone(&shanghai()))
}

/// The appeal type a channel code (ZX, TS…) or its Chinese name stands
/// for. Texts without one are typed by triage's cue words.
pub fn type_from_code(code: &str) -> Option<AppealType> {
    AppealType::parse(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minqing_connectors::{Channel, Contact};

    fn normalizer() -> Normalizer {
        let g = Gazetteer::from_toml(include_str!("../../../config/gazetteer.toml")).unwrap();
        Normalizer::new(
            Settings {
                max_content_chars: 50,
                max_content_bytes: 1000,
                ..Settings::default()
            },
            g,
        )
    }

    fn raw(content: &str, phone: Option<&str>) -> RawAppeal {
        RawAppeal {
            occurrence: None,
            channel: Channel::Hotline12345,
            source_id: "GD1".into(),
            version: 0,
            received_at: DateTime::parse_from_rfc3339("2026-06-01T09:00:00+08:00").unwrap(),
            title: Some("<b>路灯</b>不亮".into()),
            content: content.into(),
            contact: Contact {
                name: Some("王伟".into()),
                phone: phone.map(str::to_owned),
                openid: None,
                anonymous: false,
            },
            location: Some("大冶市金湖街道港湖村".into()),
            coordinates: None,
            appeal_type_code: Some("TS".into()),
            category_code: Some("城乡建设".into()),
            attachments: vec![],
            raw: String::new(),
            accepted_at: None,
        }
    }

    #[test]
    fn normalizes_a_whole_appeal() {
        let t = normalizer().normalize(&raw("路灯坏了，请维修", Some("+86 138 1234 5678"))).unwrap();
        assert_eq!(t.title.as_deref(), Some("路灯 不亮"));
        assert_eq!(t.town.as_deref(), Some("金湖街道"));
        assert_eq!(t.appeal_type, Some(AppealType::Complaint));
        assert_eq!(t.contact_phone.as_deref(), Some("13812345678"));
        assert_eq!(t.phone_masked.as_deref(), Some("138****5678"));
        assert_eq!(t.citizen_key.as_ref().unwrap().len(), 32);
        assert!(!t.citizen_key.as_ref().unwrap().contains("5678"));
    }

    #[test]
    fn same_citizen_same_key_across_formats() {
        let n = normalizer();
        let a = n.normalize(&raw("x", Some("13812345678"))).unwrap();
        let b = n.normalize(&raw("x", Some("１３８-1234-5678"))).unwrap();
        assert_eq!(a.citizen_key, b.citizen_key);
    }

    #[test]
    fn refuses_oversize_empty_and_future() {
        let n = normalizer();
        assert_eq!(n.normalize(&raw(&"长".repeat(400), None)).unwrap_err().field, "content");
        assert!(n.normalize(&raw(&"长".repeat(60), None)).unwrap().content_truncated);
        assert!(n.normalize(&raw("<p> </p>", None)).unwrap_err().reason.contains("empty"));
        let mut future = raw("x", None);
        future.received_at = DateTime::parse_from_rfc3339("2099-01-01T00:00:00+08:00").unwrap();
        assert_eq!(n.normalize(&future).unwrap_err().field, "received_at");
        let mut long_id = raw("x", None);
        long_id.source_id = "9".repeat(100_000);
        assert_eq!(n.normalize(&long_id).unwrap_err().field, "source_id");
    }

    #[test]
    fn type_only_from_codes() {
        let mut r = raw("我要举报河道偷排", None);
        r.title = None;
        r.appeal_type_code = Some("JB".into());
        assert_eq!(normalizer().normalize(&r).unwrap().appeal_type, Some(AppealType::Report));
        r.appeal_type_code = None;
        assert_eq!(normalizer().normalize(&r).unwrap().appeal_type, None, "cue words are triage's job");
    }
}

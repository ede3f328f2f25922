//! The grid app's batch JSON and its mapping to [`RawAppeal`].

use crate::appeal::{Channel, Contact, GeoPoint, RawAppeal};
use chrono::DateTime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Serialize)]
pub struct Batch {
    pub batch_id: String,
    pub sent_at: String,
    /// Raw text so one bad report cannot spoil its batch, and so quarantine
    /// keeps a report as it came.
    pub reports: Vec<Box<serde_json::value::RawValue>>,
}

#[derive(Debug, Deserialize)]
struct Report {
    report_id: Option<String>,
    grid_code: Option<String>,
    reported_at: Option<String>,
    category: Option<String>,
    description: Option<String>,
    address: Option<String>,
    gps: Option<Gps>,
    #[serde(default)]
    photos: Vec<String>,
    citizen: Option<Citizen>,
}

#[derive(Debug, Deserialize)]
struct Gps {
    lat: f64,
    lng: f64,
}

#[derive(Debug, Deserialize)]
struct Citizen {
    name: Option<String>,
    phone: Option<String>,
}

/// Maps one report (its JSON text).
pub fn map_report(raw: &str) -> Result<RawAppeal, String> {
    let r: Report = serde_json::from_str(raw).map_err(|e| format!("the report is not valid JSON for a grid report: {e}"))?;
    let id = r.report_id.filter(|s| !s.trim().is_empty()).ok_or("field `report_id` is missing")?;
    if id.len() > crate::appeal::MAX_SOURCE_ID {
        return Err(format!(
            "field `report_id`: {} bytes is over the {}-byte limit",
            id.len(),
            crate::appeal::MAX_SOURCE_ID
        ));
    }
    let at = r.reported_at.ok_or("field `reported_at` is missing")?;
    let received_at = DateTime::parse_from_rfc3339(&at).map_err(|e| format!("field `reported_at`: `{at}` is not an RFC 3339 time: {e}"))?;
    let received_at = crate::appeal::check_pushed_time(received_at, "field `reported_at`")?;
    let content = r
        .description
        .filter(|s| !s.trim().is_empty())
        .ok_or("field `description` is missing or empty")?;
    let coordinates = match r.gps {
        Some(g) if !(-90.0..=90.0).contains(&g.lat) => return Err(format!("field `gps.lat`: {} is outside [-90, 90]", g.lat)),
        Some(g) if !(-180.0..=180.0).contains(&g.lng) => return Err(format!("field `gps.lng`: {} is outside [-180, 180]", g.lng)),
        Some(g) => Some(GeoPoint { lat: g.lat, lon: g.lng }),
        None => None,
    };
    let (name, phone) = r.citizen.map(|c| (c.name, c.phone)).unwrap_or_default();
    let location = match (r.address, r.grid_code) {
        (Some(a), Some(g)) => Some(format!("{a}（网格 {g}）")),
        (a, g) => a.or(g),
    };
    Ok(RawAppeal {
        occurrence: None,
        channel: Channel::Grid,
        source_id: id,
        version: 0,
        received_at,
        title: None,
        content,
        contact: Contact {
            name,
            phone,
            openid: None,
            anonymous: false,
        },
        location,
        coordinates,
        appeal_type_code: None,
        category_code: r.category,
        attachments: r.photos,
        raw: raw.to_owned(),
        accepted_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"report_id":"WG-1","grid_code":"DY-JH-03","worker_id":"w9","worker_name":"网格员甲",
        "reported_at":"2026-06-01T10:00:00+08:00","category":"环境保护","description":"河道垃圾堆积",
        "address":"金湖街道港湖村","gps":{"lat":30.09,"lng":114.95},"photos":["http://p/1.jpg"],"citizen":{"name":"赵敏","phone":"15800001111"}}"#;

    #[test]
    fn maps_a_report() {
        let a = map_report(GOOD).unwrap();
        assert_eq!(a.coordinates, Some(GeoPoint { lat: 30.09, lon: 114.95 }));
        assert_eq!(a.location.as_deref(), Some("金湖街道港湖村（网格 DY-JH-03）"));
        assert_eq!(a.contact.phone.as_deref(), Some("15800001111"));
    }

    #[test]
    fn rejects_impossible_gps_and_missing_text() {
        assert!(map_report(&GOOD.replace("30.09", "123.4")).unwrap_err().contains("`gps.lat`"));
        assert!(
            map_report(&GOOD.replace(r#""description":"河道垃圾堆积","#, ""))
                .unwrap_err()
                .contains("`description`")
        );
    }
}

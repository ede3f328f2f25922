//! The app's JSON and its mapping to [`RawAppeal`].

use crate::appeal::{Channel, Contact, GeoPoint, RawAppeal};
use chrono::DateTime;
use serde::{Deserialize, Serialize};

pub const TOKEN_PATH: &str = "/oauth/token";
pub const POSTS_PATH: &str = "/api/v2/posts";

#[derive(Debug, Deserialize, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct PostsPage {
    /// Raw text so one bad post cannot spoil its page, and so quarantine
    /// keeps a post as it came.
    pub posts: Vec<Box<serde_json::value::RawValue>>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

#[derive(Debug, Deserialize)]
struct Post {
    post_id: Option<String>,
    version: Option<u32>,
    created_at: Option<String>,
    title: Option<String>,
    body: Option<String>,
    author: Option<Author>,
    #[serde(default)]
    anonymous: bool,
    location: Option<Location>,
    topic: Option<String>,
    #[serde(default)]
    images: Vec<Image>,
}

#[derive(Debug, Deserialize)]
struct Author {
    real_name: Option<String>,
    mobile: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Location {
    address: Option<String>,
    lat: Option<f64>,
    lng: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Image {
    url: String,
}

/// Maps one post (its JSON text).
pub fn map_record(raw: &str) -> Result<RawAppeal, String> {
    let p: Post = serde_json::from_str(raw).map_err(|e| format!("the post is not valid JSON for a post: {e}"))?;
    let id = p.post_id.filter(|s| !s.trim().is_empty()).ok_or("field `post_id` is missing")?;
    let created = p.created_at.ok_or("field `created_at` is missing")?;
    let received_at =
        DateTime::parse_from_rfc3339(&created).map_err(|e| format!("field `created_at`: `{created}` is not an RFC 3339 time: {e}"))?;
    let content = p.body.filter(|s| !s.trim().is_empty()).ok_or("field `body` is missing or empty")?;
    let (name, phone) = p.author.map(|a| (a.real_name, a.mobile)).unwrap_or_default();
    let (location, coordinates) = match p.location {
        Some(l) => (l.address, l.lat.zip(l.lng).map(|(lat, lon)| GeoPoint { lat, lon })),
        None => (None, None),
    };
    Ok(RawAppeal {
        occurrence: None,
        channel: Channel::YunshangApp,
        source_id: id,
        version: p.version.unwrap_or(1),
        received_at,
        title: p.title,
        content,
        contact: Contact {
            name,
            phone,
            openid: None,
            anonymous: p.anonymous,
        },
        location,
        coordinates,
        appeal_type_code: None,
        category_code: p.topic,
        attachments: p.images.into_iter().map(|i| i.url).collect(),
        raw: raw.to_owned(),
        accepted_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_post_with_images_and_location() {
        let raw = r#"{"post_id":"ys1","version":2,"created_at":"2026-06-01T09:00:00+08:00","title":"t","body":"路灯坏了",
            "author":{"nickname":"n","real_name":"王芳","mobile":"13900001111"},"anonymous":false,
            "location":{"address":"金湖街道","lat":30.1,"lng":114.9},"topic":"城乡建设","images":[{"url":"http://i/1.jpg","width":1}]}"#;
        let a = map_record(raw).unwrap();
        assert_eq!((a.source_id.as_str(), a.version), ("ys1", 2));
        assert_eq!(a.coordinates, Some(GeoPoint { lat: 30.1, lon: 114.9 }));
        assert_eq!(a.attachments, vec!["http://i/1.jpg".to_owned()]);
        assert_eq!(a.contact.phone.as_deref(), Some("13900001111"));
    }

    #[test]
    fn names_missing_and_bad_fields() {
        assert!(
            map_record(r#"{"post_id":"x","created_at":"2026-06-01T09:00:00+08:00"}"#)
                .unwrap_err()
                .contains("`body`")
        );
        assert!(
            map_record(r#"{"post_id":"x","created_at":"2026-02-30T09:00:00+08:00","body":"b"}"#)
                .unwrap_err()
                .contains("`created_at`")
        );
        assert!(
            map_record(r#"{"created_at":"2026-06-01T09:00:00+08:00","body":"b"}"#)
                .unwrap_err()
                .contains("`post_id`")
        );
    }
}

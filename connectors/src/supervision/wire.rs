//! The supervision platform's XML and its mapping to [`RawAppeal`].

use crate::appeal::{Channel, Contact, Inbound, RawAppeal};
use crate::timefmt::parse_local;
use crate::xml::{first_text, split_elements};
use chrono::DateTime;
use serde::Deserialize;

pub const PATH: &str = "/api/v1/clues";

/// One `<clue>`. Optional elements may be absent altogether.
#[derive(Debug, Deserialize)]
struct Clue {
    clue_id: Option<String>,
    submitted_at: Option<String>,
    title: Option<String>,
    content: Option<String>,
    reporter: Option<Reporter>,
    anonymous: Option<String>,
    address: Option<String>,
    category: Option<String>,
    attachments: Option<Attachments>,
}

#[derive(Debug, Deserialize)]
struct Reporter {
    name: Option<String>,
    mobile: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Attachments {
    #[serde(default)]
    url: Vec<String>,
}

/// Parses a whole response: `(total, records)`. A broken envelope is an
/// error; a broken record becomes a [`Inbound::Rejected`].
pub fn parse_page(body: &[u8]) -> Result<(u32, Vec<Inbound>), String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("the response is not UTF-8: {e}"))?;
    let head = text.split("<clues").next().unwrap_or(text);
    let code = first_text(head, "code").ok_or("the response has no <code>")?;
    if code.trim() != "0" {
        let msg = first_text(head, "message").unwrap_or_default();
        return Err(format!("the platform answered code {code}: {msg}"));
    }
    let total = first_text(head, "total")
        .and_then(|t| t.trim().parse().ok())
        .ok_or("the response has no numeric <total>")?;
    let records = split_elements(body, "clue")?;
    let items = records
        .into_iter()
        .map(|raw| {
            let id = std::str::from_utf8(raw).ok().and_then(|s| first_text(s, "clue_id"));
            super::inbound(raw, id)
        })
        .collect();
    Ok((total, items))
}

fn required(v: Option<String>, field: &str) -> Result<String, String> {
    v.map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("element <{field}> is missing or empty"))
}

/// Maps one `<clue>…</clue>` element.
pub fn map_record(raw: &str) -> Result<RawAppeal, String> {
    let c: Clue = quick_xml::de::from_str(raw).map_err(|e| format!("the <clue> element is not well-formed XML: {e}"))?;
    let id = required(c.clue_id, "clue_id")?;
    let at = required(c.submitted_at, "submitted_at")?;
    let received_at = DateTime::parse_from_rfc3339(&at)
        .or_else(|_| parse_local(&at, super::WINDOW_FMT))
        .map_err(|e| format!("element <submitted_at>: {e}"))?;
    let content = required(c.content, "content")?;
    let (name, phone) = c.reporter.map(|r| (r.name, r.mobile)).unwrap_or_default();
    Ok(RawAppeal {
        occurrence: None,
        channel: Channel::Supervision,
        source_id: id,
        version: 0,
        received_at,
        title: c.title,
        content,
        contact: Contact {
            name,
            phone,
            openid: None,
            anonymous: c.anonymous.as_deref().map(str::trim) == Some("true"),
        },
        location: c.address,
        coordinates: None,
        appeal_type_code: None,
        category_code: c.category,
        attachments: c.attachments.map(|a| a.url).unwrap_or_default(),
        raw: raw.to_owned(),
        accepted_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<response><code>0</code><message>ok</message><total>3</total><clues>
<clue><clue_id>JD-1</clue_id><submitted_at>2026-06-01T09:00:00</submitted_at>
<title><![CDATA[河道被倾倒<垃圾>]]></title><content><![CDATA[河水发黑 & 发臭]]></content>
<reporter><name>李强</name><mobile>13800001111</mobile></reporter><anonymous>false</anonymous>
<address>金湖街道 &amp; 港湖村</address><attachments><url>http://a/1.jpg</url><url>http://a/2.jpg</url></attachments></clue>
<clue><clue_id>JD-2</clue_id><submitted_at>2026-06-01T10:00:00+08:00</submitted_at><content>unescaped & <b>bold</content></clue>
<clue><clue_id>JD-3</clue_id><submitted_at>2026-13-45T10:00:00</submitted_at><content>x</content></clue>
</clues></response>"#;

    #[test]
    fn maps_good_clues_and_quarantines_bad_ones() {
        let (total, items) = parse_page(PAGE.as_bytes()).unwrap();
        assert_eq!(total, 3);
        let Inbound::Appeal(a) = &items[0] else {
            panic!("first clue should map: {:?}", items[0])
        };
        assert_eq!(a.title.as_deref(), Some("河道被倾倒<垃圾>"));
        assert_eq!(a.content, "河水发黑 & 发臭");
        assert_eq!(a.location.as_deref(), Some("金湖街道 & 港湖村"));
        assert_eq!(a.attachments.len(), 2);
        assert_eq!(a.received_at.to_rfc3339(), "2026-06-01T09:00:00+08:00");
        let Inbound::Rejected(r) = &items[1] else {
            panic!("bad XML must be rejected")
        };
        assert!(r.reason.contains("well-formed"), "{}", r.reason);
        assert_eq!(r.source_id.as_deref(), Some("JD-2"));
        let Inbound::Rejected(r) = &items[2] else {
            panic!("bad date must be rejected")
        };
        assert!(r.reason.contains("<submitted_at>"), "{}", r.reason);
    }

    #[test]
    fn optional_elements_may_be_absent() {
        let a =
            map_record("<clue><clue_id>JD-9</clue_id><submitted_at>2026-06-01T09:00:00</submitted_at><content>路灯不亮</content></clue>")
                .unwrap();
        assert_eq!(a.contact, Contact::default());
        assert!(a.attachments.is_empty() && a.location.is_none());
        let e = map_record("<clue><clue_id>JD-9</clue_id><submitted_at>2026-06-01T09:00:00</submitted_at></clue>").unwrap_err();
        assert!(e.contains("<content>"));
    }

    #[test]
    fn an_error_envelope_is_an_error() {
        let e = parse_page(b"<response><code>401</code><message>bad token</message></response>").unwrap_err();
        assert!(e.contains("401") && e.contains("bad token"));
    }
}

//! WeChat message XML, its mapping to [`RawAppeal`], and passive replies.

use crate::appeal::{Channel, Contact, GeoPoint, MEDIA_PLACEHOLDERS, RawAppeal};
use crate::timefmt::shanghai;
use crate::xml::cdata;
use chrono::{DateTime, FixedOffset, TimeZone};
use serde::Deserialize;

/// A message or event pushed by WeChat (plaintext, or decrypted).
#[derive(Debug, Default, Deserialize)]
pub struct Message {
    #[serde(rename = "ToUserName")]
    pub to_user: Option<String>,
    #[serde(rename = "FromUserName")]
    pub from_user: Option<String>,
    #[serde(rename = "CreateTime")]
    pub create_time: Option<i64>,
    #[serde(rename = "MsgType")]
    pub msg_type: Option<String>,
    #[serde(rename = "Content")]
    pub content: Option<String>,
    #[serde(rename = "MsgId")]
    pub msg_id: Option<String>,
    #[serde(rename = "PicUrl")]
    pub pic_url: Option<String>,
    #[serde(rename = "MediaId")]
    pub media_id: Option<String>,
    #[serde(rename = "Location_X")]
    pub location_x: Option<f64>,
    #[serde(rename = "Location_Y")]
    pub location_y: Option<f64>,
    #[serde(rename = "Label")]
    pub label: Option<String>,
    #[serde(rename = "Recognition")]
    pub recognition: Option<String>,
    #[serde(rename = "Title")]
    pub title: Option<String>,
    #[serde(rename = "Description")]
    pub description: Option<String>,
    #[serde(rename = "Url")]
    pub url: Option<String>,
    #[serde(rename = "Event")]
    pub event: Option<String>,
}

/// The `<xml><ToUserName/><Encrypt/></xml>` envelope of safe mode.
#[derive(Debug, Deserialize)]
pub struct Encrypted {
    #[serde(rename = "Encrypt")]
    pub encrypt: String,
}

pub fn parse_message(xml: &str) -> Result<Message, String> {
    quick_xml::de::from_str(xml).map_err(|e| format!("the message is not well-formed WeChat XML: {e}"))
}

/// What a message means for us.
pub enum Meaning {
    Appeal(Box<RawAppeal>),
    /// A follow: welcome the citizen, no appeal.
    Subscribe,
    /// Other events (unfollow, menu clicks): nothing to do.
    OtherEvent,
}

/// Maps a parsed message; `raw` is its plaintext XML.
pub fn interpret(m: &Message, raw: &str) -> Result<Meaning, String> {
    let kind = m.msg_type.as_deref().ok_or("element <MsgType> is missing")?;
    if kind == "event" {
        return Ok(match m.event.as_deref() {
            Some("subscribe") => Meaning::Subscribe,
            _ => Meaning::OtherEvent,
        });
    }
    let id = m
        .msg_id
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or("element <MsgId> is missing")?;
    let openid = m.from_user.clone().ok_or("element <FromUserName> is missing")?;
    let received_at = create_time(m)?;
    let body = body(m, kind)?;
    Ok(Meaning::Appeal(Box::new(RawAppeal {
        occurrence: None,
        channel: Channel::Wechat,
        source_id: id,
        version: 0,
        received_at,
        title: None,
        content: body.content,
        contact: Contact {
            name: None,
            phone: None,
            openid: Some(openid),
            anonymous: false,
        },
        location: body.location,
        coordinates: body.coordinates,
        appeal_type_code: None,
        category_code: None,
        attachments: body.attachments,
        raw: raw.to_owned(),
        accepted_at: None,
    })))
}

/// The message's `<CreateTime>`, a unix time, in Shanghai time.
fn create_time(m: &Message) -> Result<DateTime<FixedOffset>, String> {
    let ts = m.create_time.ok_or("element <CreateTime> is missing")?;
    let received_at = shanghai()
        .timestamp_opt(ts, 0)
        .single()
        .ok_or_else(|| format!("element <CreateTime>: {ts} is not a unix time"))?;
    crate::appeal::check_pushed_time(received_at, "element <CreateTime>")
}

/// What a message says, by its kind: the text, or a placeholder naming
/// the media (with the picture's address, or the place, beside it).
#[derive(Default)]
struct Body {
    content: String,
    attachments: Vec<String>,
    coordinates: Option<GeoPoint>,
    location: Option<String>,
}

impl Body {
    /// A body that is text only.
    fn text(content: String) -> Body {
        Body {
            content,
            ..Body::default()
        }
    }
}

/// The body of a message of kind `kind` (`<MsgType>`, not an event).
fn body(m: &Message, kind: &str) -> Result<Body, String> {
    let media_id = || m.media_id.clone().unwrap_or_default();
    Ok(match kind {
        "text" => Body::text(
            m.content
                .clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or("element <Content> is missing or empty")?,
        ),
        "image" => {
            let url = m.pic_url.clone().ok_or("element <PicUrl> is missing")?;
            Body {
                content: format!("{} {url}", MEDIA_PLACEHOLDERS[0]),
                attachments: vec![url],
                ..Body::default()
            }
        }
        "location" => location(m)?,
        // A voice message WeChat recognized is its words.
        "voice" => Body::text(match &m.recognition {
            Some(r) if !r.trim().is_empty() => r.clone(),
            _ => format!("{} {}", MEDIA_PLACEHOLDERS[2], media_id()),
        }),
        "video" | "shortvideo" => Body::text(format!("{} {}", MEDIA_PLACEHOLDERS[3], media_id())),
        "link" => Body::text(format!(
            "{} {} {}",
            m.title.clone().unwrap_or_default(),
            m.description.clone().unwrap_or_default(),
            m.url.clone().unwrap_or_default()
        )),
        other => return Err(format!("element <MsgType>: `{other}` is not a WeChat message type")),
    })
}

/// A location message: its coordinates, and its label (or the
/// coordinates) as the text.
fn location(m: &Message) -> Result<Body, String> {
    let (lat, lon) = m
        .location_x
        .zip(m.location_y)
        .ok_or("elements <Location_X>/<Location_Y> are missing")?;
    Ok(Body {
        content: format!(
            "{} {}",
            MEDIA_PLACEHOLDERS[1],
            m.label.clone().unwrap_or_else(|| format!("{lat},{lon}"))
        ),
        coordinates: Some(GeoPoint { lat, lon }),
        location: m.label.clone(),
        ..Body::default()
    })
}

/// A passive text reply (被动回复消息).
pub fn text_reply(to_user: &str, from_user: &str, create_time: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>{}</Content></xml>",
        cdata(to_user),
        cdata(from_user),
        cdata(content)
    )
}

/// The safe-mode envelope around an encrypted reply.
pub fn encrypted_reply(encrypt: &str, signature: &str, timestamp: &str, nonce: &str) -> String {
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(encrypt),
        cdata(signature),
        cdata(nonce)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appeal(xml: &str) -> RawAppeal {
        match interpret(&parse_message(xml).unwrap(), xml).unwrap() {
            Meaning::Appeal(a) => *a,
            _ => panic!("expected an appeal"),
        }
    }

    #[test]
    fn maps_text_image_and_location() {
        let t = appeal(
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oU1]]></FromUserName><CreateTime>1780000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[路灯坏了]]></Content><MsgId>24000000000000001</MsgId></xml>",
        );
        assert_eq!((t.source_id.as_str(), t.content.as_str()), ("24000000000000001", "路灯坏了"));
        assert_eq!(t.contact.openid.as_deref(), Some("oU1"));
        let i = appeal(
            "<xml><FromUserName>oU1</FromUserName><CreateTime>1780000000</CreateTime><MsgType>image</MsgType><PicUrl>http://mmbiz/1</PicUrl><MediaId>m1</MediaId><MsgId>2</MsgId></xml>",
        );
        assert_eq!(i.attachments, vec!["http://mmbiz/1".to_owned()]);
        let l = appeal(
            "<xml><FromUserName>oU1</FromUserName><CreateTime>1780000000</CreateTime><MsgType>location</MsgType><Location_X>30.1</Location_X><Location_Y>114.9</Location_Y><Scale>15</Scale><Label><![CDATA[大冶市金湖街道]]></Label><MsgId>3</MsgId></xml>",
        );
        assert_eq!(l.coordinates, Some(GeoPoint { lat: 30.1, lon: 114.9 }));
        assert_eq!(l.location.as_deref(), Some("大冶市金湖街道"));
    }

    #[test]
    fn subscribe_is_not_an_appeal_and_missing_fields_are_named() {
        let sub = parse_message(
            "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>",
        )
        .unwrap();
        assert!(matches!(interpret(&sub, ""), Ok(Meaning::Subscribe)));
        let no_id =
            parse_message("<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content></xml>")
                .unwrap();
        assert!(interpret(&no_id, "").err().unwrap().contains("<MsgId>"));
        assert!(parse_message("<xml><Content>x</xml>").is_err());
    }

    #[test]
    fn reply_is_wechat_text_xml() {
        let r = text_reply("oU1", "gh_1", 5, "受理编号 DY-AAAA-BBBB");
        let m = parse_message(&r).unwrap();
        assert_eq!(m.msg_type.as_deref(), Some("text"));
        assert_eq!(m.to_user.as_deref(), Some("oU1"));
        assert_eq!(m.content.as_deref(), Some("受理编号 DY-AAAA-BBBB"));
    }
}

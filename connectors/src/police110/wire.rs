//! The 110 centre's GBK XML and its mapping to [`RawAppeal`].

use super::TIME_FMT;
use crate::appeal::{Channel, Contact, GeoPoint, Inbound, RawAppeal, Rejected};
use crate::timefmt::parse_local;
use crate::xml::{first_text, split_elements};
use encoding_rs::GBK;
use serde::Deserialize;

pub const PATH: &str = "/api/v1/feijingqing";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
struct Record {
    #[serde(rename = "Seq")]
    seq: Option<String>,
    /// 接警单编号
    jjdbh: Option<String>,
    /// 报警时间
    bjsj: Option<String>,
    /// 报警人姓名
    bjrxm: Option<String>,
    /// 报警电话
    bjdh: Option<String>,
    /// 报警内容
    bjnr: Option<String>,
    /// 事发地址
    sfdz: Option<String>,
    /// 警情类别
    jqlb: Option<String>,
    /// longitude
    zbx: Option<f64>,
    /// latitude
    zby: Option<f64>,
}

pub struct ParsedPage {
    pub items: Vec<Inbound>,
    pub max_seq: Option<u64>,
}

/// Parses a GBK document. Each `<Record>` is decoded on its own, so a record
/// with bytes that are not GBK is quarantined alone.
pub fn parse_page(body: &[u8]) -> Result<ParsedPage, String> {
    let head_end = find(body, b"<Records").unwrap_or(body.len());
    let (head, _, _) = GBK.decode(&body[..head_end]);
    let code = first_text(&head, "ResultCode").ok_or("the response has no <ResultCode>")?;
    if code.trim() != "0" {
        return Err(format!(
            "the centre answered ResultCode {code}: {}",
            first_text(&head, "ResultMsg").unwrap_or_default()
        ));
    }
    let mut max_seq = None;
    let mut items = Vec::new();
    for raw in split_elements(body, "Record")? {
        // Seq is ASCII digits, readable even when the rest of the record is not.
        let seq = between(raw, b"<Seq>", b"</Seq>").and_then(|s| std::str::from_utf8(s).ok()?.trim().parse::<u64>().ok());
        max_seq = max_seq.max(seq);
        items.push(match map_record(raw) {
            Ok(a) => Inbound::Appeal(Box::new(a)),
            Err(reason) => Inbound::Rejected(Rejected {
                occurrence: None,
                channel: Channel::Police110,
                source_id: between(raw, b"<JJDBH>", b"</JJDBH>").and_then(|s| String::from_utf8(s.to_vec()).ok()),
                raw: raw.to_vec(),
                reason,
            }),
        });
    }
    Ok(ParsedPage { items, max_seq })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn between<'a>(hay: &'a [u8], open: &[u8], close: &[u8]) -> Option<&'a [u8]> {
    let s = find(hay, open)? + open.len();
    let e = find(&hay[s..], close)? + s;
    Some(&hay[s..e])
}

/// Maps one `<Record>` element, given in GBK bytes as on the wire, or in
/// UTF-8 as kept after decoding (a record quarantined after decoding is
/// stored decoded). Chinese text in GBK is practically never valid UTF-8, so
/// trying UTF-8 first is safe.
pub fn map_record(raw: &[u8]) -> Result<RawAppeal, String> {
    let text = match std::str::from_utf8(raw) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => GBK
            .decode_without_bom_handling_and_without_replacement(raw)
            .ok_or("the record is not valid GBK: bad encoding")?,
    };
    let r: Record = quick_xml::de::from_str(&text).map_err(|e| format!("the <Record> element is not well-formed XML: {e}"))?;
    let id = r
        .jjdbh
        .filter(|s| !s.trim().is_empty())
        .ok_or("element <JJDBH> (接警单编号) is missing")?;
    let at = r.bjsj.ok_or("element <BJSJ> (报警时间) is missing")?;
    let received_at = parse_local(&at, TIME_FMT).map_err(|e| format!("element <BJSJ> (报警时间): {e}"))?;
    let content = r
        .bjnr
        .filter(|s| !s.trim().is_empty())
        .ok_or("element <BJNR> (报警内容) is missing or empty")?;
    let _ = r.seq;
    Ok(RawAppeal {
        occurrence: None,
        channel: Channel::Police110,
        source_id: id.trim().to_owned(),
        version: 0,
        received_at,
        title: None,
        content,
        contact: Contact {
            name: r.bjrxm,
            phone: r.bjdh,
            openid: None,
            anonymous: false,
        },
        location: r.sfdz,
        coordinates: r.zby.zip(r.zbx).map(|(lat, lon)| GeoPoint { lat, lon }),
        appeal_type_code: None,
        category_code: r.jqlb,
        attachments: Vec::new(),
        raw: text.into_owned(),
        accepted_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        GBK.encode(s).0.into_owned()
    }

    const RECORD: &str = "<Record><Seq>7</Seq><JJDBH>J1</JJDBH><BJSJ>20230519120938</BJSJ><BJRXM>张三</BJRXM><BJDH>0714-8765432</BJDH>\
        <BJNR>邻居装修噪音扰民</BJNR><SFDZ>金湖街道港湖村</SFDZ><JQLB>噪音</JQLB><ZBX>114.97</ZBX><ZBY>30.10</ZBY></Record>";

    #[test]
    fn maps_a_gbk_record() {
        let a = map_record(&gbk(RECORD)).unwrap();
        assert_eq!(a.source_id, "J1");
        assert_eq!(a.content, "邻居装修噪音扰民");
        assert_eq!(a.received_at.to_rfc3339(), "2023-05-19T12:09:38+08:00");
        assert_eq!(a.coordinates, Some(GeoPoint { lat: 30.10, lon: 114.97 }));
        assert!(a.raw.contains("张三"));
    }

    #[test]
    fn quarantines_bad_encoding_and_dates_but_keeps_the_page() {
        let mut bad = gbk(&RECORD.replace("<Seq>7", "<Seq>8"));
        let at = find(&bad, &gbk("噪音扰民")).unwrap();
        bad[at] = 0xFF; // not a GBK lead byte
        let bad_date = gbk(&RECORD.replace("<Seq>7", "<Seq>9").replace("20230519120938", "20231345250000"));
        let mut doc = gbk("<?xml version=\"1.0\" encoding=\"GBK\"?><Root><ResultCode>0</ResultCode><ResultMsg>成功</ResultMsg><Records>");
        doc.extend(gbk(RECORD));
        doc.extend(&bad);
        doc.extend(&bad_date);
        doc.extend(gbk("</Records></Root>"));
        let page = parse_page(&doc).unwrap();
        assert_eq!(page.max_seq, Some(9));
        assert!(matches!(page.items[0], Inbound::Appeal(_)));
        let Inbound::Rejected(r) = &page.items[1] else {
            panic!("bad GBK must be rejected")
        };
        assert!(r.reason.contains("GBK"), "{}", r.reason);
        assert_eq!(r.raw, bad);
        let Inbound::Rejected(r) = &page.items[2] else {
            panic!("bad date must be rejected")
        };
        assert!(r.reason.contains("<BJSJ>"), "{}", r.reason);
    }

    #[test]
    fn an_error_code_is_an_error() {
        let e = parse_page(&gbk(
            "<Root><ResultCode>403</ResultCode><ResultMsg>地址不在白名单</ResultMsg></Root>",
        ))
        .err()
        .unwrap();
        assert!(e.contains("403") && e.contains("白名单"));
    }
}

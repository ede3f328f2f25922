//! The 12345 platform's JSON and its mapping to [`RawAppeal`].

use super::TIME_FMT;
use crate::appeal::{Channel, Contact, RawAppeal};
use crate::timefmt::parse_local;
use serde::{Deserialize, Serialize};

pub const PATH: &str = "/api/v1/workorders";

#[derive(Debug, Deserialize, Serialize)]
pub struct Envelope {
    pub code: i64,
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub data: Option<Data>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Data {
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    /// Kept as raw text so one bad record cannot spoil its page, and so
    /// quarantine keeps a record as it came.
    pub records: Vec<Box<serde_json::value::RawValue>>,
}

/// One work order. Every field is optional on the wire; [`map_record`] says
/// which one is missing.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Record {
    /// 工单编号
    pub gdbh: Option<String>,
    /// 来电时间
    pub ldsj: Option<String>,
    /// 更新时间
    pub gxsj: Option<String>,
    /// 来电人姓名
    pub ldrxm: Option<String>,
    /// 联系电话
    pub lxdh: Option<String>,
    /// 是否匿名: "1" yes, "0" no
    pub sfnm: Option<String>,
    /// 诉求标题
    pub sqbt: Option<String>,
    /// 诉求内容
    pub sqnr: Option<String>,
    /// 诉求类型: ZX 咨询, QZ 求助, TS 投诉, JB 举报, JY 建议, BY 表扬
    pub sqlx: Option<String>,
    /// 业务分类
    pub ywfl: Option<String>,
    /// 事件地址
    pub sjdz: Option<String>,
    /// 附件 URLs
    #[serde(default)]
    pub fj: Vec<String>,
}

/// The query string, in the order that is signed.
pub fn query_string(since: &str, page: u32, size: u32) -> String {
    format!(
        "updated_since={}&page={page}&page_size={size}",
        since.replace(' ', "%20").replace(':', "%3A")
    )
}

/// What `X-Signature` signs.
pub fn signing_string(app_key: &str, ts: &str, nonce: &str, path: &str, query: &str) -> String {
    format!("{app_key}\n{ts}\n{nonce}\nGET\n{path}\n{query}")
}

fn required<'a>(v: &'a Option<String>, field: &str, label: &str) -> Result<&'a str, String> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(format!("field `{field}` ({label}) is missing or empty")),
    }
}

/// Maps one record (its JSON text) to a [`RawAppeal`].
pub fn map_record(raw: &str) -> Result<RawAppeal, String> {
    map_parsed(&parse_record(raw)?, raw)
}

/// Decodes one record's JSON text.
pub fn parse_record(raw: &str) -> Result<Record, String> {
    serde_json::from_str(raw).map_err(|e| format!("the record is not valid JSON for a work order: {e}"))
}

/// Maps a decoded record; `raw` is its text, kept for quarantine.
pub fn map_parsed(r: &Record, raw: &str) -> Result<RawAppeal, String> {
    let id = required(&r.gdbh, "gdbh", "工单编号")?;
    let ldsj = required(&r.ldsj, "ldsj", "来电时间")?;
    let received_at = parse_local(ldsj, TIME_FMT).map_err(|e| format!("field `ldsj` (来电时间): {e}"))?;
    let content = required(&r.sqnr, "sqnr", "诉求内容")?;
    Ok(RawAppeal {
        occurrence: None,
        channel: Channel::Hotline12345,
        source_id: id.to_owned(),
        version: 0,
        received_at,
        title: r.sqbt.clone(),
        content: content.to_owned(),
        contact: Contact {
            name: r.ldrxm.clone(),
            phone: r.lxdh.clone(),
            openid: None,
            anonymous: r.sfnm.as_deref() == Some("1"),
        },
        location: r.sjdz.clone(),
        coordinates: None,
        appeal_type_code: r.sqlx.clone(),
        category_code: r.ywfl.clone(),
        attachments: r.fj.clone(),
        raw: raw.to_owned(),
        accepted_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"gdbh":"GD202606010000001","ldsj":"2026-06-01 09:15:00","gxsj":"2026-06-01 09:16:00",
        "ldrxm":"王伟","lxdh":"+86 138 0000 1234","sfnm":"0","sqbt":"小区路灯长期不亮",
        "sqnr":"东岳路街道东岳社区小区路灯坏了","sqlx":"TS","ywfl":"城乡建设","sjdz":"大冶市东岳路街道","fj":["http://x/1.jpg"]}"#;

    #[test]
    fn maps_a_work_order() {
        let a = map_record(GOOD).unwrap();
        assert_eq!(a.source_id, "GD202606010000001");
        assert_eq!(a.received_at.to_rfc3339(), "2026-06-01T09:15:00+08:00");
        assert_eq!(a.contact.phone.as_deref(), Some("+86 138 0000 1234"));
        assert_eq!(a.appeal_type_code.as_deref(), Some("TS"));
        assert_eq!(a.attachments, vec!["http://x/1.jpg".to_owned()]);
        assert!(!a.contact.anonymous);
    }

    #[test]
    fn names_the_missing_or_bad_field() {
        let missing = GOOD.replace(r#""sqnr":"东岳路街道东岳社区小区路灯坏了","#, "");
        assert!(map_record(&missing).unwrap_err().contains("`sqnr`"));
        let bad_date = GOOD.replace("2026-06-01 09:15:00", "2026-02-30 25:61:00");
        assert!(map_record(&bad_date).unwrap_err().contains("`ldsj`"));
        assert!(map_record("{").unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn signing_string_is_stable() {
        let q = query_string("2026-06-01 00:00:00", 2, 500);
        assert_eq!(q, "updated_since=2026-06-01%2000%3A00%3A00&page=2&page_size=500");
        assert_eq!(signing_string("k", "1", "n", PATH, &q), format!("k\n1\nn\nGET\n{PATH}\n{q}"));
    }
}

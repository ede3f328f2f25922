//! SOAP 1.1 envelopes of the 12366 service, the WS-Security header, and the
//! mapping of `<Appeal>` to [`RawAppeal`].

use super::{Config, PasswordType};
use crate::appeal::{Channel, Contact, Inbound, RawAppeal, Rejected};
use crate::xml::{escape, first_text, split_elements};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use sha1::{Digest, Sha1};

pub const PATH: &str = "/ws/AppealService";
pub const SOAP_ACTION: &str = "urn:tax12366:appeal:v1#QueryAppeals";
pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const NS_WSSE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const NS_WSU: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
pub const PW_DIGEST: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
pub const PW_TEXT: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
pub const NS_APPEAL: &str = "urn:tax12366:appeal:v1";

/// Base64(SHA-1(nonce + created + password)), per the UsernameToken profile.
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    STANDARD.encode(h.finalize())
}

/// The `QueryAppeals` request envelope with a fresh UsernameToken.
pub(super) fn request(cfg: &Config, start: &DateTime<FixedOffset>, end: &DateTime<FixedOffset>, page: u32) -> String {
    let created = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let nonce: [u8; 16] = rand::random();
    let (pw_type, pw) = match cfg.password_type {
        PasswordType::Digest => (PW_DIGEST, password_digest(&nonce, &created, &cfg.password)),
        PasswordType::Text => (PW_TEXT, cfg.password.expose().to_owned()),
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{NS_SOAP}" xmlns:tax="{NS_APPEAL}">
<soapenv:Header><wsse:Security soapenv:mustUnderstand="1" xmlns:wsse="{NS_WSSE}" xmlns:wsu="{NS_WSU}"><wsse:UsernameToken wsu:Id="UsernameToken-1"><wsse:Username>{user}</wsse:Username><wsse:Password Type="{pw_type}">{pw}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{nonce}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></soapenv:Header>
<soapenv:Body><tax:QueryAppeals><tax:StartTime>{start}</tax:StartTime><tax:EndTime>{end}</tax:EndTime><tax:PageNo>{page}</tax:PageNo><tax:PageSize>{size}</tax:PageSize></tax:QueryAppeals></soapenv:Body>
</soapenv:Envelope>"#,
        user = escape(&cfg.username),
        pw = escape(&pw),
        nonce = STANDARD.encode(nonce),
        start = start.to_rfc3339(),
        end = end.to_rfc3339(),
        size = cfg.page_size,
    )
}

pub(super) struct QueryResult {
    pub total: u32,
    pub items: Vec<Inbound>,
}

pub(super) enum ResponseError {
    Fault { code: String, message: String },
    Invalid(String),
}

pub(super) fn parse_response(body: &[u8]) -> Result<QueryResult, ResponseError> {
    let text = std::str::from_utf8(body).map_err(|e| ResponseError::Invalid(format!("the SOAP response is not UTF-8: {e}")))?;
    if !text.contains("Envelope") {
        return Err(ResponseError::Invalid("the response is not a SOAP envelope".into()));
    }
    if let Some(code) = first_text(text, "faultcode") {
        let message = first_text(text, "faultstring").unwrap_or_default();
        return Err(ResponseError::Fault {
            code: code.trim().to_owned(),
            message,
        });
    }
    let head = text.split("<Appeals").next().unwrap_or(text);
    let total = first_text(head, "Total")
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| ResponseError::Invalid("QueryAppealsResponse has no numeric <Total>".into()))?;
    let records = split_elements(body, "Appeal").map_err(ResponseError::Invalid)?;
    let items = records
        .into_iter()
        .map(|raw| {
            let s = String::from_utf8_lossy(raw);
            match map_record(&s) {
                Ok(a) => Inbound::Appeal(Box::new(a)),
                Err(reason) => Inbound::Rejected(Rejected {
                    occurrence: None,
                    channel: Channel::Tax12366,
                    source_id: first_text(&s, "AppealNo"),
                    raw: raw.to_vec(),
                    reason,
                }),
            }
        })
        .collect();
    Ok(QueryResult { total, items })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Appeal {
    appeal_no: Option<String>,
    accept_time: Option<String>,
    caller_name: Option<String>,
    caller_phone: Option<String>,
    subject: Option<String>,
    content: Option<String>,
    business_type: Option<String>,
    region: Option<String>,
}

/// Maps one `<Appeal>` element.
pub fn map_record(raw: &str) -> Result<RawAppeal, String> {
    let a: Appeal = quick_xml::de::from_str(raw).map_err(|e| format!("the <Appeal> element is not well-formed XML: {e}"))?;
    let id = a
        .appeal_no
        .filter(|s| !s.trim().is_empty())
        .ok_or("element <AppealNo> is missing")?;
    let at = a.accept_time.ok_or("element <AcceptTime> is missing")?;
    let received_at = DateTime::parse_from_rfc3339(at.trim())
        .map_err(|e| format!("element <AcceptTime>: `{at}` is not an xs:dateTime with offset: {e}"))?;
    let content = a
        .content
        .filter(|s| !s.trim().is_empty())
        .ok_or("element <Content> is missing or empty")?;
    Ok(RawAppeal {
        occurrence: None,
        channel: Channel::Tax12366,
        source_id: id.trim().to_owned(),
        version: 0,
        received_at,
        title: a.subject,
        content,
        contact: Contact {
            name: a.caller_name,
            phone: a.caller_phone,
            openid: None,
            anonymous: false,
        },
        location: a.region,
        coordinates: None,
        appeal_type_code: None,
        category_code: a.business_type,
        attachments: Vec::new(),
        raw: raw.to_owned(),
        accepted_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_the_profile_example() {
        // From the OASIS UsernameToken profile: nonce, created and password.
        let nonce = STANDARD.decode("LKqI6G/AikKCQrN0zqZFlg==").unwrap();
        let d = password_digest(&nonce, "2010-09-16T07:50:45Z", "userpassword");
        assert_eq!(d, "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
    }

    #[test]
    fn parses_appeals_and_faults() {
        let ok = format!(
            r#"<soapenv:Envelope xmlns:soapenv="{NS_SOAP}"><soapenv:Body><QueryAppealsResponse xmlns="{NS_APPEAL}"><Total>2</Total><PageNo>1</PageNo><Appeals>
<Appeal><AppealNo>NS1</AppealNo><AcceptTime>2026-06-01T09:00:00+08:00</AcceptTime><CallerName>刘勇</CallerName><CallerPhone>13312345678</CallerPhone><Subject>发票</Subject><Content>咨询增值税发票</Content><BusinessType>发票</BusinessType><Region>大冶市</Region></Appeal>
<Appeal><AppealNo>NS2</AppealNo><AcceptTime>2026-06-01T09:00:00+08:00</AcceptTime></Appeal>
</Appeals></QueryAppealsResponse></soapenv:Body></soapenv:Envelope>"#
        );
        let Ok(r) = parse_response(ok.as_bytes()) else {
            panic!("should parse")
        };
        assert_eq!(r.total, 2);
        assert!(matches!(&r.items[0], Inbound::Appeal(a) if a.source_id == "NS1" && a.contact.phone.as_deref() == Some("13312345678")));
        assert!(matches!(&r.items[1], Inbound::Rejected(x) if x.reason.contains("<Content>")));
        let fault = format!(
            r#"<soapenv:Envelope xmlns:soapenv="{NS_SOAP}"><soapenv:Body><soapenv:Fault><faultcode>wsse:FailedAuthentication</faultcode><faultstring>认证失败</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#
        );
        let Err(ResponseError::Fault { code, message }) = parse_response(fault.as_bytes()) else {
            panic!("should be a fault")
        };
        assert_eq!((code.as_str(), message.as_str()), ("wsse:FailedAuthentication", "认证失败"));
    }
}

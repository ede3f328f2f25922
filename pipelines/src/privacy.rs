//! Personal data out of everything that leaves the workflow store.
//!
//! The workflow store keeps a citizen's name, phone and words as written,
//! because the return visit needs them. Everything else (the warehouse, the
//! `tickets.warehouse` queue that feeds it, logs, reports) gets text from a
//! [`Masker`], which replaces what identifies a person inside free text with
//! a label saying what was there:
//!
//! | what | recognised as | replaced by |
//! | --- | --- | --- |
//! | mobile | `1[3-9]` + 9 digits, with `+86`/`86`/`0086`, spaces or hyphens | `[手机号]` |
//! | landline | `0` + area code + 7–8 digits (`0714-8765432`, `(0714)8765432`); 7–8 digits after a phone cue (电话, 座机…) | `[电话]` |
//! | ID number | 17 digits + a digit or X (18 in all) | `[身份证号]` |
//! | bank card | 16–19 digits passing the Luhn check, or after a card cue (卡号, 账号…) | `[银行卡号]` |
//! | plate | a province's character, a letter, 5–6 letters or digits (`鄂B12345`, `鄂BD12345`), when `privacy.mask_plates` | `[车牌]` |
//! | name | 2–3 characters after 联系人, 姓名, 我叫, 本人叫, or 户主 followed by a colon | `[姓名]` |
//!
//! Labels rather than partial masks (`138****5678`): seven of a mobile's
//! eleven digits narrow it to 10⁴ numbers, which a keyed hash beside it
//! would let anyone holding the key enumerate. Analysts need to know that a
//! number was given, not which.
//!
//! Most texts hold fewer than seven digits, no name cue and no plate: those
//! are returned borrowed after one pass over their bytes.

use crate::ticket::{EventPayload, Ticket, TicketEvent};
use std::borrow::Cow;
use std::sync::Arc;

pub const MOBILE: &str = "[手机号]";
pub const LANDLINE: &str = "[电话]";
pub const ID_NUMBER: &str = "[身份证号]";
pub const BANK_CARD: &str = "[银行卡号]";
pub const PLATE: &str = "[车牌]";
pub const NAME: &str = "[姓名]";

/// `[privacy]`: what is masked besides phones, ID and card numbers and names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySettings {
    /// Mask vehicle plates (`鄂B12345`) in free text. On by default: a plate
    /// names its owner as surely as a phone does.
    #[serde(default = "yes")]
    pub mask_plates: bool,
}

fn yes() -> bool {
    true
}

impl Default for PrivacySettings {
    fn default() -> Self {
        PrivacySettings { mask_plates: true }
    }
}

/// Masks personal data inside free text; cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Masker {
    plates: bool,
}

impl Default for Masker {
    fn default() -> Self {
        Masker::new(&PrivacySettings::default())
    }
}

/// Words before a name.
const NAME_CUES: [&str; 5] = ["联系人", "姓名", "我叫", "本人叫", "户主"];
/// Words that end a name taken after a cue (the cues themselves too:
/// 联系人姓名：张三).
const NAME_STOPS: [&str; 22] = [
    "电话", "手机", "联系", "身份", "家住", "住在", "反映", "投诉", "先生", "女士", "性别", "今天", "昨天", "现在", "说", "在", "的", "是",
    "和", "姓名", "我叫", "户主",
];
/// Words shortly before a number that make a short run a phone.
const PHONE_CUES: [&str; 7] = ["电话", "座机", "手机", "号码", "联系", "tel", "TEL"];
/// Words shortly before a number that make a long run a card.
const CARD_CUES: [&str; 4] = ["卡号", "银行卡", "账号", "帐号"];
/// The provinces' one-character abbreviations that open a plate.
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

impl Masker {
    pub fn new(settings: &PrivacySettings) -> Self {
        Masker {
            plates: settings.mask_plates,
        }
    }

    /// `s` with personal data replaced by labels; borrowed when there is none.
    pub fn mask<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let b = s.as_bytes();
        // Full-width digits (０-９, UTF-8 EF BC 90-99), as staff type them in
        // replies that no NFKC pass has seen: read as ASCII digits first.
        if b.windows(3).any(|w| w[0] == 0xef && w[1] == 0xbc && (0x90..=0x99).contains(&w[2])) {
            let ascii: String = s
                .chars()
                .map(|c| match c {
                    '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
                    _ => c,
                })
                .collect();
            return Cow::Owned(self.mask(&ascii).into_owned());
        }
        let numbers = b.iter().filter(|c| c.is_ascii_digit()).count() >= 7;
        let plates = self.plates && b.iter().any(u8::is_ascii_alphabetic) && s.chars().any(|c| PROVINCES.contains(c));
        let names = NAME_CUES.iter().any(|c| s.contains(c));
        if !(numbers || plates || names) {
            return Cow::Borrowed(s);
        }
        let mut out = Out::new(s);
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            let starts_number = c.is_ascii_digit() || (c == b'+' && b.get(i + 1).is_some_and(u8::is_ascii_digit));
            if numbers && starts_number && (i == 0 || !b[i - 1].is_ascii_digit()) {
                i = numbers_at(s, i, &mut out);
                continue;
            }
            if c >= 0x80 {
                let found = if plates { plate_at(s, i) } else { None }
                    .map(|end| (i, end, PLATE))
                    .or_else(|| if names { name_at(s, i) } else { None });
                if let Some((start, end, label)) = found {
                    out.replace(start, end, label);
                    i = end;
                    continue;
                }
            }
            i += utf8_len(c);
        }
        out.finish()
    }

    /// Whether `e` holds anything [`Masker::event_for_analysis`] would
    /// change: a contact, or personal data in a text. Scans without copying.
    pub fn needs_masking(&self, e: &TicketEvent) -> bool {
        let owned = |s: &str| matches!(self.mask(s), Cow::Owned(_));
        let opt = |s: &Option<String>| s.as_deref().is_some_and(owned);
        match &*e.payload {
            EventPayload::Received { ticket: t } => {
                t.contact_name.is_some()
                    || t.contact_phone.is_some()
                    || t.phone_masked.is_some()
                    || owned(&t.content)
                    || opt(&t.title)
                    || opt(&t.location)
                    || t.triage.as_ref().is_some_and(|d| owned(&d.reason) || opt(&d.reply))
            }
            EventPayload::Updated { title, content, .. } => owned(content) || opt(title),
            EventPayload::Triaged { decision: d, .. } => owned(&d.reason) || opt(&d.reply),
            EventPayload::Workflow { action, .. } => **action != self.action(action),
            _ => false,
        }
    }

    /// The event as the warehouse may hold it: no contact name or phone, no
    /// masked phone, and personal data masked in every free-text field.
    pub fn event_for_analysis(&self, e: &TicketEvent) -> TicketEvent {
        let payload = match &*e.payload {
            EventPayload::Received { ticket } => EventPayload::Received {
                ticket: Box::new(self.ticket_for_analysis(ticket)),
            },
            EventPayload::Updated { .. } => {
                let edit = e.edit().expect("an updated event carries an edit");
                EventPayload::Updated {
                    version: edit.version,
                    title: edit.title.map(|t| self.mask(t).into_owned()),
                    content: self.mask(edit.content).into_owned(),
                    content_truncated: edit.content_truncated,
                    text_hash: edit.text_hash.to_owned(),
                }
            }
            EventPayload::Workflow {
                action,
                actor,
                from,
                order,
            } => EventPayload::Workflow {
                action: Box::new(self.action(action)),
                actor: actor.clone(),
                from: *from,
                order: order.clone(),
            },
            EventPayload::Triaged { decision, order } => EventPayload::Triaged {
                decision: Box::new(self.decision(decision)),
                order: order.clone(),
            },
            // Made by minqing from ids, counts and rule names: nothing a
            // citizen wrote.
            EventPayload::DuplicateLinked { .. }
            | EventPayload::Overdue { .. }
            | EventPayload::Supervision { .. }
            | EventPayload::Escalated { .. }
            | EventPayload::ClustersMerged { .. } => return e.clone(),
        };
        TicketEvent {
            payload: Arc::new(payload),
            ..e.clone()
        }
    }

    fn ticket_for_analysis(&self, t: &Ticket) -> Ticket {
        Ticket {
            title: t.title.as_deref().map(|s| self.mask(s).into_owned()),
            content: self.mask(&t.content).into_owned(),
            location: t.location.as_deref().map(|s| self.mask(s).into_owned()),
            contact_name: None,
            contact_phone: None,
            phone_masked: None,
            triage: t.triage.as_ref().map(|d| self.decision(d)),
            ..t.clone()
        }
    }

    fn decision(&self, d: &crate::ticket::decision::Decision) -> crate::ticket::decision::Decision {
        crate::ticket::decision::Decision {
            reason: self.mask(&d.reason).into_owned(),
            reply: d.reply.as_deref().map(|r| self.mask(r).into_owned()),
            ..d.clone()
        }
    }

    fn action(&self, a: &crate::ticket::order::Action) -> crate::ticket::order::Action {
        use crate::ticket::order::Action;
        let m = |s: &String| self.mask(s).into_owned();
        match a {
            Action::Return { reason } => Action::Return { reason: m(reason) },
            Action::Reply { text } => Action::Reply { text: m(text) },
            Action::OnAccount { plan, target } => Action::OnAccount {
                plan: m(plan),
                target: *target,
            },
            Action::RequestExtension { workdays, reason } => Action::RequestExtension {
                workdays: *workdays,
                reason: m(reason),
            },
            Action::RequestDeduction { reason, approved_by } => Action::RequestDeduction {
                reason: m(reason),
                approved_by: approved_by.clone(),
            },
            Action::DecideDeduction { approve, reason } => Action::DecideDeduction {
                approve: *approve,
                reason: m(reason),
            },
            // No free text: listed, so a text field added later fails to
            // compile here instead of passing unmasked.
            Action::Dispatch { .. } | Action::Sign | Action::GrantExtension { .. } | Action::Visit { .. } | Action::Close => a.clone(),
        }
    }
}

/// The output, copied only from the first replacement on.
struct Out<'a> {
    src: &'a str,
    buf: Option<String>,
    copied: usize,
}

impl<'a> Out<'a> {
    fn new(src: &'a str) -> Self {
        Out { src, buf: None, copied: 0 }
    }

    fn replace(&mut self, start: usize, end: usize, label: &str) {
        let buf = self.buf.get_or_insert_with(|| String::with_capacity(self.src.len()));
        buf.push_str(&self.src[self.copied..start]);
        buf.push_str(label);
        self.copied = end;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.buf {
            None => Cow::Borrowed(self.src),
            Some(mut b) => {
                b.push_str(&self.src[self.copied..]);
                Cow::Owned(b)
            }
        }
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0..0x80 => 1,
        0xe0..0xf0 => 3,
        0xf0.. => 4,
        _ => 2,
    }
}

/// A run of digits; `x` when an `X` ends it (an ID number's check digit).
#[derive(Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
    x: bool,
}

/// Masks the numbers in the run of digit groups at `i` (single spaces,
/// hyphens or a closing parenthesis between groups, as people write
/// `138 1234 5678` or `(0714)8765432`); returns where the run ends.
fn numbers_at(s: &str, i: usize, out: &mut Out<'_>) -> usize {
    let b = s.as_bytes();
    let plus = b[i] == b'+';
    let mut groups: Vec<Group> = Vec::with_capacity(4);
    let mut p = if plus { i + 1 } else { i };
    loop {
        let start = p;
        while p < b.len() && b[p].is_ascii_digit() {
            p += 1;
        }
        let x = matches!(b.get(p), Some(b'X' | b'x')) && !b.get(p + 1).is_some_and(u8::is_ascii_alphanumeric);
        groups.push(Group {
            start,
            end: p + usize::from(x),
            x,
        });
        // One separator: a space, a hyphen (also the em dash and the
        // full-width hyphen people type in Chinese text) or a closing
        // parenthesis, then a digit.
        let sep_len = if x {
            0
        } else if matches!(b.get(p), Some(b' ' | b'-' | b')')) {
            1
        } else if s[p..].starts_with(['—', '－', '）']) {
            3
        } else {
            0
        };
        if sep_len == 0 || !b.get(p + sep_len).is_some_and(u8::is_ascii_digit) || groups.len() == 8 {
            break;
        }
        p += sep_len;
    }
    let before = &s[floor_boundary(s, i.saturating_sub(15))..i];
    let phone_cue = PHONE_CUES.iter().any(|c| before.contains(c));
    let card_cue = CARD_CUES.iter().any(|c| before.contains(c));
    // An opening parenthesis just before belongs to an area code.
    let open = if i > 0 && b[i - 1] == b'(' { i - 1 } else { i };
    let mut g = 0;
    while g < groups.len() {
        let found = (g + 1..=groups.len()).rev().find_map(|e| {
            let digits: Vec<u8> = groups[g..e]
                .iter()
                .flat_map(|gr| &b[gr.start..gr.end - usize::from(gr.x)])
                .copied()
                .collect();
            // A short number after a cue counts as a phone only when it is
            // written in one piece: 联系时间2026-06-01 is a date.
            classify(&digits, groups[e - 1].x, phone_cue && e - g == 1, card_cue).map(|label| (e, label))
        });
        match found {
            Some((e, label)) => {
                let start = if g == 0 { if plus { i } else { open } } else { groups[g].start };
                out.replace(start, groups[e - 1].end, label);
                g = e;
            }
            None => g += 1,
        }
    }
    groups.last().map_or(i + 1, |gr| gr.end.max(i + 1))
}

/// What a number is, from its digits alone (and an `X` check digit).
fn classify(d: &[u8], x: bool, phone_cue: bool, card_cue: bool) -> Option<&'static str> {
    let mobile = |d: &[u8]| d.len() == 11 && d[0] == b'1' && (b'3'..=b'9').contains(&d[1]);
    let n = d.len();
    if x {
        return (n == 17).then_some(ID_NUMBER);
    }
    if mobile(d) || (n == 13 && d.starts_with(b"86") && mobile(&d[2..])) || (n == 15 && d.starts_with(b"0086") && mobile(&d[4..])) {
        return Some(MOBILE);
    }
    // Eighteen digits are an ID number unless a card was named: cards
    // mostly have 16 or 19.
    if n == 18 && !card_cue {
        return Some(ID_NUMBER);
    }
    // Card numbers start with their network's digit (62 UnionPay, 4 Visa…),
    // never 0; a run of zeros passes the Luhn check.
    if (16..=19).contains(&n) && d[0] != b'0' && (card_cue || luhn(d)) {
        return Some(BANK_CARD);
    }
    if d[0] == b'0' && d.get(1).is_some_and(|c| *c != b'0') && (10..=12).contains(&n) {
        return Some(LANDLINE);
    }
    if phone_cue && (7..=8).contains(&n) && d[0] != b'0' && d[0] != b'1' {
        return Some(LANDLINE);
    }
    None
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(k, c)| {
            let v = u32::from(c - b'0');
            if k % 2 == 1 { if v * 2 > 9 { v * 2 - 9 } else { v * 2 } } else { v }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A plate at `i`: the province's character, a letter, an optional dot or
/// space, then 5 or 6 letters or digits with at least one digit.
fn plate_at(s: &str, i: usize) -> Option<usize> {
    let c = s[i..].chars().next()?;
    if !PROVINCES.contains(c) {
        return None;
    }
    let b = s.as_bytes();
    let mut p = i + c.len_utf8();
    if !b.get(p)?.is_ascii_alphabetic() {
        return None;
    }
    p += 1;
    if s[p..].starts_with('·') {
        p += '·'.len_utf8();
    } else if matches!(b.get(p), Some(b' ' | b'-')) {
        p += 1;
    }
    let tail = b[p..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    let digits = b[p..p + tail].iter().any(u8::is_ascii_digit);
    ((5..=6).contains(&tail) && digits).then_some(p + tail)
}

/// A name after a cue at `i`: returns the span of the name alone.
fn name_at(s: &str, i: usize) -> Option<(usize, usize, &'static str)> {
    let cue = NAME_CUES.iter().find(|c| s[i..].starts_with(*c))?;
    let mut p = i + cue.len();
    // 户主 is as often a common noun (户主会, 户主签字) as a label: only
    // 户主：张三 names someone.
    if *cue == "户主" && !s[p..].starts_with([':', '：']) {
        return None;
    }
    while let Some(c) = s[p..].chars().next().filter(|c| matches!(c, ':' | '：' | ' ' | '是' | '为')) {
        p += c.len_utf8();
    }
    let start = p;
    // Ends of a 1-, 2- and 3-character name, as far as Han characters go.
    let mut ends = Vec::with_capacity(3);
    while ends.len() < 3 {
        if NAME_STOPS.iter().any(|w| s[p..].starts_with(w)) {
            break;
        }
        match s[p..].chars().next() {
            Some(c) if is_han(c) => {
                p += c.len_utf8();
                ends.push(p);
            }
            _ => break,
        }
    }
    // The longest name of 2 or 3 characters that ends at punctuation, a
    // digit or a word that follows names: 张三 in 联系人张三说…; nothing in
    // 我叫了物业来修.
    let ends_well = |e: usize| match s[e..].chars().next() {
        Some(c) if is_han(c) => NAME_STOPS.iter().any(|w| s[e..].starts_with(w)),
        _ => true,
    };
    ends.iter().skip(1).rev().find(|e| ends_well(**e)).map(|e| (start, *e, NAME))
}

/// The last character boundary of `s` at or before byte `k` (std's
/// `floor_char_boundary` is newer than the workspace's rust-version).
pub(crate) fn floor_boundary(s: &str, k: usize) -> usize {
    let mut k = k.min(s.len());
    while !s.is_char_boundary(k) {
        k -= 1;
    }
    k
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

#[cfg(test)]
mod tests;

//! Text cleaning: HTML, NFKC, control characters, whitespace, length cap;
//! the duplicate-comparison key; and redaction of phones and ID numbers.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;

/// Cleans `s` and caps it at `max_chars` characters. Returns the text and
/// whether it was cut.
pub fn clean(s: &str, max_chars: usize) -> (String, bool) {
    let unhtml = if looks_like_html(s) {
        Cow::Owned(strip_html(s))
    } else {
        Cow::Borrowed(s)
    };
    let mut out = String::with_capacity(unhtml.len());
    // Most appeals hold only characters NFKC maps one to one and that never
    // combine with a neighbour; those skip the decompose-and-compose pass.
    // One pass for them; the first other character starts NFKC over.
    let mut simple = true;
    squeeze(
        unhtml.chars().map_while(|c| {
            let m = nfkc_simple(c);
            simple &= m.is_some();
            m
        }),
        &mut out,
    );
    if !simple {
        out.clear();
        squeeze(unhtml.nfkc(), &mut out);
    }
    match out.char_indices().nth(max_chars) {
        Some((cut, _)) => {
            out.truncate(cut);
            (out, true)
        }
        None => (out, false),
    }
}

/// Appends `chars` to `out`, each run of spaces and control characters as
/// one space (none at the start), so words do not run together.
fn squeeze(chars: impl Iterator<Item = char>, out: &mut String) {
    let mut space = false;
    for c in chars {
        if c.is_whitespace() || c.is_control() || c == '\u{200b}' || c == '\u{feff}' {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
}

/// NFKC of `c` when that is one character that no neighbour can combine
/// with: ASCII, CJK ideographs and punctuation, and the fullwidth forms of
/// ASCII (which NFKC maps to ASCII). `None` for anything else.
fn nfkc_simple(c: char) -> Option<char> {
    match c {
        '\u{20}'..='\u{7e}' | '\t' | '\n' | '\r' => Some(c),
        // CJK Unified Ideographs; the compatibility ideographs are not here.
        '\u{4e00}'..='\u{9fff}' => Some(c),
        // 、。〈〉《》「」『』【】〔〕〖〗〘〙〚〛 and ‘’“”—.
        '\u{3001}' | '\u{3002}' | '\u{3008}'..='\u{3011}' | '\u{3014}'..='\u{301b}' => Some(c),
        '\u{2018}' | '\u{2019}' | '\u{201c}' | '\u{201d}' | '\u{2014}' => Some(c),
        // · × 〇 ○, common in addresses and sizes.
        '\u{b7}' | '\u{d7}' | '\u{3007}' | '\u{25cb}' => Some(c),
        '\u{3000}' => Some(' '),
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xff01 + 0x21),
        _ => None,
    }
}

fn looks_like_html(s: &str) -> bool {
    s.contains('&')
        || s.as_bytes()
            .windows(2)
            .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

/// Drops tags (block tags become a space) and decodes entities.
fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            let is_tag = rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!');
            match rest.find('>') {
                Some(end) if is_tag => {
                    out.push(' ');
                    rest = &rest[end + 1..];
                }
                _ => {
                    out.push('<');
                    rest = &rest[1..];
                }
            }
        } else {
            // Bytes, not a str slice: 12 bytes can end inside a character
            // (`&isPre=1）。` once panicked intake); `;` is ASCII, so where
            // it is found is a character boundary.
            let end = rest.as_bytes()[..rest.len().min(12)].iter().position(|b| *b == b';');
            let decoded = end.and_then(|e| entity(&rest[1..e]).map(|c| (c, e)));
            match decoded {
                Some((c, e)) => {
                    out.push(c);
                    rest = &rest[e + 1..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ldquo" => '“',
        "rdquo" => '”',
        "hellip" => '…',
        "mdash" => '—',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?
        }
    })
}

/// The key under which two texts count as the same: letters and digits only,
/// lowercased, hashed. Punctuation and spacing differences do not matter.
pub fn dedup_hash(clean_text: &str) -> String {
    // Gathered first and hashed in one call: a hash update per character
    // cost more than the hashing. ASCII and the common CJK ideographs skip
    // the Unicode tables (the same answer, without the lookups).
    let mut key = String::with_capacity(clean_text.len());
    for c in clean_text.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                key.push(c.to_ascii_lowercase());
            }
        } else if ('\u{4e00}'..='\u{9fff}').contains(&c) {
            key.push(c);
        } else if c.is_alphanumeric() {
            key.extend(c.to_lowercase());
        }
    }
    hex::encode(&Sha256::digest(key.as_bytes())[..16])
}

/// Masks personal data inside free text (phones, ID and card numbers,
/// plates, names after a cue) for logs; see [`crate::privacy`].
pub fn redact(s: &str) -> String {
    crate::privacy::Masker::default().mask(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path must give exactly what NFKC gives: every character it
    /// takes, alone and next to every other kind it takes.
    #[test]
    fn the_simple_path_is_nfkc() {
        let all: Vec<char> = (0..=0x10ffff_u32)
            .filter_map(char::from_u32)
            .filter(|c| nfkc_simple(*c).is_some())
            .collect();
        for &c in &all {
            let nfkc: String = c.to_string().nfkc().collect();
            assert_eq!(nfkc, nfkc_simple(c).unwrap().to_string(), "U+{:04X}", c as u32);
        }
        let samples = [
            'a', 'E', '1', ' ', '\n', '中', '\u{9fff}', '。', '【', '“', '—', '\u{3000}', '，', 'Ａ', '～',
        ];
        for a in samples {
            for &b in &all {
                let s: String = [a, b, a].iter().collect();
                let nfkc: String = s.nfkc().collect();
                let fast: String = s.chars().filter_map(nfkc_simple).collect();
                assert_eq!(nfkc, fast, "{s:?}");
            }
        }
        // A combining mark is not simple: the whole text takes NFKC.
        assert_eq!(clean("cafe\u{301}，好", 100).0, "café,好");
    }

    #[test]
    fn cleans_html_width_controls_and_space() {
        let (t, cut) = clean("<p>路灯&nbsp;坏了</p><br/>ＡＢＣ１２３\u{0007}  \t 请&amp;尽快", 100);
        assert_eq!(t, "路灯 坏了 ABC123 请&尽快");
        assert!(!cut);
        assert_eq!(clean("a < b 且 3<5 &x", 100).0, "a < b 且 3<5 &x");
    }

    /// An ampersand before multi-byte text, as in a pasted URL's query.
    #[test]
    fn an_ampersand_before_chinese_text_is_kept() {
        for s in ["&isPre=1）。对此本人坚决反对", "A&B公司", "&。", "&#x4e2d"] {
            let (t, _) = clean(s, 100);
            assert!(t.contains('&'), "{s} -> {t}");
        }
        assert_eq!(clean("&amp;中文&lt;", 100).0, "&中文<");
    }

    #[test]
    fn caps_length_in_characters() {
        let (t, cut) = clean(&"路".repeat(10), 4);
        assert_eq!((t.as_str(), cut), ("路路路路", true));
    }

    #[test]
    fn dedup_hash_ignores_punctuation_case_and_width() {
        let a = dedup_hash(&clean("路灯坏了，请尽快维修！ABC", 999).0);
        let b = dedup_hash(&clean("路灯坏了 请尽快维修 ａｂｃ", 999).0);
        assert_eq!(a, b);
        assert_ne!(a, dedup_hash("路灯好了"));
    }

    /// Stored tickets keep their `text_hash`, and duplicates are found by
    /// it across restarts: the key must never change. This is the first
    /// implementation, hashed a character at a time.
    fn dedup_hash_reference(clean_text: &str) -> String {
        let mut h = Sha256::new();
        let mut buf = [0u8; 4];
        for c in clean_text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase) {
            h.update(c.encode_utf8(&mut buf).as_bytes());
        }
        hex::encode(&h.finalize()[..16])
    }

    #[test]
    fn dedup_hash_is_the_key_stored_tickets_carry() {
        for t in [
            "",
            "路灯坏了，请尽快维修！ABC 123",
            "ΣΊΣΥΦΟΣ İstanbul ǅemal Straße ﬁ",
            "一丁〇㐀𠀀 鿿 ꀀ ①②③ ⅫⅣ ٣٤ ＡＢＣ１２３",
            "emoji 😀 and \u{301}combining é, tabs\tand\nnewlines",
            "十二三四五六七八九十、。．·～",
        ] {
            assert_eq!(dedup_hash(t), dedup_hash_reference(t), "{t}");
        }
        // Pinned: SHA-256 of "路灯坏了abc", first 16 bytes.
        assert_eq!(dedup_hash("路灯坏了ABC"), "7272f9ecb219c6680b95402f84945efb");
    }

    #[test]
    fn redacts_mobiles_and_id_numbers_only() {
        assert_eq!(
            redact("电话13812345678，身份证42028119900101123X"),
            "电话[手机号]，身份证[身份证号]"
        );
        assert_eq!(redact("编号202606010000001"), "编号202606010000001");
        assert_eq!(redact("共12户"), "共12户");
    }
}

//! Phone numbers: mainland mobiles with or without +86, Huangshi landlines
//! (area code 0714, the default for a bare local number) and other area codes.

use unicode_normalization::UnicodeNormalization;

/// A normalized number: `13812345678` or `0714-1234567`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(pub String);

impl Phone {
    /// `138****5678`, `0714-***4567`.
    pub fn masked(&self) -> String {
        let s = &self.0;
        match s.split_once('-') {
            Some((area, local)) => {
                let keep = local.len().saturating_sub(4);
                format!("{area}-{}{}", "*".repeat(keep), &local[keep..])
            }
            None if s.len() == 11 => format!("{}****{}", &s[..3], &s[7..]),
            None => "*".repeat(s.len()),
        }
    }
}

/// Normalizes a phone as written by a channel; `None` if it is not a number
/// we can call back.
pub fn normalize(raw: &str, default_area: &str) -> Option<Phone> {
    let s: String = raw
        .nfkc()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '（' | '）' | '.' | '\u{3000}'))
        .collect();
    let s = s.strip_prefix('+').unwrap_or(&s);
    if !s.chars().all(|c| c.is_ascii_digit()) || s.is_empty() {
        return None;
    }
    let national = if let Some(rest) = s.strip_prefix("0086") {
        rest.to_owned()
    } else if s.len() == 13 && s.starts_with("861") {
        s[2..].to_owned()
    } else if s.starts_with("86") && s.len() >= 11 && !s.starts_with("861") {
        // +86 714 1234567: an area code without its trunk 0.
        format!("0{}", &s[2..])
    } else {
        s.to_owned()
    };
    let n = national.as_str();
    if n.len() == 11 && n.starts_with('1') && matches!(n.as_bytes()[1], b'3'..=b'9') {
        return Some(Phone(n.to_owned()));
    }
    if let Some(rest) = n.strip_prefix('0') {
        // Two-digit area codes are 010 and 02x; the rest have three digits.
        let area_len = if rest.starts_with('1') || rest.starts_with('2') { 2 } else { 3 };
        if rest.len() > area_len + 6 && rest.len() <= area_len + 8 {
            return Some(Phone(format!("0{}-{}", &rest[..area_len], &rest[area_len..])));
        }
        return None;
    }
    if (7..=8).contains(&n.len()) && !n.starts_with('1') {
        return Some(Phone(format!("{default_area}-{n}")));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Option<String> {
        normalize(s, "0714").map(|p| p.0)
    }

    #[test]
    fn mobiles_in_every_shape() {
        for s in [
            "13812345678",
            "+86 138 1234 5678",
            "86-13812345678",
            "008613812345678",
            "１３８１２３４５６７８",
            "138-1234-5678",
        ] {
            assert_eq!(n(s).as_deref(), Some("13812345678"), "{s}");
        }
    }

    #[test]
    fn landlines_default_to_huangshi() {
        for s in ["0714-8765432", "(0714)8765432", "07148765432", "8765432", "+86 714 8765432"] {
            assert_eq!(n(s).as_deref(), Some("0714-8765432"), "{s}");
        }
        assert_eq!(n("027-87654321").as_deref(), Some("027-87654321"));
        assert_eq!(n("010 12345678").as_deref(), Some("010-12345678"));
    }

    #[test]
    fn rejects_what_cannot_be_called() {
        for s in ["", "12345", "abc", "1381234567", "23812345678", "110"] {
            assert_eq!(n(s), None, "{s}");
        }
    }

    #[test]
    fn masks() {
        assert_eq!(Phone("13812345678".into()).masked(), "138****5678");
        assert_eq!(Phone("0714-8765432".into()).masked(), "0714-***5432");
    }
}

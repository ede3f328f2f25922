//! XML helpers for the XML channels: split a document into its record
//! elements so that one broken record goes to quarantine while its page
//! neighbours go on, and write CDATA safely.

/// Finds every `<tag>…</tag>` element in `doc` and returns their byte ranges,
/// skipping CDATA sections and comments so that markup-like text inside them
/// does not count. Works on any ASCII-compatible encoding (UTF-8, GBK), since
/// `<` never occurs inside a multi-byte character there. Elements named `tag`
/// must not nest.
pub fn split_elements<'a>(doc: &'a [u8], tag: &str) -> Result<Vec<&'a [u8]>, String> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut i = 0;
    let mut start: Option<usize> = None;
    while i < doc.len() {
        let rest = &doc[i..];
        if rest.starts_with(b"<![CDATA[") {
            i += find(rest, b"]]>").ok_or("a CDATA section is not closed")? + 3;
        } else if rest.starts_with(b"<!--") {
            i += find(rest, b"-->").ok_or("a comment is not closed")? + 3;
        } else if start.is_none()
            && rest.starts_with(open.as_bytes())
            && matches!(rest.get(open.len()), Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/'))
        {
            start = Some(i);
            i += open.len();
        } else if let Some(s) = start.filter(|_| rest.starts_with(close.as_bytes())) {
            i += close.len();
            out.push(&doc[s..i]);
            start = None;
        } else {
            i += 1;
        }
    }
    if start.is_some() {
        return Err(format!("a <{tag}> element is not closed"));
    }
    Ok(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Wraps `s` in CDATA, splitting any `]]>` inside it.
pub fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// Escapes text for an element body or attribute.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// The text of the first `<tag>` element of a small document, unescaped.
pub fn first_text(doc: &str, tag: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut inside = false;
    let mut text = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == tag.as_bytes() => inside = true,
            Event::End(e) if inside && e.local_name().as_ref() == tag.as_bytes() => return Some(text),
            Event::Text(t) if inside => text.push_str(&t.decode().ok()?),
            Event::GeneralRef(r) if inside => {
                let name = r.decode().ok()?;
                text.push_str(&quick_xml::escape::unescape(&format!("&{name};")).ok()?);
            }
            Event::CData(c) if inside => text.push_str(std::str::from_utf8(&c).ok()?),
            Event::Eof => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_records_and_ignores_markup_in_cdata() {
        let doc = b"<r><clues><clue><c><![CDATA[</clue> <clue>]]></c></clue><!-- <clue> --><clue id=\"2\">x</clue></clues></r>";
        let parts = split_elements(doc, "clue").unwrap();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].ends_with(b"]]></c></clue>"));
        assert_eq!(parts[1], b"<clue id=\"2\">x</clue>");
        assert!(split_elements(b"<clue>", "clue").is_err());
        assert!(split_elements(b"<clues/>", "clue").unwrap().is_empty());
    }

    #[test]
    fn cdata_survives_its_terminator() {
        let s = cdata("a]]>b");
        assert_eq!(first_text(&format!("<x>{s}</x>"), "x").unwrap(), "a]]>b");
        assert_eq!(first_text("<x>a &amp; b</x>", "x").unwrap(), "a & b");
    }
}

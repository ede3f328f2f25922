//! Messages from a CSV with the columns of the 2020 Teddy Cup's message
//! board (`id,user,title,time,text,down_votes,up_votes`, in any order), for
//! `minqing hotspots --input`. A missing column or a broken row is an error
//! naming the column or the row; nothing is guessed.

use super::Message;
use chrono::{NaiveDate, NaiveDateTime};
use std::io::Read;

pub const COLUMNS: [&str; 7] = ["id", "user", "title", "time", "text", "down_votes", "up_votes"];

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("{path}: cannot read it: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: missing column(s) {missing}; a hotspot CSV has the columns {expected}")]
    Columns { path: String, missing: String, expected: String },
    #[error("{path}: {} broken row(s):\n  {}", .rows.len(), .rows.join("\n  "))]
    Rows { path: String, rows: Vec<String> },
    #[error("{path}: no messages")]
    Empty { path: String },
}

/// The times the board writes (`2019/2/28 11:25:05`) and ISO forms.
fn time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in [
        "%Y/%m/%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    ["%Y/%m/%d", "%Y-%m-%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Reads every message of `reader`; `path` names it in errors.
pub fn read(reader: impl Read, path: &str) -> Result<Vec<Message>, CsvError> {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = r.headers().map_err(|e| CsvError::Rows {
        path: path.into(),
        rows: vec![format!("header: {e}")],
    })?;
    let names: Vec<String> = headers
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
        .collect();
    let col = |c: &str| names.iter().position(|n| n == c);
    let missing: Vec<&str> = COLUMNS.iter().copied().filter(|c| col(c).is_none()).collect();
    if !missing.is_empty() {
        return Err(CsvError::Columns {
            path: path.into(),
            missing: missing.join(", "),
            expected: COLUMNS.join(","),
        });
    }
    let at: Vec<usize> = COLUMNS.iter().filter_map(|c| col(c)).collect();
    let mut out = Vec::new();
    let mut broken = Vec::new();
    for (n, rec) in r.records().enumerate() {
        // Line numbers as an editor shows them (the header is line 1), for
        // single-line records.
        let line = rec.as_ref().ok().and_then(|r| r.position()).map_or(n + 2, |p| p.line() as usize);
        match rec.map_err(|e| e.to_string()).and_then(|rec| message(&rec, &at)) {
            Ok(m) => out.push(m),
            Err(e) if broken.len() < 10 => broken.push(format!("row {} (line {line}): {e}", n + 1)),
            Err(_) => {}
        }
    }
    if !broken.is_empty() {
        return Err(CsvError::Rows {
            path: path.into(),
            rows: broken,
        });
    }
    if out.is_empty() {
        return Err(CsvError::Empty { path: path.into() });
    }
    Ok(out)
}

fn message(rec: &csv::StringRecord, at: &[usize]) -> Result<Message, String> {
    let get = |i: usize| rec.get(at[i]).map(str::trim).ok_or_else(|| format!("no `{}` field", COLUMNS[i]));
    let votes = |i: usize| -> Result<i64, String> {
        let v = get(i)?;
        if v.is_empty() {
            return Ok(0);
        }
        v.parse().map_err(|_| format!("`{}` is not a count: {v:?}", COLUMNS[i]))
    };
    let id = get(0)?;
    if id.is_empty() {
        return Err("empty `id`".into());
    }
    let when = get(3)?;
    Ok(Message {
        id: id.to_owned(),
        user: get(1)?.to_owned(),
        title: get(2)?.to_owned(),
        at: time(when).ok_or_else(|| format!("`time` is not a time: {when:?} (expected 2019/2/28 11:25:05)"))?,
        text: get(4)?.to_owned(),
        down_votes: votes(5)?,
        up_votes: votes(6)?,
        cluster: None,
        town: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_boards_columns_in_any_order() {
        let text = "\u{feff}id,title,user,time,text,up_votes,down_votes\n1,路灯,u1,2019/2/28 11:25:05,路灯坏了,3,0\n2,噪音,u2,2019-03-01,工地噪音,,1\n";
        let m = read(text.as_bytes(), "t.csv").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].user.as_str(), m[0].up_votes), ("u1", 3));
        assert_eq!(m[1].at.to_string(), "2019-03-01 00:00:00");
    }

    #[test]
    fn a_missing_column_or_broken_rows_are_named() {
        let e = read("id,user,title,text\n1,u,t,x\n".as_bytes(), "t.csv").unwrap_err();
        assert!(e.to_string().contains("missing column(s) time, down_votes, up_votes"), "{e}");
        let text = "id,user,title,time,text,down_votes,up_votes\n1,u,t,2019/2/28 11:25:05,x,0,0\n2,u,t,yesterday,x,0,0\n3,u,t,2019/2/28 11:25:05,x,0,many\n4,u\n";
        let e = read(text.as_bytes(), "t.csv").unwrap_err().to_string();
        assert!(e.contains("3 broken row(s)"), "{e}");
        assert!(e.contains("row 2 (line 3): `time` is not a time: \"yesterday\""), "{e}");
        assert!(e.contains("row 3 (line 4): `up_votes` is not a count"), "{e}");
        assert!(e.contains("row 4 (line 5): no `time` field"), "{e}");
        assert!(read("id,user,title,time,text,down_votes,up_votes\n".as_bytes(), "t.csv").is_err());
    }
}

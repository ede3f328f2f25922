//! Labelled CSV files: a `text` and a `label` column, and an optional
//! `title` column that is put in front of the text.

use super::ClassifyError;
use super::model::Example;
use std::path::Path;

pub fn read_csv(path: &Path) -> Result<Vec<Example>, ClassifyError> {
    read(open(path)?, &path.display().to_string())
}

/// Only the texts (title in front), for files without labels.
pub fn read_texts_csv(path: &Path) -> Result<Vec<String>, ClassifyError> {
    let rows = parse(open(path)?, &path.display().to_string(), false)?;
    Ok(rows.into_iter().map(|e| e.text).collect())
}

fn open(path: &Path) -> Result<std::fs::File, ClassifyError> {
    std::fs::File::open(path).map_err(|e| ClassifyError::Io(format!("opening {}: {e}", path.display())))
}

/// Reads examples from CSV; `origin` names the source in errors.
pub fn read(input: impl std::io::Read, origin: &str) -> Result<Vec<Example>, ClassifyError> {
    parse(input, origin, true)
}

fn parse(input: impl std::io::Read, origin: &str, need_label: bool) -> Result<Vec<Example>, ClassifyError> {
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers = r
        .headers()
        .map_err(|e| ClassifyError::Data(format!("{origin}: cannot read the header row: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == name);
    let missing = |name: &str| {
        ClassifyError::Data(format!(
            "{origin} has no `{name}` column (its columns: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        ))
    };
    let text = col("text").ok_or_else(|| missing("text"))?;
    let label = match col("label") {
        Some(i) => Some(i),
        None if need_label => return Err(missing("label")),
        None => None,
    };
    let title = col("title");
    let mut out = Vec::new();
    for (n, row) in r.records().enumerate() {
        // Header is line 1.
        let line = n + 2;
        let row = row.map_err(|e| ClassifyError::Data(format!("{origin}, record {line}: {e}")))?;
        let lbl = label.and_then(|i| row.get(i)).unwrap_or("").trim();
        if need_label && lbl.is_empty() {
            return Err(ClassifyError::Data(format!("{origin}, record {line}: the label is empty")));
        }
        let mut t = String::new();
        if let Some(h) = title.and_then(|i| row.get(i)).map(str::trim).filter(|h| !h.is_empty()) {
            t.push_str(h);
            t.push(' ');
        }
        t.push_str(row.get(text).unwrap_or(""));
        out.push(Example {
            text: t,
            label: lbl.to_owned(),
        });
    }
    if out.is_empty() {
        return Err(ClassifyError::Data(format!("{origin} holds no examples")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_goes_in_front_and_bad_files_say_why() {
        let csv = "id,title,text,label\n1,路灯不亮,小区门口路灯坏了,城乡建设\n2,,学校收费,教育文体\n";
        let ex = read(csv.as_bytes(), "t.csv").unwrap();
        assert_eq!(ex[0].text, "路灯不亮 小区门口路灯坏了");
        assert_eq!(ex[1].text, "学校收费");
        let err = read("id,body,label\n1,x,y\n".as_bytes(), "t.csv").unwrap_err().to_string();
        assert!(err.contains("no `text` column"), "{err}");
        let err = read("text,label\nx,\n".as_bytes(), "t.csv").unwrap_err().to_string();
        assert!(err.contains("record 2") && err.contains("label is empty"), "{err}");
    }
}

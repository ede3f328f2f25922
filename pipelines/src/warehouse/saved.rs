//! Saved queries (`queries/*.sql`, embedded): the operating rules'
//! questions as SQL that runs unchanged on ClickHouse (18.16 and current)
//! and on the SQLite warehouse, and the [`Table`] a query answers with.
//!
//! A query's first comment line is its title (`中文 · English`), the second
//! what it answers. Placeholders: `{from}` and `{to}` (the period, as date
//! literals), `{final}` (`FINAL` on ClickHouse, where replacing tables
//! must be read merged; nothing on SQLite), and the weights of the
//! satisfaction rate, `{satisfied_weight}` and `{basically_weight}`, and
//! `{repeat_days}` (`[analysis]` in config). The SQL keeps to what both
//! engines share: `count(*)`, `sum(condition)`, `CASE`, `nullIf`,
//! `1.0 * a / nullIf(b, 0)`, one JOIN per SELECT and no `WITH`
//! (docs/analysts.md lists the rules). Ratios are rounded when shown, not
//! in SQL: the engines round a tie differently.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One saved query.
#[derive(Debug, Clone, Copy)]
pub struct Saved {
    pub name: &'static str,
    pub sql: &'static str,
}

impl Saved {
    /// The first comment line: `中文 · English`.
    pub fn title(&self) -> &'static str {
        self.comment(0)
    }

    /// The second comment line: what it answers.
    pub fn about(&self) -> &'static str {
        self.comment(1)
    }

    fn comment(&self, n: usize) -> &'static str {
        self.sql
            .lines()
            .take_while(|l| l.starts_with("--"))
            .nth(n)
            .map_or("", |l| l.trim_start_matches('-').trim())
    }
}

macro_rules! saved {
    ($($name:literal),+ $(,)?) => {
        /// Every saved query, by name.
        pub const SAVED: &[Saved] = &[$(Saved {
            name: $name,
            sql: include_str!(concat!("../../../queries/", $name, ".sql")),
        }),+];
    };
}

saved!(
    "volume_by_channel",
    "volume_by_category",
    "volume_by_town",
    "volume_by_hour",
    "volume_by_day",
    "signing_on_time_by_unit",
    "completion_on_time_by_unit",
    "three_rates_by_unit",
    "three_rates_overall",
    "repeat_complaints",
    "unsatisfied_orders",
    "overdue_orders",
    "supervision_by_level",
    "deductions",
    "forwarded_to_huangshi",
    "week_clusters",
    "escalations",
    "returns_and_redispatches",
    "open_orders_by_unit",
    "workdays_in_period",
);

/// A saved query by name.
pub fn find(name: &str) -> Result<&'static Saved, QueryError> {
    SAVED.iter().find(|s| s.name == name).ok_or_else(|| QueryError::Unknown {
        name: name.to_owned(),
        known: SAVED.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
    })
}

/// From `[analysis]`: the factors the rates are counted with, and the
/// window of a repeat complaint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    /// 满意 counts this much in 满意率.
    pub satisfied_weight: f64,
    /// 基本满意 counts this much in 满意率 (0.9 in the operating rules).
    pub basically_weight: f64,
    /// A repeat complaint falls within this many days of the first.
    pub repeat_days: u32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            satisfied_weight: 1.0,
            basically_weight: 0.9,
            repeat_days: 30,
        }
    }
}

/// Which SQL a query is written out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Clickhouse,
}

/// What a query is asked about.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub weights: Weights,
}

impl Params {
    /// A period, checked: `from` must not come after `to`.
    pub fn new(from: NaiveDate, to: NaiveDate, weights: Weights) -> Result<Params, QueryError> {
        if from > to {
            return Err(QueryError::Backwards { from, to });
        }
        Ok(Params { from, to, weights })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("no saved query `{name}`; the saved queries are: {known}")]
    Unknown { name: String, known: String },
    #[error("the period runs backwards: --from {from} is after --to {to}; swap them")]
    Backwards { from: NaiveDate, to: NaiveDate },
    #[error("saved query text has an unknown placeholder `{{{0}}}`")]
    Placeholder(String),
}

/// `sql` with its placeholders filled for `dialect`. Every value is a
/// date or a number formatted here, so nothing a caller types reaches the
/// SQL text.
pub fn render(sql: &str, dialect: Dialect, p: &Params) -> Result<String, QueryError> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else {
            return Err(QueryError::Placeholder(rest[i + 1..].chars().take(20).collect()));
        };
        let key = &rest[i + 1..i + j];
        let value = match key {
            "from" => format!("'{}'", p.from),
            "to" => format!("'{}'", p.to),
            "final" if dialect == Dialect::Clickhouse => "FINAL".into(),
            "final" => String::new(),
            "satisfied_weight" => float(p.weights.satisfied_weight),
            "basically_weight" => float(p.weights.basically_weight),
            "repeat_days" => p.weights.repeat_days.to_string(),
            _ => return Err(QueryError::Placeholder(key.to_owned())),
        };
        out.push_str(&value);
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A number both engines read as floating point (`1.0`, not `1`, which
/// SQLite would multiply as an integer).
fn float(x: f64) -> String {
    let s = format!("{x:?}");
    if s.contains('.') || s.contains('e') { s } else { format!("{s}.0") }
}

/// One value of a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => Ok(()),
            Cell::Int(n) => write!(f, "{n}"),
            // Four decimals at most, rounded here (half away from zero).
            Cell::Float(x) => write!(f, "{}", (x * 10_000.0).round() / 10_000.0),
            Cell::Text(s) => f.write_str(s),
        }
    }
}

impl Cell {
    /// The same value whichever engine answered: a whole float is its
    /// integer (ClickHouse prints `1` where SQLite has `1.0`), and a float
    /// keeps 9 significant digits.
    pub fn normalized(&self) -> String {
        match self {
            Cell::Null => "NULL".into(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", *x as i64),
            Cell::Float(x) => format!("{x:.9e}"),
            Cell::Text(s) => s.clone(),
        }
    }
}

/// A query's answer: column names and rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Every cell normalized, for comparing engines.
    pub fn normalized(&self) -> Vec<Vec<String>> {
        self.rows.iter().map(|r| r.iter().map(Cell::normalized).collect()).collect()
    }

    /// Reads ClickHouse's `TabSeparatedWithNamesAndTypes`.
    pub fn from_tsv(text: &str) -> Result<Table, String> {
        let mut lines = text.lines();
        let names = lines.next().ok_or("no header line")?;
        let types: Vec<String> = lines.next().ok_or("no types line")?.split('\t').map(unescape).collect();
        let columns: Vec<String> = names.split('\t').map(unescape).collect();
        if columns.len() != types.len() {
            return Err(format!("{} names but {} types", columns.len(), types.len()));
        }
        let mut rows = Vec::new();
        for (n, line) in lines.enumerate() {
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() != columns.len() {
                return Err(format!("row {}: {} fields, {} columns", n + 1, fields.len(), columns.len()));
            }
            rows.push(fields.iter().zip(&types).map(|(f, t)| typed(f, t)).collect());
        }
        Ok(Table { columns, rows })
    }
}

/// A TSV field as a cell of ClickHouse type `ty`.
fn typed(field: &str, ty: &str) -> Cell {
    if field == "\\N" {
        return Cell::Null;
    }
    let base = ty.strip_prefix("Nullable(").and_then(|t| t.strip_suffix(')')).unwrap_or(ty);
    let text = unescape(field);
    let int = base.starts_with("Int") || base.starts_with("UInt");
    match (int, base.starts_with("Float")) {
        (true, _) => text.parse().map(Cell::Int).unwrap_or(Cell::Text(text)),
        (_, true) => text.parse().map(Cell::Float).unwrap_or(Cell::Text(text)),
        _ => Cell::Text(text),
    }
}

/// TSV's escapes undone.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        Params::new(d("2026-06-01"), d("2026-06-07"), Weights::default()).unwrap()
    }

    /// A file in queries/ and not listed here would never run or be tested.
    #[test]
    fn every_query_file_is_listed_and_titled() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../queries");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".sql").to_owned())
            .collect();
        files.sort();
        let mut listed: Vec<&str> = SAVED.iter().map(|s| s.name).collect();
        listed.sort();
        assert_eq!(files, listed);
        assert!(SAVED.len() >= 15);
        for s in SAVED {
            assert!(s.title().contains(" · ") && !s.about().is_empty(), "{}", s.name);
            for d in [Dialect::Sqlite, Dialect::Clickhouse] {
                let sql = render(s.sql, d, &params()).unwrap();
                assert!(!sql.contains('{') && !sql.contains('?'), "{}: {sql}", s.name);
            }
        }
    }

    #[test]
    fn placeholders_fill_per_dialect_and_unknown_ones_are_refused() {
        let sql = "SELECT {satisfied_weight} FROM t {final} WHERE d >= {from} AND d <= {to}";
        assert_eq!(
            render(sql, Dialect::Clickhouse, &params()).unwrap(),
            "SELECT 1.0 FROM t FINAL WHERE d >= '2026-06-01' AND d <= '2026-06-07'"
        );
        assert_eq!(
            render(sql, Dialect::Sqlite, &params()).unwrap(),
            "SELECT 1.0 FROM t  WHERE d >= '2026-06-01' AND d <= '2026-06-07'"
        );
        assert!(matches!(render("{town}", Dialect::Sqlite, &params()), Err(QueryError::Placeholder(k)) if k == "town"));
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let e = Params::new(d("2026-06-07"), d("2026-06-01"), Weights::default()).unwrap_err();
        assert!(e.to_string().contains("swap"), "{e}");
        assert!(find("nope").unwrap_err().to_string().contains("volume_by_channel"));
    }

    #[test]
    fn clickhouse_tsv_reads_into_typed_cells() {
        let text = "unit\trate\tn\tnote\nString\tNullable(Float64)\tUInt64\tString\nDY-1\t0.5\t3\ta\\tb\nDY-2\t\\N\t0\t\n";
        let t = Table::from_tsv(text).unwrap();
        assert_eq!(t.columns, ["unit", "rate", "n", "note"]);
        assert_eq!(
            t.rows[0],
            [Cell::Text("DY-1".into()), Cell::Float(0.5), Cell::Int(3), Cell::Text("a\tb".into())]
        );
        assert_eq!(t.rows[1][1], Cell::Null);
        assert_eq!(Cell::Float(1.0).normalized(), Cell::Int(1).normalized());
        assert_eq!(Cell::Float(0.3333).normalized(), "3.333000000e-1");
    }
}

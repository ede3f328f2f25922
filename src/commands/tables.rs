//! How the analysts' commands (`query`, `trends`, `hotspots`) write their
//! tables: aligned text for a terminal, CSV and JSON for scripts, and XLSX
//! for the spreadsheets government offices live in (Chinese headers, the
//! header row frozen, columns as wide as their contents).

pub use crate::cli::OutputArgs;
use anyhow::{Context, Result};
use minqing_pipelines::warehouse::saved::{Cell, Table};
use std::path::Path;

/// A table with the name its sheet gets.
pub struct Named<'a> {
    pub name: &'a str,
    pub table: &'a Table,
}

/// Writes `tables` as asked; what to print (the file's path for XLSX).
pub fn write(out: &OutputArgs, tables: &[Named<'_>]) -> Result<String> {
    if let Some(path) = &out.xlsx {
        xlsx(path, tables)?;
        let rows: usize = tables.iter().map(|t| t.table.rows.len()).sum();
        return Ok(format!("wrote {} ({} sheet(s), {rows} rows)\n", path.display(), tables.len()));
    }
    if out.json {
        let map: serde_json::Map<String, serde_json::Value> = tables
            .iter()
            .map(|t| (t.name.to_owned(), serde_json::to_value(t.table).unwrap_or_default()))
            .collect();
        return Ok(serde_json::to_string_pretty(&map)? + "\n");
    }
    if out.csv {
        return csv(tables);
    }
    Ok(tables.iter().map(text).collect::<Vec<_>>().join("\n"))
}

fn csv(tables: &[Named<'_>]) -> Result<String> {
    // Tables of different widths one after another.
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for (i, t) in tables.iter().enumerate() {
        if tables.len() > 1 {
            if i > 0 {
                w.write_record([""; 0])?;
            }
            w.write_record([format!("# {}", t.name)])?;
        }
        w.write_record(&t.table.columns)?;
        for r in &t.table.rows {
            w.write_record(r.iter().map(|c| spreadsheet_safe(&c.to_string())))?;
        }
    }
    w.flush()?;
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// A citizen's text as a spreadsheet will not run it: a cell starting with
/// `= + - @` is a formula to Excel and WPS, so it gets a leading `'`.
fn spreadsheet_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// A cell for a terminal: control characters (a text's escape sequences)
/// shown as spaces.
fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Columns in a terminal: CJK characters take two cells.
pub fn width(s: &str) -> usize {
    s.chars().map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 }).sum()
}

fn text(t: &Named<'_>) -> String {
    let cells: Vec<Vec<String>> = t
        .table
        .rows
        .iter()
        .map(|r| r.iter().map(|c| printable(&c.to_string())).collect())
        .collect();
    let widths: Vec<usize> = (0..t.table.columns.len())
        .map(|c| {
            cells
                .iter()
                .map(|r| width(&r[c]))
                .chain([width(&t.table.columns[c])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String]| {
        let mut s: String = r
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v}{}", " ".repeat(w.saturating_sub(width(v)))))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s + "\n"
    };
    let mut out = format!("{}\n", t.name);
    out += &line(&t.table.columns);
    for r in &cells {
        out += &line(r);
    }
    if cells.is_empty() {
        out += "(no rows)\n";
    }
    out
}

/// The Chinese header of a column analysts know, or its name.
pub fn header(name: &str) -> &str {
    HEADERS.iter().find(|(n, _)| *n == name).map_or(name, |(_, zh)| zh)
}

const HEADERS: &[(&str, &str)] = &[
    ("channel", "渠道"),
    ("category", "类别"),
    ("town", "镇街"),
    ("unit", "承办单位"),
    ("unit_now", "现承办单位"),
    ("tickets", "件数"),
    ("received", "受理件数"),
    ("duplicates", "重复件"),
    ("duplicate_tickets", "重复件"),
    ("share", "占比"),
    ("citizens", "群众人数"),
    ("people", "群众人数"),
    ("hour", "时段"),
    ("hotline", "热线件数"),
    ("day", "日期"),
    ("dispatched_orders", "派单数"),
    ("signed_orders", "签收数"),
    ("signed_after_deadline", "超时签收"),
    ("on_time_rate", "按时率"),
    ("reported_overdue", "超期"),
    ("replies", "答复数"),
    ("replied_after_deadline", "超时答复"),
    ("returns", "退单次数"),
    ("return_visits", "回访数"),
    ("visits", "回访数"),
    ("response_rate", "响应率"),
    ("resolution_rate", "解决率"),
    ("satisfaction_rate", "满意率"),
    ("n_satisfied", "满意"),
    ("n_basically_satisfied", "基本满意"),
    ("n_unsatisfied", "不满意"),
    ("units", "单位数"),
    ("citizen", "群众(编码)"),
    ("cluster_id", "问题簇"),
    ("first_day", "首次"),
    ("last_day", "最近"),
    ("ticket_id", "工单"),
    ("unsatisfied_visits", "不满意次数"),
    ("state", "状态"),
    ("last_visit", "最近回访"),
    ("deducted", "已核减"),
    ("rectified", "已整改"),
    ("owes", "应办"),
    ("due", "期限"),
    ("supervision", "督办"),
    ("level", "督办级别"),
    ("proposed", "建议"),
    ("events", "次数"),
    ("orders", "工单数"),
    ("requests", "申请核减"),
    ("granted", "核减通过"),
    ("refused", "核减不通过"),
    ("rule", "规则"),
    ("trigger", "触发条件"),
    ("reports", "反映次数"),
    ("dispatches", "派单次数"),
    ("month", "月份"),
    ("workdays", "工作日"),
    ("days_off", "休息日"),
    ("holidays", "节假日"),
    ("period", "时段"),
    ("days", "天数"),
    ("key", "分组"),
    ("count", "件数"),
    ("previous", "上期"),
    ("change", "环比"),
    ("last_year", "去年同期"),
    ("year_on_year", "同比"),
    ("rising", "异常上升"),
    ("z", "z值"),
    ("rank", "热度排名"),
    ("issue", "问题ID"),
    ("heat", "热度指数"),
    ("span", "时间范围"),
    ("place", "地点/人群"),
    ("description", "问题描述"),
    ("message", "留言编号"),
    ("user", "留言用户"),
    ("title", "留言主题"),
    ("time", "留言时间"),
    ("text", "留言详情"),
    ("up_votes", "点赞数"),
    ("down_votes", "反对数"),
];

/// One sheet per table: Chinese headers in bold, the header row frozen,
/// numbers as numbers, each column as wide as its widest cell (capped).
fn xlsx(path: &Path, tables: &[Named<'_>]) -> Result<()> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for t in tables {
        let sheet = book.add_worksheet();
        // Sheet names: at most 31 characters, none of []:*?/\.
        let name: String = t.name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect();
        sheet.set_name(name)?;
        let mut widths: Vec<usize> = Vec::new();
        for (c, col) in t.table.columns.iter().enumerate() {
            let h = header(col);
            sheet.write_string_with_format(0, c as u16, h, &bold)?;
            widths.push(width(h));
        }
        for (r, row) in t.table.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let col = c as u16;
                match cell {
                    Cell::Null => {}
                    Cell::Int(n) => {
                        sheet.write_number(r, col, *n as f64)?;
                    }
                    Cell::Float(x) => {
                        sheet.write_number(r, col, *x)?;
                    }
                    Cell::Text(s) => {
                        sheet.write_string(r, col, s)?;
                    }
                }
                widths[c] = widths[c].max(width(&cell.to_string()));
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        for (c, w) in widths.iter().enumerate() {
            sheet.set_column_width(c as u16, (*w as f64 + 2.0).min(60.0))?;
        }
    }
    book.save(path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table {
            columns: vec!["town".into(), "tickets".into(), "share".into()],
            rows: vec![
                vec![Cell::Text("金湖街道".into()), Cell::Int(12), Cell::Float(0.75)],
                vec![Cell::Text("陈贵镇".into()), Cell::Int(4), Cell::Null],
            ],
        }
    }

    #[test]
    fn text_aligns_chinese_and_csv_keeps_names() {
        let t = sample();
        let out = write(&OutputArgs::default(), &[Named { name: "towns", table: &t }]).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "town      tickets  share");
        assert_eq!(lines[2], "金湖街道  12       0.75");
        let csv = write(
            &OutputArgs {
                csv: true,
                ..Default::default()
            },
            &[Named { name: "towns", table: &t }],
        )
        .unwrap();
        assert_eq!(csv, "town,tickets,share\n金湖街道,12,0.75\n陈贵镇,4,\n");
        // Two tables of different widths, and a text a spreadsheet would run.
        let other = Table {
            columns: vec!["title".into()],
            rows: vec![vec![Cell::Text("=HYPERLINK(\"x\")".into())], vec![Cell::Int(-3)]],
        };
        let both = [
            Named { name: "towns", table: &t },
            Named {
                name: "titles",
                table: &other,
            },
        ];
        let csv = write(
            &OutputArgs {
                csv: true,
                ..Default::default()
            },
            &both,
        )
        .unwrap();
        assert!(
            csv.starts_with("# towns\n") && csv.contains("\n# titles\ntitle\n\"'=HYPERLINK(\"\"x\"\")\"\n-3\n"),
            "{csv}"
        );
    }

    /// The workbook is a real XLSX: a zip whose sheet holds the Chinese
    /// header and the frozen pane.
    #[test]
    fn xlsx_has_chinese_headers_and_a_frozen_header_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let t = sample();
        let args = OutputArgs {
            xlsx: Some(path.clone()),
            ..Default::default()
        };
        let said = write(&args, &[Named { name: "towns", table: &t }]).unwrap();
        assert!(said.contains("2 rows"), "{said}");
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut part = |name: &str| {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut s).unwrap();
            s
        };
        let strings = part("xl/sharedStrings.xml");
        assert!(strings.contains("镇街") && strings.contains("件数"), "Chinese headers: {strings}");
        let sheet = part("xl/worksheets/sheet1.xml");
        assert!(sheet.contains("state=\"frozen\""), "frozen header row: {sheet}");
        assert!(sheet.contains("<v>12</v>"), "numbers as numbers: {sheet}");
    }
}

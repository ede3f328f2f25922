//! The appeal type (诉求类型: 咨询, 求助, 投诉, 举报, 建议, 表扬): the
//! channel's own code when it sent one, otherwise the cue words of
//! `config/triage.toml`'s `[[appeal_type]]` tables.
//!
//! The title is read before the text, because citizens and operators put
//! the type there ("咨询…", "投诉…"); within each, the tables are tried in
//! file order, so a 举报 that also says 请问 stays a 举报.

use super::terms::{ListId, Terms, TermsBuilder};
use crate::ticket::AppealType;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealTypeFile {
    /// `consultation`, `help`, `complaint`, `report`, `suggestion` or
    /// `praise` (or the Chinese label).
    #[serde(rename = "type")]
    pub kind: String,
    pub cues: Vec<String>,
}

/// An appeal type and where it came from (`channel` or `cues`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Typed {
    pub appeal_type: AppealType,
    pub by: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct AppealCues {
    types: Vec<(AppealType, ListId)>,
    terms: Terms,
}

impl AppealCues {
    pub fn new(files: &[AppealTypeFile], errors: &mut Vec<String>) -> AppealCues {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        let mut b = TermsBuilder::default();
        for (i, f) in files.iter().enumerate() {
            let path = format!("appeal_type[{i}]");
            let Some(t) = AppealType::parse(&f.kind) else {
                errors.push(format!(
                    "`{path}.type`: `{}` is not an appeal type; use consultation, help, complaint, report, suggestion or praise",
                    f.kind
                ));
                continue;
            };
            if seen.contains(&t) {
                errors.push(format!(
                    "`{path}.type`: `{}` is listed twice; merge the cues into one table",
                    f.kind
                ));
            }
            seen.push(t);
            let set = b.list(&format!("{path}.cues"), &f.cues, errors);
            if b.is_empty(set) {
                errors.push(format!("`{path}.cues`: list at least one cue word"));
            }
            out.push((t, set));
        }
        AppealCues {
            types: out,
            terms: b.build(errors),
        }
    }

    /// The channel's type if it gave one, else the first cue hit in the
    /// title, else in the text.
    pub fn resolve(&self, channel: Option<AppealType>, title: Option<&str>, content: &str) -> Option<Typed> {
        if let Some(t) = channel {
            return Some(Typed {
                appeal_type: t,
                by: "channel",
            });
        }
        let by_cue = |text: &str| {
            let hits = self.terms.scan(text);
            self.types.iter().find(|(_, set)| hits.any(*set)).map(|(t, _)| *t)
        };
        title.and_then(by_cue).or_else(|| by_cue(content)).map(|t| Typed {
            appeal_type: t,
            by: "cues",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cues() -> AppealCues {
        let files = vec![
            AppealTypeFile {
                kind: "report".into(),
                cues: vec!["举报".into()],
            },
            AppealTypeFile {
                kind: "咨询".into(),
                cues: vec!["请问".into(), "咨询".into()],
            },
        ];
        let mut e = Vec::new();
        let c = AppealCues::new(&files, &mut e);
        assert!(e.is_empty(), "{e:?}");
        c
    }

    #[test]
    fn channel_code_wins_then_title_then_text_in_file_order() {
        let c = cues();
        let got = |ch, title, text| c.resolve(ch, title, text).map(|t| (t.appeal_type, t.by));
        assert_eq!(got(Some(AppealType::Praise), None, "举报"), Some((AppealType::Praise, "channel")));
        assert_eq!(got(None, Some("咨询落户"), "我要举报"), Some((AppealType::Consultation, "cues")));
        assert_eq!(got(None, None, "请问，我要举报偷排"), Some((AppealType::Report, "cues")));
        assert_eq!(got(None, None, "路灯不亮"), None);
    }

    #[test]
    fn bad_tables_are_named() {
        let mut e = Vec::new();
        AppealCues::new(
            &[
                AppealTypeFile {
                    kind: "grumble".into(),
                    cues: vec!["x".into()],
                },
                AppealTypeFile {
                    kind: "praise".into(),
                    cues: vec![],
                },
            ],
            &mut e,
        );
        assert!(e[0].contains("appeal_type[0].type") && e[0].contains("grumble"), "{e:?}");
        assert!(e.iter().any(|m| m.contains("appeal_type[1].cues")), "{e:?}");
    }
}

//! Triage (分类梳理): every ticket leaves intake with a scope decision and
//! its reason — forwarded to Huangshi 12345, rejected with an explanation,
//! answered online from the knowledge base, or dispatched to a unit (or to
//! the centre's manual queue) — plus its category.
//!
//! The rules are data: `config/triage.toml` (categories' cue words, scope
//! rules), `config/knowledge/*.toml` (the FAQ) and `config/units.toml`
//! (units and routes). [`Triage::load`] validates all of them at once and
//! names the file and key of every problem.

pub mod appeal;
pub mod category;
pub mod eval;
pub mod knowledge;
pub mod route;
pub mod scope;
pub mod terms;

use crate::classify::Model;
use crate::ticket::AppealType;
pub use crate::ticket::decision::{Decision, ScopeKind};
use appeal::{AppealCues, AppealTypeFile};
use category::{Categorizer, CategoryFile};
use knowledge::{Knowledge, KnowledgeFile};
use route::{Routed, Router, UnitsFile};
use scope::{ForwardClassFile, RejectRuleFile, ScopeHit, ScopeRules};
use serde::Deserialize;
use std::sync::{Arc, RwLock};

/// `config/triage.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageFile {
    /// The category taxonomy, each with the cue words of the keyword
    /// fallback; the model's labels must be among these names.
    pub category: Vec<CategoryFile>,
    /// The city's own matters: when they dominate, a mention of a bank or a
    /// courier does not forward the appeal.
    #[serde(default)]
    pub local_matters: Vec<String>,
    /// How near a forward class's matter must be to its subject, in
    /// characters.
    #[serde(default = "default_window")]
    pub forward_window_chars: usize,
    #[serde(default)]
    pub forward: Vec<ForwardClassFile>,
    #[serde(default)]
    pub reject: Vec<RejectRuleFile>,
    /// Cue words of each appeal type, for texts whose channel sent none.
    #[serde(default)]
    pub appeal_type: Vec<AppealTypeFile>,
}

fn default_window() -> usize {
    30
}

/// The texts of the rule files, each with the name errors should use.
#[derive(Debug, Clone)]
pub struct Sources {
    pub triage: (String, String),
    pub knowledge: Vec<(String, String)>,
    pub units: (String, String),
    /// A trained category model; `None` uses the keyword rules.
    pub model: Option<Arc<Model>>,
}

#[derive(Debug, thiserror::Error)]
#[error("triage configuration has {} problem(s):\n  {}", .0.len(), .0.join("\n  "))]
pub struct TriageConfigError(pub Vec<String>);

/// What triage looks at.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub title: Option<&'a str>,
    pub content: &'a str,
    /// The channel's appeal type code, if it sent one.
    pub appeal_type: Option<AppealType>,
    /// The gazetteer's town, if it placed the appeal in Daye.
    pub town: Option<&'a str>,
    /// The channel's own category; used when it names a category of the
    /// taxonomy (the provincial platform's operators classify by hand).
    pub channel_category: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct Triage {
    categories: Vec<String>,
    categorizer: Categorizer,
    appeal: AppealCues,
    scope: ScopeRules,
    knowledge: Knowledge,
    router: Router,
}

fn parse<T: serde::de::DeserializeOwned>((name, text): &(String, String), errors: &mut Vec<String>) -> Option<T> {
    match toml::from_str(text) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(format!("{name}: {}", e.to_string().trim_end()));
            None
        }
    }
}

impl Triage {
    /// Builds the stage; `towns` are the gazetteer's town names.
    pub fn load(src: &Sources, towns: &[String]) -> Result<Triage, TriageConfigError> {
        let mut errors = Vec::new();
        let triage: Option<TriageFile> = parse(&src.triage, &mut errors);
        let units: Option<UnitsFile> = parse(&src.units, &mut errors);
        let knowledge: Vec<(String, KnowledgeFile)> = src
            .knowledge
            .iter()
            .filter_map(|k| parse(k, &mut errors).map(|f| (k.0.clone(), f)))
            .collect();
        let (Some(triage), Some(units)) = (triage, units) else {
            return Err(TriageConfigError(errors));
        };
        let mut at = |file: &str, errs: Vec<String>| errors.extend(errs.into_iter().map(|e| format!("{file}: {e}")));

        let mut e = Vec::new();
        let categories: Vec<String> = triage.category.iter().map(|c| c.name.clone()).collect();
        let rules = Categorizer::rules(&triage.category, &mut e);
        let scope = ScopeRules::new(&triage, &mut e);
        let appeal = AppealCues::new(&triage.appeal_type, &mut e);
        if categories.is_empty() {
            e.push("`category`: list the category taxonomy".into());
        }
        let categorizer = match &src.model {
            Some(m) => {
                for l in m.labels() {
                    if !categories.contains(l) {
                        e.push(format!(
                            "`category`: the classifier model's label `{l}` is not a category here; retrain the model or add the category"
                        ));
                    }
                }
                Categorizer::Model(m.clone())
            }
            None => rules,
        };
        at(&src.triage.0, e);
        let mut e = Vec::new();
        let router = Router::new(&units, towns, &categories, &mut e);
        at(&src.units.0, e);
        let knowledge = Knowledge::new(&knowledge, &mut errors);
        if errors.is_empty() {
            Ok(Triage {
                categories,
                categorizer,
                appeal,
                scope,
                knowledge,
                router,
            })
        } else {
            Err(TriageConfigError(errors))
        }
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The category names, in the order of `triage.toml`.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    pub fn knowledge(&self) -> &Knowledge {
        &self.knowledge
    }

    pub fn decide(&self, input: &Input<'_>) -> Decision {
        let text = match input.title {
            Some(t) if !input.content.starts_with(t) => format!("{t} {}", input.content),
            _ => input.content.to_owned(),
        };
        let cat = match input.channel_category.filter(|c| self.categories.iter().any(|k| k == c)) {
            Some(c) => Some(category::Categorized {
                category: c.to_owned(),
                by: "channel",
            }),
            None => self.categorizer.categorize(&text),
        };
        let typed = self.appeal.resolve(input.appeal_type, input.title, input.content);
        let mut d = Decision {
            scope: ScopeKind::Dispatch,
            reason: String::new(),
            rule: None,
            category: cat.as_ref().map(|c| c.category.clone()),
            category_by: cat.as_ref().map(|c| c.by.to_owned()),
            unit: None,
            unit_name: None,
            manual: false,
            reply: None,
            answer_source: None,
            appeal_type: typed.map(|t| t.appeal_type),
            appeal_type_by: typed.map(|t| t.by.to_owned()),
        };
        match self.scope.check(&text, input.town.is_some()) {
            Some(ScopeHit::Reject { rule, reason, reply }) => {
                d.scope = ScopeKind::Rejected;
                d.rule = Some(rule);
                d.reason = reason;
                d.reply = Some(reply);
                return d;
            }
            Some(ScopeHit::Forward { class, reason }) => {
                d.scope = ScopeKind::ForwardHuangshi;
                d.rule = Some(class);
                d.reason = reason;
                return d;
            }
            None => {}
        }
        if d.appeal_type == Some(AppealType::Consultation)
            && let Some(a) = self.knowledge.answer(&text)
        {
            d.scope = ScopeKind::AnsweredOnline;
            d.reason = format!("knowledge base {}: {}", a.id, a.matched.join(" + "));
            d.rule = Some(a.id);
            d.reply = Some(a.answer);
            d.answer_source = Some(a.source);
            return d;
        }
        match self.router.route(d.category.as_deref(), input.town) {
            Routed::Unit(u) => {
                d.reason = format!(
                    "{} in {} → {}",
                    d.category.as_deref().unwrap_or("?"),
                    input.town.unwrap_or("?"),
                    u.name
                );
                d.unit = Some(u.code.clone());
                d.unit_name = Some(u.name.clone());
            }
            Routed::Manual(why) => {
                let c = self.router.centre();
                d.manual = true;
                d.reason = format!("manual queue: {why}");
                d.unit = Some(c.code.clone());
                d.unit_name = Some(c.name.clone());
            }
        }
        d
    }
}

/// The rules in force: readers take the current `Arc`, a reload swaps it
/// whole, so each batch is triaged by one consistent set.
#[derive(Clone)]
pub struct Live(Arc<RwLock<Arc<Triage>>>);

impl Live {
    pub fn new(t: Triage) -> Self {
        Live(Arc::new(RwLock::new(Arc::new(t))))
    }

    pub fn current(&self) -> Arc<Triage> {
        self.0.read().expect("triage lock").clone()
    }

    pub fn replace(&self, t: Triage) {
        *self.0.write().expect("triage lock") = Arc::new(t);
    }
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Live(Triage)")
    }
}

impl Decision {
    /// The event that records this decision.
    pub fn event_type(&self) -> crate::ticket::EventType {
        use crate::ticket::EventType;
        match self.scope {
            ScopeKind::Dispatch => EventType::Dispatched,
            ScopeKind::AnsweredOnline => EventType::AnsweredOnline,
            ScopeKind::ForwardHuangshi => EventType::Forwarded,
            ScopeKind::Rejected => EventType::Rejected,
        }
    }
}

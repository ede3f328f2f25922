//! Routing to a handling unit (承办单位), from `config/units.toml`: the
//! category and the town choose the unit. A ticket no route covers goes to
//! the hotline centre's manual queue with the reason; it is never dropped.

use serde::Deserialize;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitsFile {
    pub centre: UnitFile,
    pub unit: Vec<UnitFile>,
    pub route: Vec<RouteFile>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UnitFile {
    pub code: String,
    pub name: String,
    /// `town` (a street, town or zone government), `department` or `public`
    /// (a utility or other public body).
    #[serde(default = "centre_kind")]
    pub kind: String,
    /// For `town` units: the gazetteer name of the town it governs.
    #[serde(default)]
    pub town: Option<String>,
}

fn centre_kind() -> String {
    "centre".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    pub category: String,
    /// Only for tickets in this town; a town-specific route beats a general one.
    #[serde(default)]
    pub town: Option<String>,
    /// A unit code, or `town` for the government of the ticket's town.
    pub to: String,
}

/// Where a ticket goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed<'a> {
    Unit(&'a UnitFile),
    /// The centre's manual queue, and why.
    Manual(String),
}

#[derive(Debug, Clone)]
pub struct Router {
    centre: UnitFile,
    units: Vec<UnitFile>,
    by_code: HashMap<String, usize>,
    town_unit: HashMap<String, usize>,
    /// (category, town) → target; town "" is the general route.
    routes: HashMap<(String, String), String>,
}

const TO_TOWN: &str = "town";

impl Router {
    /// `towns`: the gazetteer's town names; `categories`: the taxonomy.
    pub fn new(f: &UnitsFile, towns: &[String], categories: &[String], errors: &mut Vec<String>) -> Router {
        let mut by_code = HashMap::new();
        let mut town_unit = HashMap::new();
        let kinds = ["town", "department", "public"];
        for (i, u) in f.unit.iter().enumerate() {
            if u.code.trim().is_empty() || u.name.trim().is_empty() {
                errors.push(format!("`unit[{i}]`: code and name must not be empty"));
            }
            if by_code.insert(u.code.clone(), i).is_some() || u.code == f.centre.code || u.code == TO_TOWN {
                errors.push(format!("`unit[{i}].code`: `{}` is taken", u.code));
            }
            if !kinds.contains(&u.kind.as_str()) {
                errors.push(format!(
                    "`unit[{i}].kind` ({}): `{}` is not one of {}",
                    u.code,
                    u.kind,
                    kinds.join(", ")
                ));
            }
            match (&u.kind[..], &u.town) {
                ("town", Some(t)) if !towns.contains(t) => {
                    errors.push(format!("`unit[{i}].town` ({}): `{t}` is not in the gazetteer", u.code))
                }
                ("town", Some(t)) => {
                    let taken = town_unit.insert(t.clone(), i).is_some();
                    if taken {
                        errors.push(format!("`unit[{i}].town` ({}): `{t}` already has a government unit", u.code));
                    }
                }
                ("town", None) => errors.push(format!("`unit[{i}]` ({}): a town unit names its `town`", u.code)),
                (_, Some(_)) => errors.push(format!("`unit[{i}].town` ({}): only town units have a town", u.code)),
                _ => {}
            }
        }
        let mut routes = HashMap::new();
        for (i, r) in f.route.iter().enumerate() {
            if !categories.contains(&r.category) {
                errors.push(format!(
                    "`route[{i}].category`: `{}` is not a category of triage.toml (known: {})",
                    r.category,
                    categories.join(", ")
                ));
            }
            if let Some(t) = &r.town
                && !towns.contains(t)
            {
                errors.push(format!("`route[{i}].town`: `{t}` is not in the gazetteer"));
            }
            if r.to != TO_TOWN && !by_code.contains_key(&r.to) {
                errors.push(format!("`route[{i}].to`: no unit has the code `{}`", r.to));
            }
            let key = (r.category.clone(), r.town.clone().unwrap_or_default());
            if routes.insert(key, r.to.clone()).is_some() {
                errors.push(format!("`route[{i}]`: a second route for the same category and town"));
            }
        }
        if routes.values().any(|to| to == TO_TOWN) {
            for t in towns {
                if !town_unit.contains_key(t) {
                    errors.push(format!(
                        "`unit`: `{t}` has no town unit, but routes send tickets to the ticket's town"
                    ));
                }
            }
        }
        Router {
            centre: f.centre.clone(),
            units: f.unit.clone(),
            by_code,
            town_unit,
            routes,
        }
    }

    pub fn centre(&self) -> &UnitFile {
        &self.centre
    }

    /// Whether `code` is a listed handling unit.
    pub fn knows(&self, code: &str) -> bool {
        self.by_code.contains_key(code)
    }

    pub fn units(&self) -> &[UnitFile] {
        &self.units
    }

    pub fn route(&self, category: Option<&str>, town: Option<&str>) -> Routed<'_> {
        let Some(category) = category else {
            return Routed::Manual("no category could be assigned".into());
        };
        let target = town
            .and_then(|t| self.routes.get(&(category.to_owned(), t.to_owned())))
            .or_else(|| self.routes.get(&(category.to_owned(), String::new())));
        let Some(target) = target else {
            return Routed::Manual(format!("no route for category {category}"));
        };
        if target == TO_TOWN {
            return match town {
                None => Routed::Manual(format!("{category} goes to the town government, but the town is unknown")),
                Some(t) => match self.town_unit.get(t) {
                    Some(&i) => Routed::Unit(&self.units[i]),
                    None => Routed::Manual(format!("{t} has no government unit in units.toml")),
                },
            };
        }
        Routed::Unit(&self.units[self.by_code[target]])
    }

    /// Units no (category, town) pair reaches: dead entries in units.toml.
    pub fn unreachable(&self, towns: &[String]) -> Vec<&UnitFile> {
        let mut reached = HashSet::new();
        for ((_, t), to) in &self.routes {
            if to == TO_TOWN {
                let ts: Vec<&String> = if t.is_empty() { towns.iter().collect() } else { vec![t] };
                reached.extend(ts.into_iter().filter_map(|t| self.town_unit.get(t).copied()));
            } else {
                reached.insert(self.by_code[to]);
            }
        }
        self.units
            .iter()
            .enumerate()
            .filter(|(i, _)| !reached.contains(i))
            .map(|(_, u)| u)
            .collect()
    }
}

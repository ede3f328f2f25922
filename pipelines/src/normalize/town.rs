//! The gazetteer: Daye's streets, towns, township and zones with aliases and
//! village or community names, from `config/gazetteer.toml`.

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TownEntry {
    pub name: String,
    /// `street`, `town`, `township` or `zone`.
    pub kind: String,
    pub code: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Villages and communities inside it.
    #[serde(default)]
    pub places: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GazetteerFile {
    pub towns: Vec<TownEntry>,
}

/// Finds the town an address or a text is about.
#[derive(Debug, Clone)]
pub struct Gazetteer {
    towns: Vec<TownEntry>,
    matcher: AhoCorasick,
    /// For each pattern, the index of its town.
    owner: Vec<usize>,
}

/// Why a gazetteer cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GazetteerError {
    #[error("gazetteer: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("gazetteer: `{pattern}` under {town} is too short to match safely")]
    TooShort { pattern: String, town: String },
    #[error("gazetteer: {0}")]
    Matcher(#[from] aho_corasick::BuildError),
}

impl Gazetteer {
    pub fn from_toml(text: &str) -> Result<Self, GazetteerError> {
        let file: GazetteerFile = toml::from_str(text)?;
        Self::new(file.towns)
    }

    pub fn new(towns: Vec<TownEntry>) -> Result<Self, GazetteerError> {
        let mut patterns = Vec::new();
        let mut owner = Vec::new();
        for (i, t) in towns.iter().enumerate() {
            for p in std::iter::once(&t.name).chain(&t.aliases).chain(&t.places) {
                if p.chars().count() < 2 {
                    return Err(GazetteerError::TooShort {
                        pattern: p.clone(),
                        town: t.name.clone(),
                    });
                }
                patterns.push(p.clone());
                owner.push(i);
            }
        }
        // Leftmost-longest: in 黄金湖村 the village wins over the alias 金湖.
        let matcher = AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&patterns)?;
        Ok(Gazetteer { towns, matcher, owner })
    }

    /// The town of the first place named in the first text that names one.
    pub fn resolve<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Option<&TownEntry> {
        texts
            .into_iter()
            .find_map(|t| self.matcher.find(t))
            .map(|m| &self.towns[self.owner[m.pattern().as_usize()]])
    }

    pub fn towns(&self) -> &[TownEntry] {
        &self.towns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g() -> Gazetteer {
        Gazetteer::from_toml(
            r#"
[[towns]]
name = "金湖街道"
kind = "street"
code = "420281003"
aliases = ["金湖"]
places = ["港湖村"]
[[towns]]
name = "还地桥镇"
kind = "town"
code = "420281102"
aliases = ["还地桥"]
places = ["黄金湖村"]
"#,
        )
        .unwrap()
    }

    #[test]
    fn address_first_then_content_and_longest_place_wins() {
        let g = g();
        assert_eq!(g.resolve(["大冶市黄金湖村3组", "金湖街道"]).unwrap().name, "还地桥镇");
        assert_eq!(g.resolve(["", "我住港湖村"]).unwrap().name, "金湖街道");
        assert!(g.resolve(["武汉市洪山区"]).is_none());
    }
}

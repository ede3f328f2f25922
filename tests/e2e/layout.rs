//! The layout holds (issue 32): no import circles among the modules of
//! the binary, nor among the pipeline's; nothing below the binary names
//! it; the pipeline's event model (`ticket`) stands on nothing of the
//! triage rules or the work-order machine. Read from the sources, as a
//! reviewer would: every `crate::x` path and every `use crate::{x, …}`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file belongs to, one level below `root` (`a.rs` and
/// `a/…` are both `a`).
fn top(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// The first segment of every `crate::` path in `text`'s code (comments
/// may mention a module without depending on it).
fn crate_refs(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let text = code.as_str();
    let mut out = BTreeSet::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(group.split(',').map(|g| ident(g.trim())).filter(|g| !g.is_empty()));
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// Module → modules it names, for the top-level modules under `root`.
fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let m = top(root, f);
        if m == "lib" || m == "main" {
            continue;
        }
        let refs = crate_refs(&std::fs::read_to_string(f).unwrap());
        g.entry(m.clone()).or_default().extend(refs.into_iter().filter(|r| *r != m));
    }
    let known: BTreeSet<String> = g.keys().cloned().collect();
    for v in g.values_mut() {
        v.retain(|r| known.contains(r));
    }
    g
}

/// Every circle, as the path that closes it.
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for m in &g[n] {
            match state.get(m) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let mut c = stack[at..].to_vec();
                    c.push(m.clone());
                    out.push(c);
                }
                None => visit(m, g, state, stack, out),
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
    }
    let (mut state, mut out) = (BTreeMap::new(), Vec::new());
    for n in g.keys() {
        if !state.contains_key(n) {
            visit(n, g, &mut state, &mut Vec::new(), &mut out);
        }
    }
    out
}

fn root(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn the_checker_finds_a_circle_and_reads_grouped_uses() {
    let refs = crate_refs("use crate::{a, b::c};\nlet x = crate::d::e(); // crate::f\n/// see crate::g");
    assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["a", "b", "d"]);
    let mut g = BTreeMap::new();
    g.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    g.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(circles(&g), vec![vec!["a", "b", "a"]]);
}

#[test]
fn no_import_circles_in_the_binary_or_the_pipeline() {
    for dir in ["src", "src/commands", "src/sim", "pipelines/src", "connectors/src"] {
        let g = graph(&root(dir));
        assert!(g.len() > 3, "{dir}: read {} modules", g.len());
        let c = circles(&g);
        assert!(c.is_empty(), "{dir}: import circles {c:?}");
    }
}

#[test]
fn the_event_model_stands_on_nothing_of_triage_or_workflow() {
    let g = graph(&root("pipelines/src"));
    let ticket = &g["ticket"];
    assert!(
        !ticket.contains("triage") && !ticket.contains("workflow"),
        "ticket names {ticket:?}"
    );
    assert!(
        !g["warehouse"].contains("store"),
        "the warehouse reaches into the store: {:?}",
        g["warehouse"]
    );
}

#[test]
fn nothing_below_the_binary_names_it() {
    for dir in ["pipelines/src", "connectors/src"] {
        let mut files = Vec::new();
        rust_files(&root(dir), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(!text.contains("minqing::"), "{} names the binary's crate", f.display());
        }
    }
    for manifest in ["pipelines/Cargo.toml", "connectors/Cargo.toml"] {
        let text = std::fs::read_to_string(root(manifest)).unwrap();
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("minqing ") || l.trim_start().starts_with("minqing=")),
            "{manifest}"
        );
    }
}

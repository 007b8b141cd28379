//! Suite `layout`: the source layout the crate docs describe.
//!
//! - **File sizes.** Each crate's `lib.rs` docs say "files stay under N lines"; no
//!   `.rs` file under its `src/` may have more.
//! - **No import circles** in `native/src` and `wasm/src`: the top-level modules of
//!   each crate (`crate::x`) form a graph without cycles. Only code counts, not
//!   comments or docs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::root;

/// The crates whose layout is checked, and whether their module graph must be
/// acyclic.
const CRATES: &[(&str, bool)] = &[("core", false), ("native", true), ("wasm", true)];

pub(crate) fn layout() -> Result<(), String> {
    let mut problems = Vec::new();
    for (krate, acyclic) in CRATES {
        let src = root().join(krate).join("src");
        let files = rust_files(&src)?;
        let lib = read(&src.join("lib.rs"))?;
        let Some(limit) = stated_limit(&lib) else {
            problems.push(format!(
                "{krate}/src/lib.rs: the crate docs name no size (\"files stay under N lines\")"
            ));
            continue;
        };
        let mut largest = (0, PathBuf::new());
        for file in &files {
            let lines = read(file)?.lines().count();
            if lines > largest.0 {
                largest = (lines, file.clone());
            }
            if lines > limit {
                problems.push(format!("{}: {lines} lines (limit {limit})", shown(file)));
            }
        }
        eprintln!(
            "  {krate}: {} files, largest {} ({} lines, limit {limit})",
            files.len(),
            shown(&largest.1),
            largest.0
        );
        if *acyclic {
            let graph = module_graph(&src, &files)?;
            let edges: usize = graph.values().map(BTreeSet::len).sum();
            eprintln!(
                "  {krate}: {} modules, {edges} imports between them",
                graph.len()
            );
            for cycle in cycles(&graph) {
                problems.push(format!("{krate}/src: import circle {}", cycle.join(" → ")));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("layout:\n  {}", problems.join("\n  ")))
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

pub(crate) fn rust_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The N of "files stay under N lines" in the crate docs (`1,100` allowed).
pub(crate) fn stated_limit(lib: &str) -> Option<usize> {
    let docs: String = lib
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join(" ");
    let docs = docs
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let at = docs.find("files stay under ")? + "files stay under ".len();
    let digits: String = docs[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    docs[at..].contains(" lines").then_some(())?;
    digits.parse().ok()
}

/// The top-level module a file belongs to (`auth/login.rs` → `auth`); `None` for
/// the crate root.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(stem) => Some(stem.to_string()),
        None => Some(first.to_string()),
    }
}

/// Code only: comments (`//`, doc comments included) and string literals removed.
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = ' ';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !in_str && c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            }
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                kept.push(c);
            }
            prev = if prev == '\\' && c == '\\' { ' ' } else { c };
            i += 1;
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// The modules `text` names as `crate::m` (also in `use crate::{a, b::c}`).
pub(crate) fn crate_refs(text: &str) -> BTreeSet<String> {
    let code = code(text);
    let mut refs = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        // `x::crate::…` or `my_crate::…` name another path.
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, d}`: the first segment of each item, nesting ignored.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        let name = ident(&group[i..]);
                        if !name.is_empty() {
                            refs.insert(name);
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                refs.insert(name);
            }
        }
    }
    refs
}

/// The module path of a file: `ui.rs` → `[ui]`, `auth/mod.rs` → `[auth]`,
/// `auth/login.rs` → `[auth, login]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let Ok(rel) = file.strip_prefix(src) else {
        return Vec::new();
    };
    let mut path: Vec<String> = rel
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .map(|c| c.strip_suffix(".rs").unwrap_or(c).to_string())
        .collect();
    if path.last().is_some_and(|l| l == "mod" || l == "lib") {
        path.pop();
    }
    path
}

/// The top-level modules `text` names through `super::` (`super::cli` in `ui.rs`,
/// `super::super::store` in `auth/login.rs`), given the file's module path.
pub(crate) fn super_refs(text: &str, path: &[String]) -> BTreeSet<String> {
    let code = code(text);
    let mut refs = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("super::") {
        let before = rest[..at].chars().last();
        rest = &rest[at..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            rest = &rest["super::".len()..];
            continue;
        }
        let mut ups = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            ups += 1;
            rest = r;
        }
        let Some(base) = path.len().checked_sub(ups) else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let top = match path.get(..base) {
            Some([first, ..]) => Some(first.clone()),
            Some([]) if !name.is_empty() => Some(name),
            _ => None,
        };
        refs.extend(top);
    }
    refs
}

fn module_graph(
    src: &Path,
    files: &[PathBuf],
) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for file in files {
        let Some(from) = module_of(src, file) else {
            continue;
        };
        let text = read(file)?;
        let path = module_path(src, file);
        for to in crate_refs(&text)
            .into_iter()
            .chain(super_refs(&text, &path))
        {
            if to != from && modules.contains(&to) {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    Ok(graph)
}

/// One cycle per strongly connected component with more than one module (as a
/// path back to its start).
pub(crate) fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for n in graph.get(&m).into_iter().flatten() {
                if seen.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
        seen
    };
    let mut reported: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for start in graph.keys() {
        if reported.contains(start) || !reach(start).contains(start) {
            continue;
        }
        // A shortest way back to `start` (breadth first).
        let mut parent: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.clone()]);
        let mut end = None;
        while let Some(m) = queue.pop_front() {
            for n in graph.get(&m).into_iter().flatten() {
                if n == start {
                    end = Some(m.clone());
                    break;
                }
                if !parent.contains_key(n) {
                    parent.insert(n.clone(), m.clone());
                    queue.push_back(n.clone());
                }
            }
            if end.is_some() {
                break;
            }
        }
        let mut path = vec![start.clone()];
        let mut at = end;
        while let Some(m) = at {
            if &m == start {
                break;
            }
            path.insert(1, m.clone());
            at = parent.get(&m).cloned();
        }
        path.push(start.clone());
        for m in &path {
            if reach(m).contains(start) && reach(start).contains(m) {
                reported.insert(m.clone());
            }
        }
        out.push(path);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_references() {
        assert_eq!(
            stated_limit("//! Files stay under 1,100\n//! lines, checked."),
            Some(1100)
        );
        assert_eq!(stated_limit("//! files stay under 500 lines"), Some(500));
        assert_eq!(stated_limit("//! no limit"), None);
        let refs = crate_refs(
            "use crate::ui::{Notice, Ui};\nuse crate::{drive, http::Transport};\n// crate::cli\nlet s = \"crate::store\";\nx::crate::no;",
        );
        assert_eq!(
            refs.into_iter().collect::<Vec<_>>(),
            ["drive", "http", "ui"]
        );
    }

    #[test]
    fn super_paths() {
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let refs = |t: &str, p: &[&str]| super_refs(t, &path(p)).into_iter().collect::<Vec<_>>();
        assert_eq!(refs("use super::cli::TerminalSpinner;", &["ui"]), ["cli"]);
        assert_eq!(
            refs("use super::{Authenticator, join_url};", &["auth", "login"]),
            ["auth"]
        );
        assert_eq!(
            refs("use super::super::store::X;", &["auth", "login"]),
            ["store"]
        );
        assert!(refs("use super::*; // super::cli", &["auth", "login"]) == ["auth"]);
        assert!(refs("use super::*;", &["ui"]).is_empty());
        assert_eq!(
            module_path(Path::new("/s"), Path::new("/s/auth/mod.rs")),
            path(&["auth"])
        );
    }

    #[test]
    fn finds_circles() {
        let g = |edges: &[(&str, &str)]| {
            let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (a, b) in edges {
                g.entry(a.to_string()).or_default().insert(b.to_string());
                g.entry(b.to_string()).or_default();
            }
            g
        };
        assert!(cycles(&g(&[("a", "b"), ("b", "c")])).is_empty());
        assert_eq!(
            cycles(&g(&[("ui", "cli"), ("cli", "ui"), ("auth", "ui")])),
            vec![vec!["cli".to_string(), "ui".into(), "cli".into()]]
        );
        assert_eq!(cycles(&g(&[("a", "b"), ("b", "c"), ("c", "a")])).len(), 1);
    }
}

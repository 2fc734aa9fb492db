//! Does every link between the project's Markdown files lead somewhere? The README is
//! a guide that sends readers into `docs/` and the bindings' READMEs, often to a
//! section: a file moved or a heading renamed would leave a link that GitHub shows but
//! that goes nowhere. Links to other sites are not followed (the tests stay off the
//! network).

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use common::repo_dir;

/// The project's Markdown files, relative to the repository: the top-level ones,
/// `docs/`, and the READMEs below.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["", "docs", "bindings/python", "bindings/dotnet", "fuzz"] {
        for entry in std::fs::read_dir(repo_dir().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                files.push(path.strip_prefix(repo_dir()).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// The lines of `markdown` outside fenced code blocks, with their numbers.
fn prose_lines(markdown: &str) -> Vec<(usize, &str)> {
    let mut in_fence = false;
    let mut lines = Vec::new();
    for (i, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            lines.push((i + 1, line));
        }
    }
    lines
}

/// GitHub's anchor for a heading: lower case, punctuation dropped (also inside code
/// spans), each space a hyphen; a repeated anchor gets `-1`, `-2`, ...
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (_, line) in prose_lines(markdown) {
        let Some(title) = line.strip_prefix('#').map(|t| t.trim_start_matches('#')) else {
            continue;
        };
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut anchor = slug.clone();
        let mut n = 0;
        while !seen.insert(anchor.clone()) {
            n += 1;
            anchor = format!("{slug}-{n}");
        }
    }
    seen
}

/// The targets of the inline links `[text](target)` on `line`, outside code spans.
fn link_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let prose: String = line
        .split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 0 { part } else { "" })
        .collect();
    let mut rest = prose.as_str();
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else { break };
        targets.push(after[..end].to_owned());
        rest = &after[end..];
    }
    targets
}

/// What is wrong with a link from the file `from` to `target`, if anything.
fn broken(from: &Path, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
    let path = if file.is_empty() {
        repo_dir().join(from)
    } else {
        repo_dir().join(from).parent().unwrap().join(file)
    };
    if !path.exists() {
        return Some(format!("{} does not exist", path.display()));
    }
    if anchor.is_empty() {
        return None;
    }
    let markdown = std::fs::read_to_string(&path).ok()?;
    (!anchors(&markdown).contains(anchor)).then(|| format!("no heading makes #{anchor}"))
}

#[test]
fn every_link_between_the_markdown_files_resolves() {
    let mut problems = Vec::new();
    for file in markdown_files() {
        let markdown = std::fs::read_to_string(repo_dir().join(&file)).unwrap();
        for (number, line) in prose_lines(&markdown) {
            for target in link_targets(line) {
                if let Some(problem) = broken(&file, &target) {
                    problems.push(format!("{}:{number}: ({target}) {problem}", file.display()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn anchors_are_made_as_github_makes_them() {
    let made = anchors("# A\n## C\n## C++17\n## C#, Mono or .NET\n## §9 The outbox\n## C\n");
    for anchor in ["a", "c", "c17", "c-mono-or-net", "9-the-outbox", "c-1"] {
        assert!(made.contains(anchor), "{anchor} not in {made:?}");
    }
    assert_eq!(
        link_targets("see [a](x.md#y) and `[b](not)` then [c](z)"),
        ["x.md#y", "z"]
    );
}

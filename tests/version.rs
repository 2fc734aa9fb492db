//! One version everywhere: Cargo.toml's, the committed header's
//! `LCM_OUTCOME_VERSION_*` macros, `lcm_version()` as Rust and as a C program see
//! it, and the changelog's entry for it. A release that bumps one and forgets
//! another fails here.

mod common;

use std::ffi::CStr;

use common::*;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The committed header's `#define NAME VALUE` for `name`, as written.
fn header_macro(header: &str, name: &str) -> String {
    let values: Vec<&str> = header
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("#define") && words.next() == Some(name))
                .then(|| words.next())
                .flatten()
        })
        .collect();
    assert_eq!(
        values.len(),
        1,
        "include/lcm_outcome.h must define {name} exactly once"
    );
    values[0].to_string()
}

fn committed_header() -> String {
    std::fs::read_to_string(repo_dir().join("include/lcm_outcome.h")).unwrap()
}

#[test]
fn header_macros_are_cargo_toml_version() {
    let header = committed_header();
    let number = |name: &str| -> u64 {
        let value = header_macro(&header, name);
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name} is {value:?}, not a decimal integer"))
    };
    let major = number("LCM_OUTCOME_VERSION_MAJOR");
    let minor = number("LCM_OUTCOME_VERSION_MINOR");
    let patch = number("LCM_OUTCOME_VERSION_PATCH");
    assert_eq!(
        (major, minor, patch),
        (
            env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap(),
            env!("CARGO_PKG_VERSION_MINOR").parse().unwrap(),
            env!("CARGO_PKG_VERSION_PATCH").parse().unwrap(),
        ),
        "the header's version macros differ from Cargo.toml's {VERSION}: \
         regenerate it with LCM_UPDATE_HEADER=1 cargo test --test header"
    );
    assert_eq!(
        header_macro(&header, "LCM_OUTCOME_VERSION_STRING"),
        format!("\"{VERSION}\"")
    );
    // A pre-release or build suffix would make the string more than the three numbers.
    assert_eq!(VERSION, format!("{major}.{minor}.{patch}"));
}

#[test]
fn lcm_version_is_cargo_toml_version() {
    let version = unsafe { CStr::from_ptr(lcm_outcome::ffi::lcm_version()) };
    assert_eq!(version.to_str().unwrap(), VERSION);
    // Static storage: the same pointer every time, valid for the whole process.
    assert_eq!(
        lcm_outcome::ffi::lcm_version(),
        lcm_outcome::ffi::lcm_version()
    );
}

/// Prints the version as a C program compiled against the committed header sees it,
/// at compile time (the macros) and at run time (`lcm_version()` of the library it
/// loaded).
const PRINT_VERSION_C: &str = r#"#include <stdio.h>
#include <string.h>

#include "lcm_outcome.h"

/* Dialers compare versions in #if, so the macros must be preprocessor integers. */
#if LCM_OUTCOME_VERSION_MAJOR + LCM_OUTCOME_VERSION_MINOR + LCM_OUTCOME_VERSION_PATCH < 0
#error "version macros are not integers"
#endif

int main(void) {
    printf("%d.%d.%d %s %s\n", LCM_OUTCOME_VERSION_MAJOR, LCM_OUTCOME_VERSION_MINOR,
           LCM_OUTCOME_VERSION_PATCH, LCM_OUTCOME_VERSION_STRING, lcm_version());
    return strcmp(LCM_OUTCOME_VERSION_STRING, lcm_version()) == 0 ? 0 : 1;
}
"#;

#[test]
fn c_program_sees_one_version_in_header_and_library() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let source = dir.join(format!("print_version_{}.c", std::process::id()));
    let exe = dir.join(format!("print_version_{}", std::process::id()));
    std::fs::write(&source, PRINT_VERSION_C).unwrap();
    compile_c(&source, &exe);

    let output = clean_command(&exe).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{VERSION} {VERSION} {VERSION}\n"),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{:?}", output.status);
    let _ = std::fs::remove_file(source);
    let _ = std::fs::remove_file(exe);
}

#[test]
fn changelog_has_an_entry_for_this_version() {
    let changelog = std::fs::read_to_string(repo_dir().join("CHANGELOG.md")).unwrap();
    let heading = format!("## [{VERSION}] - ");
    assert!(
        changelog.lines().any(|line| line.starts_with(&heading)),
        "CHANGELOG.md has no \"{heading}YYYY-MM-DD\" section for Cargo.toml's version"
    );
    assert!(
        changelog.lines().any(|line| line == "## [Unreleased]"),
        "CHANGELOG.md lost its \"## [Unreleased]\" section"
    );
}

//! The committed header must be exactly what this build's cbindgen run generates,
//! so that users, packagers and the code never disagree.

use std::path::Path;

/// Set to 1 to overwrite the committed header with the generated one.
const UPDATE_VAR: &str = "LCM_UPDATE_HEADER";

#[test]
fn committed_header_matches_the_generated_one() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/lcm_outcome.h"));
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/lcm_outcome.h");
    if std::env::var_os(UPDATE_VAR).is_some_and(|v| v == "1") {
        std::fs::write(&committed_path, generated).expect("write include/lcm_outcome.h");
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "one file is a prefix of the other".to_string(),
                |i| format!("first difference at line {}", i + 1),
            );
        panic!(
            "include/lcm_outcome.h is out of date ({first_difference}).\n\
             Regenerate it with:\n\n    {UPDATE_VAR}=1 cargo test --test header\n"
        );
    }
}

#[test]
fn header_version_macros_come_from_cargo_toml() {
    let header = include_str!(concat!(env!("OUT_DIR"), "/lcm_outcome.h"));
    for (part, value) in [
        ("MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        let line = format!("#define LCM_OUTCOME_VERSION_{part} {value}\n");
        assert!(header.contains(&line), "missing: {line}");
    }
    let version = unsafe { std::ffi::CStr::from_ptr(lcm_outcome::ffi::lcm_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

/// Every status macro in the header names the core's status of that value, and every
/// status of the core has its macro: the names are tied to the one status table.
#[test]
fn header_status_macros_are_the_core_table() {
    let header = include_str!(concat!(env!("OUT_DIR"), "/lcm_outcome.h"));
    let mut seen = Vec::new();
    for line in header.lines() {
        let mut words = line.split_whitespace();
        let (Some("#define"), Some(name), Some(value)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        if name == "LCM_OK" || name.starts_with("LCM_ERR_") || name == "LCM_QUEUED" {
            let value: i32 = value.parse().expect("a status macro is an integer literal");
            let status = lcm_outcome::Status::from_code(value)
                .unwrap_or_else(|| panic!("{name} = {value} is not a status of the core"));
            assert_eq!(status.name(), name, "value {value}");
            seen.push(status);
        }
    }
    assert_eq!(
        seen,
        lcm_outcome::Status::ALL,
        "one macro per status, in value order"
    );
}

//! Do the Python and .NET bindings know every constant of `include/lcm_outcome.h`
//! with the header's value: each status (with one exception class per error
//! status), each log level, and `LCM_ERROR_SIZE`?
//!
//! The header is the reference (it is generated from `src/ffi`, and
//! tests/header.rs keeps it so). Each binding is asked by its own runtime: a Python
//! program imports the package from `bindings/python/src`, a C# program compiled
//! with `bindings/dotnet/LcmOutcome.cs` reflects over it; both print what they find
//! as JSON (tests/bindings/). Without `python3`, or `mcs` and `mono`, a test fails
//! under CI and is skipped, with a message, elsewhere.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

/// Constant name to value.
type Table = BTreeMap<String, i64>;

/// The constants of the header that the bindings must know.
struct Header {
    statuses: Table,
    log_levels: Table,
    error_size: i64,
}

impl Header {
    /// Every `#define NAME <integer>` of the committed header, sorted by kind.
    fn read() -> Header {
        let path = repo_dir().join("include/lcm_outcome.h");
        let text = std::fs::read_to_string(&path).expect("read include/lcm_outcome.h");
        let (mut statuses, mut log_levels, mut error_size) = (Table::new(), Table::new(), None);
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if words.next() != Some("#define") {
                continue;
            }
            let (Some(name), Some(value)) = (words.next(), words.next()) else {
                continue; // the include guard
            };
            let Ok(value) = value.parse::<i64>() else {
                continue; // the version string
            };
            if name == "LCM_ERROR_SIZE" {
                error_size = Some(value);
            } else if name.starts_with("LCM_LOG_") {
                log_levels.insert(name.to_string(), value);
            } else if is_status(name) {
                statuses.insert(name.to_string(), value);
            }
        }
        // A header the loop misreads must not make every comparison vacuous.
        assert_eq!(statuses.get("LCM_OK"), Some(&0), "no LCM_OK 0 in {path:?}");
        assert!(statuses.len() > 1, "no LCM_ERR_* status in {path:?}");
        assert_eq!(log_levels.len(), 5, "LCM_LOG_ERROR..TRACE in {path:?}");
        let error_size = error_size.expect("LCM_ERROR_SIZE in the header");
        Header {
            statuses,
            log_levels,
            error_size,
        }
    }
}

/// Whether a macro of the header is a status: `LCM_OK`, `LCM_ERR_*`, `LCM_QUEUED`.
/// (A status named otherwise fails `the_header_lists_every_status_the_library_names`.)
fn is_status(name: &str) -> bool {
    name == "LCM_OK" || name == "LCM_QUEUED" || name.starts_with("LCM_ERR_")
}

/// Whether a status is an error, raised as an exception; `LCM_OK` and `LCM_QUEUED`
/// are results.
fn is_error(name: &str) -> bool {
    name.starts_with("LCM_ERR_")
}

#[test]
fn the_header_lists_every_status_the_library_names() {
    let header = Header::read();
    for (header_name, &value) in &header.statuses {
        assert_eq!(name(value as i32), header_name, "lcm_status_name({value})");
    }
    // The values are small and dense; well beyond them the library names nothing.
    for value in -64..1024 {
        let library_name = name(value);
        if library_name != "LCM_UNKNOWN_STATUS" {
            assert_eq!(
                header.statuses.get(library_name),
                Some(&i64::from(value)),
                "the library names status {value} {library_name}, which the header's \
                 #defines do not list as a status (a new prefix? see is_status)"
            );
        }
    }
}

/// What a binding reports, in its own spelling of the names.
struct Binding {
    language: &'static str,
    statuses: Vec<(String, i64)>,
    /// The classes that stand for a status of their own, with that status.
    classes: Vec<(String, i64)>,
    /// The class the binding raises for each value it knows, and for `unknown`.
    raised: Vec<(String, i64)>,
    unknown: i64,
    /// The common base class, raised for a status without a class of its own.
    base_class: &'static str,
    log_levels: Vec<(String, i64)>,
    error_size: i64,
}

/// Each disagreement between `binding` and `header`, as a line naming the constant.
/// `spell_status` turns a header status name into the binding's, `class_for` an
/// error status name into the name its class must have (or `None`: any name), and
/// `spell_level` a log level's name into the binding's.
fn disagreements(
    binding: &Binding,
    header: &Header,
    spell_status: fn(&str) -> String,
    class_for: Option<fn(&str) -> String>,
    spell_level: fn(&str) -> String,
) -> Vec<String> {
    let spelled = |table: &Table, spell: fn(&str) -> String| -> Vec<(String, i64)> {
        table.iter().map(|(n, &v)| (spell(n), v)).collect()
    };
    let mut found = Vec::new();
    compare(
        &mut found,
        "status",
        &spelled(&header.statuses, spell_status),
        &binding.statuses,
    );
    compare(
        &mut found,
        "log level",
        &spelled(&header.log_levels, spell_level),
        &binding.log_levels,
    );
    if binding.error_size != header.error_size {
        found.push(format!(
            "LCM_ERROR_SIZE: header {}, binding {}",
            header.error_size, binding.error_size
        ));
    }
    check_classes(&mut found, binding, header, spell_status, class_for);
    found
}

/// Adds a line for each name missing on one side, or with another value.
fn compare(
    found: &mut Vec<String>,
    kind: &str,
    header: &[(String, i64)],
    binding: &[(String, i64)],
) {
    let mut known = Table::new();
    for (name, value) in binding {
        if known.insert(name.clone(), *value).is_some() {
            found.push(format!("{kind} {name}: defined twice by the binding"));
        }
    }
    for (name, value) in header {
        match known.remove(name) {
            None => found.push(format!("{kind} {name} ({value}): missing from the binding")),
            Some(v) if v != *value => {
                found.push(format!("{kind} {name}: header {value}, binding {v}"))
            }
            Some(_) => {}
        }
    }
    for (name, value) in known {
        found.push(format!("{kind} {name} ({value}): not in the header"));
    }
}

/// One class per error status (named as `class_for` says), none for a result
/// status or a status the header lacks, and each status raising its own class.
fn check_classes(
    found: &mut Vec<String>,
    binding: &Binding,
    header: &Header,
    spell_status: fn(&str) -> String,
    class_for: Option<fn(&str) -> String>,
) {
    let raised: BTreeMap<i64, &str> = binding
        .raised
        .iter()
        .map(|(c, v)| (*v, c.as_str()))
        .collect();
    for (name, &value) in &header.statuses {
        let (spelled, error) = (spell_status(name), is_error(name));
        let classes: Vec<&str> = (binding.classes.iter())
            .filter(|(_, v)| *v == value)
            .map(|(c, _)| c.as_str())
            .collect();
        let wanted = match (error, class_for) {
            (false, _) => binding.base_class.to_string(),
            (true, Some(class_for)) => class_for(name),
            (true, None) => classes.first().map_or("its class", |c| c).to_string(),
        };
        if error && classes != [wanted.as_str()] {
            found.push(format!(
                "{spelled} ({value}): classes {classes:?}, wanted {wanted}"
            ));
        } else if !error && !classes.is_empty() {
            found.push(format!(
                "{spelled} ({value}) is no error, but has classes {classes:?}"
            ));
        }
        match raised.get(&value) {
            Some(class) if *class == wanted => {}
            Some(class) => found.push(format!("{spelled} ({value}) raises {class}, not {wanted}")),
            None => found.push(format!("{spelled} ({value}) raises nothing the probe saw")),
        }
    }
    for (class, value) in &binding.classes {
        if !header.statuses.values().any(|v| v == value) {
            found.push(format!(
                "class {class}: status {value} is not in the header"
            ));
        }
    }
    if raised.get(&binding.unknown) != Some(&binding.base_class) {
        found.push(format!(
            "an unknown status raises {:?}, not {}",
            raised.get(&binding.unknown),
            binding.base_class
        ));
    }
}

/// Fails with every line of `found`, or prints what agreed.
#[track_caller]
fn assert_agree(binding: &Binding, found: &[String]) {
    assert!(
        found.is_empty(),
        "the {} binding disagrees with include/lcm_outcome.h:\n  {}",
        binding.language,
        found.join("\n  ")
    );
    println!(
        "{}: {} statuses, {} exception classes, {} log levels and LCM_ERROR_SIZE {} agree \
         with the header",
        binding.language,
        binding.statuses.len(),
        binding.classes.len(),
        binding.log_levels.len(),
        binding.error_size
    );
}

/// The probe's `key`: a list of `[name, value]` pairs.
fn pairs(probe: &Value, key: &str) -> Vec<(String, i64)> {
    let list = probe[key].as_array();
    let list = list.unwrap_or_else(|| panic!("the probe printed no list {key:?}: {probe}"));
    (list.iter())
        .map(|pair| match (pair[0].as_str(), pair[1].as_i64()) {
            (Some(name), Some(value)) => (name.to_string(), value),
            _ => panic!("{key}: not a [name, value] pair: {pair}"),
        })
        .collect()
}

/// The probe's `key`: an integer.
fn integer(probe: &Value, key: &str) -> i64 {
    (probe[key].as_i64()).unwrap_or_else(|| panic!("the probe printed no integer {key:?}: {probe}"))
}

/// The JSON a probe program printed on stdout.
fn probe_output(mut command: std::process::Command, what: &str) -> Value {
    let stdout = assert_success(&run_to_end(&mut command), what);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}):\n{stdout}"))
}

#[test]
fn the_python_binding_knows_the_header_constants() {
    if !python_available() {
        return;
    }
    let header = Header::read();
    let mut command = python_on_source();
    command.arg(repo_dir().join("tests/bindings/status_table.py"));
    let probe = probe_output(command, "tests/bindings/status_table.py");

    let classes = probe["classes"].as_array().expect("a list of classes");
    let own = |c: &&Value| c["own_status"].as_bool() == Some(true);
    let binding = Binding {
        language: "Python",
        statuses: pairs(&probe, "statuses"),
        classes: (classes.iter().filter(own))
            .map(|c| {
                (
                    c["class"].as_str().unwrap().to_string(),
                    c["status"].as_i64().unwrap(),
                )
            })
            .collect(),
        raised: pairs(&probe, "raised"),
        unknown: integer(&probe, "unknown"),
        base_class: "LcmError",
        log_levels: pairs(&probe, "log_levels"),
        error_size: integer(&probe, "error_size"),
    };
    // Python spells every name as the header does; its class names are its own.
    let same = |name: &str| name.to_string();
    let mut found = disagreements(&binding, &header, same, None, same);
    if probe["ok"].as_i64() != header.statuses.get("LCM_OK").copied() {
        found.push(format!("LCM_OK is {}", probe["ok"]));
    }
    // Every class, ClientClosedError too, carries the header's name of its status.
    for class in classes {
        let (value, name) = (&class["status"], &class["status_name"]);
        let in_header = header
            .statuses
            .iter()
            .find(|(_, &v)| value.as_i64() == Some(v));
        if in_header.map(|(n, _)| n.as_str()) != name.as_str() {
            let class = class["class"].as_str().unwrap_or("?");
            found.push(format!("class {class}: status {value} named {name}"));
        }
    }
    assert_agree(&binding, &found);
}

/// The .NET spelling of a header name: `LCM_ERR_HTTP_STATUS` is `HttpStatus`,
/// `LCM_OK` `Ok`, `LCM_LOG_WARN` `LogWarn`.
fn pascal_case(name: &str) -> String {
    let name = name.strip_prefix("LCM_").unwrap_or(name);
    let name = name.strip_prefix("ERR_").unwrap_or(name);
    (name.split('_'))
        .map(|word| {
            let (first, rest) = word.split_at(1);
            first.to_string() + &rest.to_lowercase()
        })
        .collect()
}

/// The .NET exception class of an error status: `LcmHttpStatusException`.
fn dotnet_class(name: &str) -> String {
    format!("Lcm{}Exception", pascal_case(name))
}

#[test]
fn the_dotnet_binding_knows_the_header_constants() {
    if !mono_available() {
        return;
    }
    let header = Header::read();
    let work = WorkDir::new("bindings_agree_dotnet");
    let source = repo_dir().join("tests/bindings/StatusTable.cs");
    let exe = compile_cs(work.path(), "StatusTable", &[source]);
    let probe = probe_output(mono(&exe), "tests/bindings/StatusTable.cs");

    let binding = Binding {
        language: ".NET",
        statuses: pairs(&probe, "statuses"),
        classes: pairs(&probe, "classes"),
        raised: pairs(&probe, "raised"),
        unknown: integer(&probe, "unknown"),
        base_class: "LcmException",
        log_levels: pairs(&probe, "log_levels"),
        error_size: integer(&probe, "error_size"),
    };
    let found = disagreements(
        &binding,
        &header,
        pascal_case,
        Some(dotnet_class),
        pascal_case,
    );
    assert_agree(&binding, &found);
}

#[test]
fn dotnet_names_are_the_header_names_in_pascal_case() {
    assert_eq!(pascal_case("LCM_OK"), "Ok");
    assert_eq!(pascal_case("LCM_QUEUED"), "Queued");
    assert_eq!(pascal_case("LCM_ERR_INVALID_ARGUMENT"), "InvalidArgument");
    assert_eq!(pascal_case("LCM_LOG_TRACE"), "LogTrace");
    assert_eq!(
        dotnet_class("LCM_ERR_HTTP_STATUS"),
        "LcmHttpStatusException"
    );
}

//! Which `LCM_*` environment variables are not options, and what did their writer
//! mean? A misspelled variable (`LCM_ENDPONT`, `LCM_TIMEOUT`) would otherwise be
//! ignored without a word, and the dialer would run with the default.

use crate::config::Key;

/// `LCM_*` variables that belong to the project's tools, not to the library: the
/// bindings' library path, and variables of the test suite and its scripts.
const NOT_OPTIONS: [&str; 4] = [
    "LCM_OUTCOME_LIB",
    "LCM_UPDATE_HEADER",
    "LCM_LOAD_CALLS",
    "LCM_SIM",
];
const TOOL_PREFIXES: [&str; 2] = ["LCM_TEST_", "LCM_SIM_"];

/// One line per variable among `names` that starts with `LCM_` and is neither an
/// option nor one of the tools' variables, naming the closest option's variable.
pub(crate) fn unknown_variables(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let options: Vec<String> = Key::ALL.iter().map(|k| k.env_var()).collect();
    let mut lines: Vec<String> = names
        .into_iter()
        .filter(|name| name.starts_with("LCM_"))
        .filter(|name| !options.contains(name) && !NOT_OPTIONS.contains(&name.as_str()))
        .filter(|name| !TOOL_PREFIXES.iter().any(|p| name.starts_with(p)))
        .map(|name| {
            let closest = options
                .iter()
                .max_by(|a, b| {
                    strsim::jaro_winkler(&name, a).total_cmp(&strsim::jaro_winkler(&name, b))
                })
                .expect("there are options");
            format!(
                "{} is not an option of lcm-outcome and is ignored; did you mean {closest}?",
                crate::text::short(&name)
            )
        })
        .collect();
    lines.sort();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelled_variable_is_named_with_the_closest_option() {
        let lines = unknown_variables(
            [
                "LCM_ENDPONT",
                "LCM_TIMEOUT",
                "LCM_ENDPOINT",
                "LCM_OUTCOME_LIB",
                "PATH",
                "LCM_TEST_X",
            ]
            .map(String::from),
        );
        assert_eq!(
            lines,
            [
                "LCM_ENDPONT is not an option of lcm-outcome and is ignored; did you mean LCM_ENDPOINT?",
                "LCM_TIMEOUT is not an option of lcm-outcome and is ignored; did you mean LCM_TIMEOUT_MS?",
            ]
        );
    }
}

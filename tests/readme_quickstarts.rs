//! Do the READMEs' quickstarts work as pasted? Every fenced block marked `quickstart`
//! in README.md and the bindings' READMEs is taken out: the program (`c quickstart`,
//! `cpp quickstart`, `python quickstart`, `csharp quickstart`) is saved under the name
//! its commands use, and those commands (`sh quickstart LANG`) run through bash, as a
//! reader would paste them, in a directory that looks like the repository's root. The
//! lcm-sim they talk to is started with the arguments of the same README's setup block
//! (`sh quickstart setup`), whose `export` lines the commands get too; what each run
//! prints must be what the README's `# prints:` comments say, with the outcome in
//! lcm-sim's record file. C and C++ are also compiled with every warning an error, and
//! C# with `-warnaserror`, so that a snippet stays clean. The setup's `cargo build` is
//! the one this test was built by: its library stands in for `target/release`.
//!
//! Needs `cc` and `c++`; `python3` and Mono's `mcs`/`mono` for those quickstarts
//! (skipped with a message when missing, except under `CI=true`).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::*;

/// The languages a quickstart is written in, by their fence's info string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Lang {
    C,
    Cpp,
    Python,
    CSharp,
}

impl Lang {
    const ALL: [Lang; 4] = [Lang::C, Lang::Cpp, Lang::Python, Lang::CSharp];

    /// The word of its fences: `c quickstart`, `sh quickstart c`.
    fn word(self) -> &'static str {
        match self {
            Lang::C => "c",
            Lang::Cpp => "cpp",
            Lang::Python => "python",
            Lang::CSharp => "csharp",
        }
    }

    /// The file the README tells the reader to save the program as.
    fn file_name(self) -> &'static str {
        match self {
            Lang::C => "quickstart.c",
            Lang::Cpp => "quickstart.cpp",
            Lang::Python => "quickstart.py",
            Lang::CSharp => "Quickstart.cs",
        }
    }
}

/// Which quickstarts each README holds; a block marked `quickstart` that is not one of
/// these (a misspelt language, a new README) fails `every_quickstart_block_is_run`.
const EXPECTED: [(&str, Lang); 6] = [
    ("README.md", Lang::C),
    ("README.md", Lang::Cpp),
    ("README.md", Lang::Python),
    ("README.md", Lang::CSharp),
    ("bindings/python/README.md", Lang::Python),
    ("bindings/dotnet/README.md", Lang::CSharp),
];

/// The READMEs that may hold quickstarts.
const READMES: [&str; 3] = [
    "README.md",
    "bindings/python/README.md",
    "bindings/dotnet/README.md",
];

/// The address the README's lcm-sim listens on and its programs talk to; each test's
/// lcm-sim listens on a free port instead, which replaces it in the program and its
/// commands (tests run in parallel, and something else may hold 8080).
const README_ADDR: &str = "127.0.0.1:8080";

/// One fenced block: the words of its info string and its text.
struct Block {
    info: Vec<String>,
    text: String,
}

/// Every fenced block of the Markdown file at `path` (relative to the repository).
fn blocks(path: &str) -> Vec<Block> {
    let markdown = std::fs::read_to_string(repo_dir().join(path)).unwrap();
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in markdown.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.split_whitespace().map(str::to_owned).collect(),
                    text: String::new(),
                })
            }
            (Some(_), Some("")) => blocks.push(open.take().unwrap()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "{path}: a fenced block is not closed");
    blocks
}

/// The one block of `path` whose info string is `info`.
fn block(path: &str, info: &[&str]) -> String {
    let mut found = blocks(path).into_iter().filter(|b| b.info == info);
    let first = found
        .next()
        .unwrap_or_else(|| panic!("{path} has no block marked {:?}", info.join(" ")));
    assert!(
        found.next().is_none(),
        "{path} has more than one block marked {:?}",
        info.join(" ")
    );
    first.text
}

/// What a block's `# prints: TEXT` comments promise on stdout, one line each.
fn expected_stdout(commands: &str) -> String {
    commands
        .lines()
        .filter_map(|l| {
            l.split_once("# prints: ")
                .map(|(_, text)| format!("{text}\n"))
        })
        .collect()
}

#[test]
fn every_quickstart_block_is_run() {
    let mut found = BTreeSet::new();
    for path in READMES {
        for block in blocks(path) {
            let info: Vec<&str> = block.info.iter().map(String::as_str).collect();
            let lang = match info[..] {
                [lang, "quickstart"] | ["sh", "quickstart", lang] => lang,
                _ if info.contains(&"quickstart") => panic!("{path}: unknown block {info:?}"),
                _ => continue,
            };
            if lang == "setup" {
                continue;
            }
            let lang = Lang::ALL
                .into_iter()
                .find(|l| l.word() == lang)
                .unwrap_or_else(|| panic!("{path}: {info:?} names no quickstart language"));
            found.insert((path, lang));
        }
    }
    assert_eq!(found, BTreeSet::from(EXPECTED));
    for (path, lang) in EXPECTED {
        Setup::of(path);
        let commands = block(path, &["sh", "quickstart", lang.word()]);
        assert!(
            commands.contains(lang.file_name()),
            "{path}: the {lang:?} commands do not use {}",
            lang.file_name()
        );
        assert_ne!(
            expected_stdout(&commands),
            "",
            "{path}: {lang:?} shows no output"
        );
    }
}

/// What a README's setup block (`sh quickstart setup`) does: the build directory it
/// builds into, the arguments it starts lcm-sim with, and the variables it exports,
/// which the reader's shell keeps for the quickstarts that follow.
struct Setup {
    /// `target/release` after `cargo build --release`, `target/debug` after `cargo build`.
    build_dir: String,
    sim_args: Vec<String>,
    exports: Vec<(String, String)>,
}

impl Setup {
    fn of(readme: &str) -> Setup {
        let setup = block(readme, &["sh", "quickstart", "setup"]);
        let line = setup
            .lines()
            .find(|l| l.starts_with("target/") && l.contains("/lcm-sim "))
            .unwrap_or_else(|| panic!("{readme}: the setup block starts target/*/lcm-sim"));
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.last(), Some(&"&"), "lcm-sim runs in the background");
        let build_dir = words[0].strip_suffix("/lcm-sim").unwrap().to_owned();
        let build = if build_dir == "target/release" {
            "cargo build --release"
        } else {
            "cargo build"
        };
        assert!(setup.contains(build), "{readme}: {build_dir} needs {build}");
        let exports = setup
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .flat_map(|l| l.split('#').next().unwrap().split_whitespace())
            .map(|pair| {
                let (name, value) = pair.split_once('=').expect("export NAME=VALUE");
                (name.to_owned(), value.to_owned())
            })
            .collect();
        Setup {
            build_dir,
            sim_args: words[1..words.len() - 1]
                .iter()
                .map(|&w| w.into())
                .collect(),
            exports,
        }
    }
}

/// lcm-sim started as a README's setup block starts it, on a free port; killed on
/// drop.
struct ReadmeSim {
    child: Child,
    port: u16,
}

impl ReadmeSim {
    /// Runs lcm-sim with the setup's arguments in `dir` (where its record file goes),
    /// but `--listen 127.0.0.1:0`, and waits for its `listening on` line.
    fn start(setup: &Setup, dir: &Path) -> ReadmeSim {
        let args = &setup.sim_args;
        let listen = args.iter().position(|a| a == "--listen").unwrap();
        assert_eq!(args[listen + 1], README_ADDR);
        let mut child = Command::new(sim_binary())
            .args(&args[..=listen])
            .arg("127.0.0.1:0")
            .args(&args[listen + 2..])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start lcm-sim");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim_end()
            .strip_prefix("lcm-sim listening on ")
            .unwrap_or_else(|| panic!("lcm-sim printed {first:?}"));
        let port = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/lcm"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected lcm-sim URL {url}"));
        ReadmeSim { child, port }
    }
}

impl Drop for ReadmeSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory that looks like the repository's root to the commands: the
/// directories they read (`include`, `bindings`, `examples`) linked in, and the
/// setup's build directory (`target/release`) pointing at this test build's library,
/// the same code in cargo test's profile (`cargo test` does not copy it up to
/// `target/<profile>`, where an older one may lie). Nothing else is linked, so that what
/// the commands write (`quickstart.c`, `outcomes.jsonl`) cannot reach a file of the
/// same name that a reader left in the repository.
fn repo_lookalike(name: &str, setup: &Setup) -> WorkDir {
    let dir = WorkDir::new(name);
    for entry in ["include", "bindings", "examples"] {
        std::os::unix::fs::symlink(repo_dir().join(entry), dir.path().join(entry)).unwrap();
    }
    std::fs::create_dir(dir.path().join("target")).unwrap();
    std::os::unix::fs::symlink(lib_dir(), dir.path().join(&setup.build_dir)).unwrap();
    dir
}

/// Saves `path`'s quickstart in `lang`, runs its commands against a README-started
/// lcm-sim, and checks what they print and what lcm-sim recorded.
fn run_quickstart(path: &str, lang: Lang) {
    let setup = Setup::of(path);
    let dir = repo_lookalike(
        &format!(
            "quickstart_{}_{}",
            lang.word(),
            path.replace(['/', '.'], "_")
        ),
        &setup,
    );
    let sim = ReadmeSim::start(&setup, dir.path());
    let here = format!("127.0.0.1:{}", sim.port);
    let program = block(path, &[lang.word(), "quickstart"]);
    let commands = block(path, &["sh", "quickstart", lang.word()]);
    assert!(
        program.contains(README_ADDR) || commands.contains(README_ADDR),
        "{path}: the {lang:?} quickstart does not talk to the README's lcm-sim"
    );
    let source = dir.path().join(lang.file_name());
    std::fs::write(&source, program.replace(README_ADDR, &here)).unwrap();
    compile_strictly(lang, &source, dir.path());

    let mut bash = clean_command(Path::new("bash"));
    bash.args([
        "-euo",
        "pipefail",
        "-c",
        &commands.replace(README_ADDR, &here),
    ])
    .envs(setup.exports)
    .env("PYTHONDONTWRITEBYTECODE", "1")
    .env_remove("PYTHONPATH")
    .env_remove("PYTHONHOME")
    .env_remove("LD_LIBRARY_PATH")
    .current_dir(dir.path());
    let output = run_to_end(&mut bash);
    let stdout = assert_success(&output, &format!("{path}'s {lang:?} quickstart"));
    assert_eq!(stdout, expected_stdout(&commands), "{path}: {lang:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "",
        "{path}: {lang:?}"
    );

    let record = std::fs::read_to_string(dir.path().join("outcomes.jsonl"))
        .expect("lcm-sim wrote its record file");
    let lines: Vec<serde_json::Value> = record
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{record}");
    assert_eq!(lines[0]["callid"], "12345");
    assert_eq!(lines[0]["AccountNumber"], "5|3|1|0|0|44|1");
    assert_eq!(lines[0]["UserID"], "testagent");
    assert_eq!(lines[0]["AgentComments"], "Test comment");
}

/// Compiles the saved program once more, stricter than the README asks: a quickstart
/// that warns is not one to copy.
fn compile_strictly(lang: Lang, source: &Path, dir: &Path) {
    match lang {
        Lang::C | Lang::Cpp => compile_c(source, &dir.join("strict")),
        Lang::CSharp => {
            compile_cs(dir, "Strict", &[PathBuf::from(source)]);
        }
        Lang::Python => {}
    }
}

#[test]
fn readme_c_quickstart_runs_as_pasted() {
    run_quickstart("README.md", Lang::C);
}

#[test]
fn readme_cpp_quickstart_runs_as_pasted() {
    run_quickstart("README.md", Lang::Cpp);
}

#[test]
fn readme_python_quickstart_runs_as_pasted() {
    if python_available() {
        run_quickstart("README.md", Lang::Python);
    }
}

#[test]
fn readme_csharp_quickstart_runs_as_pasted() {
    if mono_available() {
        run_quickstart("README.md", Lang::CSharp);
    }
}

#[test]
fn python_readme_quickstart_runs_as_pasted() {
    if python_available() {
        run_quickstart("bindings/python/README.md", Lang::Python);
    }
}

#[test]
fn dotnet_readme_quickstart_runs_as_pasted() {
    if mono_available() {
        run_quickstart("bindings/dotnet/README.md", Lang::CSharp);
    }
}

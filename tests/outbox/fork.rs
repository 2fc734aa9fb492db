//! fork(): a child opens its own database connection and starts its own sender on
//! first use (docs/design.md §9). C programs in tests/c/: `outbox_fork.c` forks while
//! its parent's sender is stuck delivering to a server that never answers, so that
//! only the children's own senders can deliver what the parent and they queued, and
//! the parent goes on using the file after them; `outbox_fork_close.c` closes the
//! parent's connection while its child uses the file; `outbox_fork_busy.c` forks
//! while other threads of the parent are in the middle of using it.

use std::time::Duration;

use lcm_sim::{Answer, Faults};

use super::common::*;
use super::*;

#[test]
fn parent_and_children_share_one_outbox_file() {
    let outbox = OutboxFile::new("fork");
    let good = sim();
    let hung = sim_with(Faults::answering(Answer::Hang));
    let program = NativeProgram::build("tests/c/outbox_fork.c", "outbox_fork");
    let ready = outbox.dir().join("parent-sender-busy");
    let (stdout, stderr) = (outbox.dir().join("stdout"), outbox.dir().join("stderr"));
    let mut run = program
        .command()
        .arg(outbox.path())
        .arg(good.url())
        .arg(hung.url())
        .arg(&ready)
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    wait_for(
        "the parent's sender to send",
        Duration::from_secs(60),
        || hung.request_count() == 1,
    );
    std::fs::write(&ready, "").unwrap();
    let status = wait_to_end(&mut run, Duration::from_secs(120));
    let (stdout, stderr) = (read(&stdout), read(&stderr));
    assert!(
        status.is_some_and(|s| s.success()),
        "outbox_fork: {status:?}\n{stdout}\n{stderr}"
    );
    println!("{}", stdout.trim());

    let mut sent = accepted_ids(&good);
    sent.sort();
    let mut expected: Vec<String> = (0..5).map(|i| format!("parent-{i}")).collect();
    expected.extend((0..3).flat_map(|n| (0..10).map(move |i| format!("child-{n}-{i}"))));
    expected.push("parent-after".into());
    expected.sort();
    assert_eq!(
        sent, expected,
        "each outcome once, by the children's senders and the parent"
    );
    assert_eq!(
        hung.request_count(),
        1,
        "the blocker went once, to the hung server"
    );
    let rows = outbox.rows();
    let left: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.call_id.as_str(), r.state.as_str()))
        .collect();
    assert_eq!(
        left,
        [("blocker", "sending")],
        "held by the parent's sender until it died"
    );
    assert_eq!(integrity(outbox.path()), "ok");
}

#[test]
fn children_forked_while_threads_use_an_outbox_do_not_hang() {
    let busy = OutboxFile::new("fork-busy");
    let idle = OutboxFile::new("fork-idle");
    let sim = sim();
    let program = NativeProgram::build("tests/c/outbox_fork_busy.c", "outbox_fork_busy");
    let output = run_within(
        program
            .command()
            .arg(busy.path())
            .arg(idle.path())
            .arg(sim.url()),
        Duration::from_secs(300),
    )
    .unwrap_or_else(|o| panic!("outbox_fork_busy did not finish: {o:?}"));
    let stdout = assert_success(&output, "outbox_fork_busy");
    println!("{}", stdout.trim());
    assert!(stdout.contains("forks 400 hung 0 failed 0,"), "{stdout}");
    let mut sent = accepted_ids(&sim);
    sent.sort();
    let expected: Vec<String> = (0..2)
        .flat_map(|t| (0..5).map(move |i| format!("busy-{t}-{i}")))
        .collect();
    assert_eq!(sent, expected, "each call id once, its latest outcome");
    assert_eq!(integrity(busy.path()), "ok");
}

#[test]
fn a_parent_closing_its_connection_leaves_its_childs_entries_alone() {
    let outbox = OutboxFile::new("fork-close");
    let program = NativeProgram::build("tests/c/outbox_fork_close.c", "outbox_fork_close");
    let output = run_within(
        program.command().arg(outbox.path()),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|o| panic!("outbox_fork_close did not finish: {o:?}"));
    assert_success(&output, "outbox_fork_close");
    let ids: Vec<String> = outbox.rows().into_iter().map(|r| r.call_id).collect();
    assert_eq!(
        ids,
        ["parent", "child-before", "child-after"],
        "every outcome the child was told LCM_QUEUED for is in the file"
    );
    assert_eq!(integrity(outbox.path()), "ok");
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

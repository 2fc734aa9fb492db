//! `lcm-sim`: serve a local LCM `SetCallOutcomeWithComments` endpoint. See `--help`.

fn main() {
    if let Err(err) = lcm_sim::run_cli(std::env::args().skip(1)) {
        eprintln!("lcm-sim: {err}");
        if let lcm_sim::CliError::Usage(_) = err {
            eprintln!(
                "\n{}\n\nFor more information, try '--help'.",
                lcm_sim::usage()
            );
        }
        std::process::exit(err.exit_code());
    }
}

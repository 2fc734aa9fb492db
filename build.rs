//! Generates the C header from the `extern "C"` items of `src/ffi/` with cbindgen.
//!
//! The header is written to OUT_DIR, never into the source tree: the committed
//! `include/lcm_outcome.h` is what users and packagers get, and the test
//! `tests/header.rs` fails when it differs from this build's header.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("lcm_outcome.h");

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    // The version macros come from Cargo.toml, so that the header, lcm_version()
    // and the package can never disagree.
    config.after_includes = Some(format!(
        "\n/** The version of the library this header belongs to. */\n\
         #define LCM_OUTCOME_VERSION_MAJOR {}\n\
         #define LCM_OUTCOME_VERSION_MINOR {}\n\
         #define LCM_OUTCOME_VERSION_PATCH {}\n\
         #define LCM_OUTCOME_VERSION_STRING \"{}\"",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
    ));

    // Only the FFI layer is the C API: parsing src/ffi/ alone keeps the core's
    // public Rust items out of the header.
    cbindgen::Builder::new()
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(&out);

    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");
}

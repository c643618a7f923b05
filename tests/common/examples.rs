//! The crate's examples (the mock server, the signing CLI) as binaries a test runs.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// The features this test was built with: its package's (`cfg!(feature)` in an integration test
/// is the package's), so that the example is built against the same library, not another.
fn features() -> String {
    let all = [
        ("axum", cfg!(feature = "axum")),
        ("ring", cfg!(feature = "ring")),
        ("redis", cfg!(feature = "redis")),
        ("spike", cfg!(feature = "spike")),
        ("mock", cfg!(feature = "mock")),
        ("sqlite", cfg!(feature = "sqlite")),
        ("metrics", cfg!(feature = "metrics")),
        ("__count-work", cfg!(feature = "__count-work")),
    ];
    let on: Vec<&str> = all.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
    on.join(",")
}

/// The example `name`'s binary, in this test's profile and target directory, built by cargo
/// once per test process before it is first used: cargo does nothing when `cargo test` built it
/// already, and rebuilds it when it is older than the code, so a test never runs a stale binary
/// (as it could when it ran whatever binary was there).
pub fn example(name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile.join("examples").join(name);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built
        .get_or_insert_with(HashSet::new)
        .insert(name.to_owned())
    {
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args([
            "build",
            "--quiet",
            "--example",
            name,
            "--features",
            &features(),
        ]);
        if profile.file_name().is_some_and(|p| p == "release") {
            cargo.arg("--release");
        }
        let status = cargo
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "cargo build --example {name} failed");
    }
    path
}

//! The fuzz targets' checks, replayed on the committed seed corpus by every `cargo test`.
//!
//! `fuzz/` is a cargo-fuzz crate of its own (libFuzzer needs a nightly compiler's flags), so it
//! never runs in CI. Its harness (`fuzz/src/`) does not depend on libFuzzer: it is compiled here
//! as a module, and every file of `fuzz/corpus/<target>/` goes through the very check function
//! that target hands libFuzzer's inputs to, decoded the way libFuzzer's `fuzz_target!` decodes
//! them. The checks' assertions (nothing accepted without the harness's signature, every
//! well-signed request accepted, the layer agreeing with `Verifier::verify`, no secret in an
//! answer, no panic) hold on every seed, on a stable compiler.
//!
//! The committed seeds are `fuzz/corpus/<target>/seed-*`, written by the harness's `seeds`
//! module; `UPDATE_FUZZ_SEEDS=1 cargo test --test fuzz_corpus committed_seeds` rewrites them. Any other file
//! there (a local fuzzing run's corpus, a finding copied from `fuzz/artifacts/`) is replayed too.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// How to rewrite the seeds (only this test: the other one reads them meanwhile).
const UPDATE: &str = "UPDATE_FUZZ_SEEDS=1 cargo test --test fuzz_corpus committed_seeds";

/// Each target has at least this many seeds, so a lost corpus does not pass unnoticed.
const MIN_SEEDS: usize = 5;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// The files of `dir`, sorted by name.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn is_seed(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with("seed-"))
}

#[test]
fn every_corpus_file_passes_its_fuzz_target_checks() {
    let mut failed = Vec::new();
    for (target, check) in harness::TARGETS {
        let files = files(&corpus(target));
        let seeds = files.iter().filter(|path| is_seed(path)).count();
        assert!(seeds >= MIN_SEEDS, "{target}: {seeds} seeds");
        for path in files {
            let bytes = fs::read(&path).unwrap();
            // The check's own panic message is printed as it happens; go on with the others.
            match catch_unwind(AssertUnwindSafe(|| check(&bytes))) {
                Ok(true) => {}
                Ok(false) => failed.push(format!("{}: not an input", path.display())),
                Err(_) => failed.push(format!("{}: a check failed", path.display())),
            }
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn committed_seeds_are_what_the_harness_writes() {
    let seeds = harness::seeds::all();
    // The bytes decode back into the inputs they were written from.
    for seed in &seeds {
        assert_eq!(
            harness::seeds::decoded(seed.target, &seed.bytes).as_deref(),
            Some(seed.input.as_str()),
            "{}/{}",
            seed.target,
            seed.file
        );
    }
    let total: usize = seeds.iter().map(|seed| seed.bytes.len()).sum();
    assert!(
        total < 16 * 1024,
        "the seed corpus stays small: {total} bytes"
    );

    if std::env::var_os("UPDATE_FUZZ_SEEDS").is_some() {
        for (target, _) in harness::TARGETS {
            let dir = corpus(target);
            fs::create_dir_all(&dir).unwrap();
            for stale in files(&dir).into_iter().filter(|path| is_seed(path)) {
                fs::remove_file(stale).unwrap();
            }
        }
        for seed in &seeds {
            fs::write(corpus(seed.target).join(&seed.file), &seed.bytes).unwrap();
        }
    }

    for (target, _) in harness::TARGETS {
        let mut expected: Vec<&str> = seeds
            .iter()
            .filter(|seed| seed.target == target)
            .map(|seed| seed.file.as_str())
            .collect();
        expected.sort_unstable();
        let committed: Vec<String> = files(&corpus(target))
            .into_iter()
            .filter(|path| is_seed(path))
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(committed, expected, "{target}: run {UPDATE}");
    }
    for seed in &seeds {
        let path = corpus(seed.target).join(&seed.file);
        assert!(
            fs::read(&path).unwrap() == seed.bytes,
            "{} differs from what the harness writes: run {UPDATE}",
            path.display()
        );
    }
}

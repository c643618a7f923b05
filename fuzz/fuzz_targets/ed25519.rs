//! The `ed25519` target: [`tower_hmac_fuzz::ed25519::check`] on every input libFuzzer makes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_hmac_fuzz::{Input, ed25519};

fuzz_target!(|input: Input| ed25519::check(&input));

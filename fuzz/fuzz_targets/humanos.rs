//! The `humanos` target: [`tower_hmac_fuzz::humanos::check`] on every input libFuzzer makes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_hmac_fuzz::{Input, humanos};

fuzz_target!(|input: Input| humanos::check(&input));

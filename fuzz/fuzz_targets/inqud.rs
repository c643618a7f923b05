//! The `inqud` target: [`tower_hmac_fuzz::inqud::check`] on every input libFuzzer makes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_hmac_fuzz::{Input, inqud};

fuzz_target!(|input: Input| inqud::check(&input));

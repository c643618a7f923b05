//! The `proficient` target: [`tower_hmac_fuzz::proficient::check`] on every input libFuzzer makes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_hmac_fuzz::{Input, proficient};

fuzz_target!(|input: Input| proficient::check(&input));

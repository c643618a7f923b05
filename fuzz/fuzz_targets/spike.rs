//! The `spike` target: [`tower_hmac_fuzz::spike::check`] on every input libFuzzer makes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_hmac_fuzz::spike::{self, SpikeInput};

fuzz_target!(|input: SpikeInput| spike::check(&input));

//! Humanos: `Authorization: Bearer`, `X-Timestamp`, `X-Signature` and the body.

use std::time::Duration;

use super::{
    BODY_LIMIT, Input, NOW_MS, SECRET, SetStore, agree, block_on, build, fuzzer_sets_any, is_grpc,
    now, over_limit, serve_body_signed,
};
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::{Key, KeySecret, ManualClock, MemoryKeyStore, Scheme, Secret};

/// The scheme's header names the fuzzer picks from (then [`EXTRA`](super::EXTRA)).
pub const NAMES: [&str; 3] = ["authorization", "x-timestamp", "x-signature"];
/// Key ids of the harness's key store ([`Signed::key`](super::Signed::key) picks one); the last
/// one is unknown.
pub const KEYS: [&str; 5] = [
    "KEY_LIVE",
    "KEY_REVOKED",
    "KEY_EXPIRED",
    "KEY_SECRET_EXPIRED",
    "KEY_UNKNOWN",
];

fn layer() -> HumanosVerifyLayer {
    let secret = Secret::new(SECRET).unwrap();
    let before = now() - Duration::from_secs(1);
    let keys = MemoryKeyStore::new()
        .with(Key::new("KEY_LIVE", secret.clone()))
        .with(Key::new("KEY_REVOKED", secret.clone()).revoked())
        .with(Key::new("KEY_EXPIRED", secret.clone()).expires_at(before))
        .with(Key::from_secrets(
            "KEY_SECRET_EXPIRED",
            [KeySecret::new(secret).not_after(before)],
        ));
    HumanosVerifyLayer::new(keys)
        .clock(ManualClock::new(now()))
        .body_limit(BODY_LIMIT)
        .replay_store(SetStore::default())
}

/// The check libFuzzer drives (`fuzz_targets/humanos.rs`) and `cargo test` replays on the seed corpus.
pub fn check(input: &Input) {
    let secret = Secret::new(SECRET).unwrap();
    let mut first = Vec::new();
    let mut forbidden: Vec<Vec<u8>> = vec![SECRET.as_bytes().to_vec()];
    let mut must_pass = false;
    let mut live_and_fresh = false;
    if let Some(signed) = &input.signed {
        let key = KEYS[usize::from(signed.key) % KEYS.len()];
        let ts = NOW_MS.wrapping_add_signed(i64::from(signed.offset_ms));
        let sig = humanos::signature(&secret, ts, &input.body);
        forbidden.push(sig.clone().into_bytes());
        forbidden.push(sig.to_uppercase().into_bytes());
        let sent = if signed.variant & 1 == 1 {
            sig.to_uppercase()
        } else {
            sig
        };
        first.push(("authorization", format!("Bearer {key}").into_bytes()));
        first.push(("x-timestamp", ts.to_string().into_bytes()));
        first.push(("x-signature", sent.into_bytes()));
        live_and_fresh = key == "KEY_LIVE" && signed.offset_ms.unsigned_abs() <= 300_000;
        must_pass = live_and_fresh && !fuzzer_sets_any(input, &NAMES, &NAMES);
    }
    let forbidden: Vec<&[u8]> = forbidden.iter().map(Vec::as_slice).collect();
    let (parts, body) = build(input, &NAMES, &first);

    let parsed = layer().verifier().scheme().credentials(&parts);
    let verified = block_on(layer().verifier().verify(&parts, &body));
    if let Err(refused) = &parsed {
        assert_eq!(
            verified.as_ref().map(|_| ()),
            Err(refused),
            "parse and verify disagree"
        );
    }
    match &verified {
        Ok(caller) => {
            assert!(
                live_and_fresh,
                "accepted a request the harness did not sign: {parts:?}"
            );
            assert_eq!(caller.key_id(), "KEY_LIVE");
        }
        Err(rejection) => assert!(!must_pass, "refused a well-signed request: {rejection}"),
    }

    let answer = serve_body_signed(&layer(), parts.clone(), &body, &forbidden);
    agree(
        &verified,
        &answer,
        is_grpc(&parts),
        over_limit(&parts, &body),
    );
}

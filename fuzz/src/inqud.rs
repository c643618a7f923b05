//! Inqud, both modes: `X-Token-API-Id` with `X-Token-API-Secret`, or with
//! `X-HMAC-SHA256-Signature` and `X-Salt`, and the body.

use std::time::Duration;

use super::{
    BODY_LIMIT, Input, SECRET, SetStore, agree, block_on, build, fuzzer_sets_any, graphic, is_grpc,
    now, over_limit, serve_body_signed,
};
use tower_hmac::inqud::{self, InqudMode, InqudModes, InqudVerifyLayer, MAX_SALT_LEN};
use tower_hmac::{Key, KeySecret, ManualClock, MemoryKeyStore, Scheme, Secret};

/// The scheme's header names the fuzzer picks from (then [`EXTRA`](super::EXTRA)).
pub const NAMES: [&str; 4] = [
    "x-token-api-id",
    "x-token-api-secret",
    "x-hmac-sha256-signature",
    "x-salt",
];
/// Key ids of the harness's key store ([`Signed::key`](super::Signed::key) picks one); the last
/// one is unknown.
pub const KEYS: [&str; 7] = [
    "TKN-live",
    "TKN-hmac-only",
    "TKN-simple-only",
    "TKN-revoked",
    "TKN-expired",
    "TKN-secret-expired",
    "TKN-unknown",
];

fn layer() -> InqudVerifyLayer {
    let secret = Secret::new(SECRET).unwrap();
    let before = now() - Duration::from_secs(1);
    let keys = MemoryKeyStore::new()
        .with(Key::new("TKN-live", secret.clone()))
        .with(Key::new("TKN-hmac-only", secret.clone()).with_policy(InqudModes::HMAC_ONLY))
        .with(Key::new("TKN-simple-only", secret.clone()).with_policy(InqudModes::SIMPLE_ONLY))
        .with(Key::new("TKN-revoked", secret.clone()).revoked())
        .with(Key::new("TKN-expired", secret.clone()).expires_at(before))
        .with(Key::from_secrets(
            "TKN-secret-expired",
            [KeySecret::new(secret).not_after(before)],
        ));
    InqudVerifyLayer::new(keys)
        .clock(ManualClock::new(now()))
        .body_limit(BODY_LIMIT)
        .replay_store(SetStore::default())
}

/// The check libFuzzer drives (`fuzz_targets/inqud.rs`) and `cargo test` replays on the seed corpus.
pub fn check(input: &Input) {
    let secret = Secret::new(SECRET).unwrap();
    let mut first = Vec::new();
    let mut forbidden: Vec<Vec<u8>> = Vec::new();
    let mut must_pass = false;
    let mut may_pass = false;
    if let Some(signed) = &input.signed {
        let key = KEYS[usize::from(signed.key) % KEYS.len()];
        first.push(("x-token-api-id", key.as_bytes().to_vec()));
        let simple = signed.variant & 1 == 1;
        let allowed = match key {
            "TKN-live" => true,
            "TKN-hmac-only" => !simple,
            "TKN-simple-only" => simple,
            _ => false,
        };
        if simple {
            first.push(("x-token-api-secret", SECRET.as_bytes().to_vec()));
            may_pass = allowed;
        } else {
            let salt = String::from_utf8_lossy(&signed.text).into_owned();
            let sig = inqud::signature(&secret, &input.body, &salt);
            forbidden.push(sig.clone().into_bytes());
            forbidden.push(sig.to_uppercase().into_bytes());
            let sent = if signed.variant & 2 == 2 {
                sig.to_uppercase()
            } else {
                sig
            };
            first.push(("x-hmac-sha256-signature", sent.into_bytes()));
            first.push(("x-salt", salt.clone().into_bytes()));
            may_pass = allowed && graphic(salt.as_bytes()) && salt.len() <= MAX_SALT_LEN;
        }
        must_pass = may_pass && !fuzzer_sets_any(input, &NAMES, &NAMES);
    }
    // The secret itself is legitimately sent in simple mode; it must never come back.
    forbidden.push(SECRET.as_bytes().to_vec());
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
    // Simple mode authenticates with the secret itself, and the fuzzer can find that constant (a
    // seed even sends it): a request carrying it may pass in simple mode, as from anyone holding
    // the secret.
    let sends_secret = parts
        .headers
        .get_all("x-token-api-secret")
        .iter()
        .any(|value| value.as_bytes() == SECRET.as_bytes());
    match &verified {
        Ok(caller) => {
            let simple = matches!(caller.identity().mode(), InqudMode::Simple);
            assert!(
                may_pass || (sends_secret && simple),
                "accepted a request the harness did not sign: {parts:?}"
            );
            assert!(caller.key_id().starts_with("TKN-"));
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

//! Proficient: `X-PROFICIENT-API-KEY`, `X-PROFICIENT-USER-EXTERNAL-ID`, `X-PROFICIENT-USER-HMAC`.

use std::time::Duration;

use super::{
    Input, SECRET, agree, block_on, build, fuzzer_sets_any, is_grpc, now, serve_headers_only,
};
use tower_hmac::proficient::{
    MAX_EXTERNAL_ID_LEN, ProficientHmac, ProficientVerifyLayer, user_hmac,
};
use tower_hmac::{Key, KeySecret, ManualClock, MemoryKeyStore, Scheme, Secret};

/// The scheme's header names the fuzzer picks from (then [`EXTRA`](super::EXTRA)).
pub const NAMES: [&str; 3] = [
    "x-proficient-api-key",
    "x-proficient-user-external-id",
    "x-proficient-user-hmac",
];
/// Key ids of the harness's key store ([`Signed::key`](super::Signed::key) picks one); the last
/// one is unknown.
pub const KEYS: [&str; 7] = [
    "pk_required",
    "pk_optional",
    "pk_no_policy",
    "pk_revoked",
    "pk_expired",
    "pk_secret_expired",
    "pk_unknown",
];

fn layer() -> ProficientVerifyLayer {
    let secret = Secret::new(SECRET).unwrap();
    let before = now() - Duration::from_secs(1);
    let optional = ProficientHmac::Optional;
    let keys = MemoryKeyStore::new()
        .with(Key::new("pk_required", secret.clone()).with_policy(ProficientHmac::Required))
        .with(Key::new("pk_optional", secret.clone()).with_policy(optional))
        .with(Key::new("pk_no_policy", secret.clone()))
        .with(
            Key::new("pk_revoked", secret.clone())
                .with_policy(optional)
                .revoked(),
        )
        .with(
            Key::new("pk_expired", secret.clone())
                .with_policy(optional)
                .expires_at(before),
        )
        .with(Key::from_secrets(
            "pk_secret_expired",
            [KeySecret::new(secret).not_after(before)],
        ));
    ProficientVerifyLayer::new(keys).clock(ManualClock::new(now()))
}

fn valid_external_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_EXTERNAL_ID_LEN
        && id.iter().all(|b| (0x20..0x7f).contains(b))
        && id.first() != Some(&b' ')
        && id.last() != Some(&b' ')
}

/// The check libFuzzer drives (`fuzz_targets/proficient.rs`) and `cargo test` replays on the seed corpus.
pub fn check(input: &Input) {
    let secret = Secret::new(SECRET).unwrap();
    let mut first = Vec::new();
    let mut forbidden: Vec<Vec<u8>> = vec![SECRET.as_bytes().to_vec()];
    let mut signed_live = false;
    let mut must_pass = false;
    if let Some(signed) = &input.signed {
        let key = KEYS[usize::from(signed.key) % KEYS.len()];
        let id = String::from_utf8_lossy(&signed.text).into_owned();
        first.push(("x-proficient-api-key", key.as_bytes().to_vec()));
        first.push(("x-proficient-user-external-id", id.clone().into_bytes()));
        let hmac = user_hmac(&secret, &id);
        forbidden.push(hmac.clone().into_bytes());
        let with_hmac = signed.variant & 1 == 0;
        if with_hmac {
            first.push(("x-proficient-user-hmac", hmac.into_bytes()));
        }
        let live = ["pk_required", "pk_optional", "pk_no_policy"].contains(&key);
        signed_live = with_hmac && live && valid_external_id(id.as_bytes());
        let unsigned_ok = !with_hmac && key == "pk_optional" && valid_external_id(id.as_bytes());
        must_pass = (signed_live || unsigned_ok) && !fuzzer_sets_any(input, &NAMES, &NAMES);
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
        Ok(user) if user.identity().hmac_verified() => {
            assert!(
                signed_live,
                "accepted an HMAC the harness did not compute: {parts:?}"
            );
        }
        Ok(user) => {
            assert_eq!(
                user.key_id(),
                "pk_optional",
                "unsigned request let through: {parts:?}"
            );
            assert!(user.secret().is_none());
            assert_eq!(user.identity().verified_external_id(), None);
        }
        Err(rejection) => assert!(!must_pass, "refused a well-signed request: {rejection}"),
    }

    let answer = serve_headers_only(&layer(), parts.clone(), &body, &forbidden);
    agree(&verified, &answer, is_grpc(&parts), false);
}

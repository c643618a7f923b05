//! Property tests: what a client signs is accepted, and any single change is refused.
//!
//! For every scheme on main, arbitrary values the protocol allows (key ids, external ids, salts
//! and secrets within the documented alphabets and bounds, any body, timestamps anywhere inside
//! the window) are signed with the crate's signer and must verify. Then one byte of one part is
//! changed, and the request must be refused with the rejection that change determines. Checked
//! with `Verifier::verify` and a `ManualClock`, no server. Case counts are kept modest so that
//! `cargo test` stays fast.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use futures_util::FutureExt as _;
use http::Request;
use http::request::Parts;
use proptest::prelude::*;
use proptest::sample::Index;
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::inqud::{self, InqudMode, InqudVerifyLayer, MAX_SALT_LEN};
use tower_hmac::proficient::{
    MAX_EXTERNAL_ID_LEN, ProficientHmac, ProficientVerifyLayer, user_hmac,
};
use tower_hmac::{Key, ManualClock, MemoryKeyStore, Rejection, RejectionKind, Secret, Verified};

const NOW_MS: u64 = 1_763_800_000_000;
const WINDOW_MS: u64 = 300_000;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_millis(NOW_MS))
}

fn parts(headers: &[(&str, &str)]) -> Parts {
    let mut req = Request::post("/x");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(()).unwrap().into_parts().0
}

/// Every store used here answers at once.
fn ready<F: std::future::Future>(future: F) -> F::Output {
    future
        .now_or_never()
        .expect("the verifier did not complete at once")
}

fn kind<T>(result: Result<Verified<T>, Rejection>) -> Option<RejectionKind> {
    result.err().map(|r| r.kind())
}

/// Visible ASCII without space: Bearer tokens, token ids, salts.
fn graphic(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[!-~]{{1,{max}}}")).unwrap()
}

/// A secret as the vendors hand them out: any non-empty bytes.
fn secret_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..64)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..512)
}

/// Replaces the character at `at` with another from `alphabet`, different from the original.
fn replace_char(text: &str, at: Index, pick: Index, alphabet: &[u8]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let i = at.index(bytes.len());
    let others: Vec<u8> = alphabet
        .iter()
        .copied()
        .filter(|&c| c != bytes[i])
        .collect();
    bytes[i] = others[pick.index(others.len())];
    String::from_utf8(bytes).unwrap()
}

fn graphic_alphabet() -> Vec<u8> {
    (b'!'..=b'~').collect()
}

/// Hex digits whose value differs from `c`'s (either case: `a` and `A` are the same digit).
fn other_hex_digit(c: u8, pick: Index) -> u8 {
    let value = (c as char).to_digit(16).unwrap();
    let others: Vec<u8> = b"0123456789abcdefABCDEF"
        .iter()
        .copied()
        .filter(|&d| (d as char).to_digit(16).unwrap() != value)
        .collect();
    others[pick.index(others.len())]
}

fn flip_body_byte(body: &[u8], at: Index, mask: u8) -> Vec<u8> {
    let mut changed = body.to_vec();
    let i = at.index(changed.len());
    changed[i] ^= mask;
    changed
}

// ---------------------------------------------------------------------------------------------
// Humanos

/// What a changed timestamp must give: out of the window on either side, or a wrong signature.
fn humanos_timestamp_outcome(ts: u64) -> RejectionKind {
    if ts > NOW_MS + WINDOW_MS {
        RejectionKind::FutureTimestamp
    } else if ts + WINDOW_MS < NOW_MS {
        RejectionKind::StaleTimestamp
    } else {
        RejectionKind::InvalidSignature
    }
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn humanos_signed_requests_verify_and_any_single_change_is_refused(
        api_key in graphic(64),
        secret in secret_bytes(),
        offset in -(WINDOW_MS as i64)..=(WINDOW_MS as i64),
        body in body(),
        upper in any::<bool>(),
        at in any::<Index>(),
        pick in any::<Index>(),
        mask in 1u8..=255,
    ) {
        let secret = Secret::new(secret).unwrap();
        let keys = MemoryKeyStore::new().with(Key::new(api_key.as_str(), secret.clone()));
        let layer = HumanosVerifyLayer::new(keys).clock(clock());
        let ts = NOW_MS.checked_add_signed(offset).unwrap();
        let ts_text = ts.to_string();
        let sig = humanos::signature(&secret, ts, &body);
        let sent = if upper { sig.to_uppercase() } else { sig.clone() };
        let bearer = format!("Bearer {api_key}");
        let request = |bearer: &str, ts: &str, sig: &str| {
            parts(&[("authorization", bearer), ("x-timestamp", ts), ("x-signature", sig)])
        };
        let verify = |req: &Parts, body: &[u8]| kind(ready(layer.verifier().verify(req, body)));

        // Accepted, with the identity the headers carry.
        let original = request(&bearer, &ts_text, &sent);
        let verified = ready(layer.verifier().verify(&original, &body)).unwrap();
        prop_assert_eq!(verified.key_id(), api_key.as_str());
        prop_assert_eq!(verified.identity().timestamp_ms(), ts);

        // Body: one byte changed, one byte added, one byte removed.
        if !body.is_empty() {
            let changed = flip_body_byte(&body, at, mask);
            prop_assert_eq!(verify(&original, &changed), Some(RejectionKind::InvalidSignature));
            prop_assert_eq!(
                verify(&original, &body[..body.len() - 1]),
                Some(RejectionKind::InvalidSignature)
            );
        }
        let mut longer = body.clone();
        longer.push(mask);
        prop_assert_eq!(verify(&original, &longer), Some(RejectionKind::InvalidSignature));

        // Signature: another hex digit is another MAC; a non-hex character is malformed.
        let i = at.index(64);
        let mut changed = sent.clone().into_bytes();
        changed[i] = other_hex_digit(changed[i], pick);
        let changed = String::from_utf8(changed).unwrap();
        prop_assert_eq!(
            verify(&request(&bearer, &ts_text, &changed), &body),
            Some(RejectionKind::InvalidSignature)
        );
        let mut not_hex = sent.clone().into_bytes();
        not_hex[i] = b"gGzZ-_ +./"[pick.index(10)];
        let not_hex = String::from_utf8(not_hex).unwrap();
        prop_assert_eq!(
            verify(&request(&bearer, &ts_text, &not_hex), &body),
            Some(RejectionKind::MalformedCredentials)
        );

        // Timestamp: one digit changed lands outside the window or breaks the signature; the same
        // instant written with a leading zero is another message.
        let changed_ts = replace_char(&ts_text, at, pick, b"0123456789");
        let expected = humanos_timestamp_outcome(changed_ts.parse().unwrap());
        prop_assert_eq!(
            verify(&request(&bearer, &changed_ts, &sent), &body),
            Some(expected)
        );
        prop_assert_eq!(
            verify(&request(&bearer, &format!("0{ts_text}"), &sent), &body),
            Some(RejectionKind::InvalidSignature)
        );

        // Key id: any other id is unknown.
        let other_key = replace_char(&api_key, at, pick, &graphic_alphabet());
        prop_assert_eq!(
            verify(&request(&format!("Bearer {other_key}"), &ts_text, &sent), &body),
            Some(RejectionKind::UnknownKey)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Inqud, HMAC mode

fn token_id() -> impl Strategy<Value = String> {
    graphic(48).prop_map(|rest| format!("TKN-{rest}"))
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn inqud_hmac_signed_requests_verify_and_any_single_change_is_refused(
        token in token_id(),
        secret in secret_bytes(),
        salt in graphic(MAX_SALT_LEN),
        body in body(),
        upper in any::<bool>(),
        at in any::<Index>(),
        pick in any::<Index>(),
        mask in 1u8..=255,
    ) {
        let secret = Secret::new(secret).unwrap();
        let keys = MemoryKeyStore::new().with(Key::new(token.as_str(), secret.clone()));
        let layer = InqudVerifyLayer::new(keys).clock(clock());
        let sig = inqud::signature(&secret, &body, &salt);
        let sent = if upper { sig.to_uppercase() } else { sig.clone() };
        let request = |token: &str, sig: &str, salt: &str| {
            parts(&[("x-token-api-id", token), ("x-hmac-sha256-signature", sig), ("x-salt", salt)])
        };
        let verify = |req: &Parts, body: &[u8]| kind(ready(layer.verifier().verify(req, body)));

        // Every refusal below happens before the salt is recorded, so the original request is
        // checked last and still accepted.
        let original = request(&token, &sent, &salt);

        if !body.is_empty() {
            let changed = flip_body_byte(&body, at, mask);
            prop_assert_eq!(verify(&original, &changed), Some(RejectionKind::InvalidSignature));
        }
        let mut longer = body.clone();
        longer.push(mask);
        prop_assert_eq!(verify(&original, &longer), Some(RejectionKind::InvalidSignature));

        let i = at.index(64);
        let mut changed = sent.clone().into_bytes();
        changed[i] = other_hex_digit(changed[i], pick);
        prop_assert_eq!(
            verify(&request(&token, std::str::from_utf8(&changed).unwrap(), &salt), &body),
            Some(RejectionKind::InvalidSignature)
        );

        let other_salt = replace_char(&salt, at, pick, &graphic_alphabet());
        prop_assert_eq!(
            verify(&request(&token, &sent, &other_salt), &body),
            Some(RejectionKind::InvalidSignature)
        );

        // The id after the TKN- prefix changed: unknown; the prefix itself changed: malformed.
        let rest = &token["TKN-".len()..];
        let other_token = format!("TKN-{}", replace_char(rest, at, pick, &graphic_alphabet()));
        prop_assert_eq!(
            verify(&request(&other_token, &sent, &salt), &body),
            Some(RejectionKind::UnknownKey)
        );
        let broken_prefix = replace_char(&token[..4], at, pick, b"TKN-tkn_");
        prop_assert_eq!(
            verify(&request(&format!("{broken_prefix}{rest}"), &sent, &salt), &body),
            Some(RejectionKind::MalformedCredentials)
        );

        let verified = ready(layer.verifier().verify(&original, &body)).unwrap();
        prop_assert_eq!(verified.key_id(), token.as_str());
        prop_assert_eq!(verified.identity().mode(), InqudMode::Hmac);
        prop_assert_eq!(verified.identity().salt(), Some(salt.as_str()));

        // Once accepted, the same request is a replay.
        prop_assert_eq!(verify(&original, &body), Some(RejectionKind::Replayed));
    }

    /// The signed message is `body ++ salt` with nothing between, so moving bytes across the
    /// boundary keeps the signature valid while making a salt never seen before. Once the original
    /// was accepted, every such re-split must be refused as a replay.
    #[test]
    fn inqud_moving_bytes_between_body_and_salt_does_not_replay(
        token in token_id(),
        secret in secret_bytes(),
        salt in graphic(MAX_SALT_LEN),
        tail in graphic(16),
        head in proptest::collection::vec(any::<u8>(), 0..64),
        at in any::<Index>(),
    ) {
        // A body ending in salt characters, so that they can move into the salt.
        let body = [head.as_slice(), tail.as_bytes()].concat();
        let secret = Secret::new(secret).unwrap();
        let keys = MemoryKeyStore::new().with(Key::new(token.as_str(), secret.clone()));
        let layer = InqudVerifyLayer::new(keys).clock(clock());
        let sig = inqud::signature(&secret, &body, &salt);
        let request = |salt: &str| {
            parts(&[("x-token-api-id", &token), ("x-hmac-sha256-signature", &sig), ("x-salt", salt)])
        };
        ready(layer.verifier().verify(&request(&salt), &body)).unwrap();

        // Salt characters moved to the end of the body.
        let k = 1 + at.index(salt.len());
        if k < salt.len() {
            let moved = [body.as_slice(), &salt.as_bytes()[..k]].concat();
            prop_assert_eq!(
                kind(ready(layer.verifier().verify(&request(&salt[k..]), &moved))),
                Some(RejectionKind::Replayed)
            );
        }
        // Body characters moved to the start of the salt (while the salt stays within bounds).
        let k = 1 + at.index(tail.len());
        let new_salt = format!("{}{salt}", &tail[tail.len() - k..]);
        if new_salt.len() <= MAX_SALT_LEN {
            let shorter = &body[..body.len() - k];
            prop_assert_eq!(
                kind(ready(layer.verifier().verify(&request(&new_salt), shorter))),
                Some(RejectionKind::Replayed)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Inqud, simple mode

/// A secret that can travel in a header: printable ASCII, no space at either end.
fn header_secret() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[!-~]([ -~]{0,62}[!-~])?").unwrap()
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn inqud_simple_secrets_verify_and_any_single_change_is_refused(
        token in token_id(),
        secret in header_secret(),
        body in body(),
        at in any::<Index>(),
        pick in any::<Index>(),
    ) {
        let keys = MemoryKeyStore::new()
            .with(Key::new(token.as_str(), Secret::new(secret.as_str()).unwrap()));
        let layer = InqudVerifyLayer::new(keys).clock(clock());
        let request = |token: &str, secret: &str| {
            parts(&[("x-token-api-id", token), ("x-token-api-secret", secret)])
        };
        let verify = |req: &Parts| kind(ready(layer.verifier().verify(req, &body)));

        // Accepted, again and again: simple mode has no nonce.
        for _ in 0..2 {
            let verified = ready(layer.verifier().verify(&request(&token, &secret), &body)).unwrap();
            prop_assert_eq!(verified.key_id(), token.as_str());
            prop_assert_eq!(verified.identity().mode(), InqudMode::Simple);
        }

        let changed = replace_char(&secret, at, pick, &graphic_alphabet());
        prop_assert_eq!(verify(&request(&token, &changed)), Some(RejectionKind::InvalidSignature));
        let longer = format!("{secret}x");
        prop_assert_eq!(verify(&request(&token, &longer)), Some(RejectionKind::InvalidSignature));
        if secret.len() > 1 {
            let shorter = secret[..secret.len() - 1].trim_end();
            prop_assert_eq!(
                verify(&request(&token, shorter)),
                Some(RejectionKind::InvalidSignature)
            );
        }

        let rest = &token["TKN-".len()..];
        let other_token = format!("TKN-{}", replace_char(rest, at, pick, &graphic_alphabet()));
        prop_assert_eq!(
            verify(&request(&other_token, &secret)),
            Some(RejectionKind::UnknownKey)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Proficient

fn publishable_key() -> impl Strategy<Value = String> {
    graphic(48).prop_map(|rest| format!("pk_{rest}"))
}

/// 1 to 256 printable ASCII characters, no space at either end.
fn external_id() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!(
        "[!-~]([ -~]{{0,{}}}[!-~])?",
        MAX_EXTERNAL_ID_LEN - 2
    ))
    .unwrap()
}

const BASE64_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.";

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn proficient_user_hmacs_verify_and_any_single_change_is_refused(
        api_key in publishable_key(),
        secret in secret_bytes(),
        user in external_id(),
        optional in any::<bool>(),
        at in any::<Index>(),
        pick in any::<Index>(),
    ) {
        let secret = Secret::new(secret).unwrap();
        let policy = if optional { ProficientHmac::Optional } else { ProficientHmac::Required };
        let keys = MemoryKeyStore::new()
            .with(Key::new(api_key.as_str(), secret.clone()).with_policy(policy));
        let layer = ProficientVerifyLayer::new(keys).clock(clock());
        let hmac = user_hmac(&secret, &user);
        let request = |key: &str, user: &str, hmac: &str| {
            parts(&[
                ("x-proficient-api-key", key),
                ("x-proficient-user-external-id", user),
                ("x-proficient-user-hmac", hmac),
            ])
        };
        let verify = |req: &Parts| kind(ready(layer.verifier().verify(req, b"")));

        let verified = ready(layer.verifier().verify(&request(&api_key, &user, &hmac), b"")).unwrap();
        prop_assert_eq!(verified.key_id(), api_key.as_str());
        prop_assert_eq!(verified.identity().verified_external_id(), Some(user.as_str()));

        // Another user's id under this user's HMAC.
        let other_user = replace_char(&user, at, pick, &graphic_alphabet());
        prop_assert_eq!(
            verify(&request(&api_key, &other_user, &hmac)),
            Some(RejectionKind::InvalidSignature)
        );

        // One character of the HMAC changed: another tag if it still decodes as standard padded
        // base64 of 32 bytes, malformed otherwise (URL-safe characters, misplaced padding,
        // non-zero trailing bits).
        let changed = replace_char(&hmac, at, pick, BASE64_ALPHABET);
        let decodes = base64::engine::general_purpose::STANDARD
            .decode(&changed)
            .is_ok_and(|bytes| bytes.len() == 32);
        let expected = if decodes {
            RejectionKind::InvalidSignature
        } else {
            RejectionKind::MalformedCredentials
        };
        prop_assert_eq!(verify(&request(&api_key, &user, &changed)), Some(expected));

        let other_key = format!("pk_{}", replace_char(&api_key[3..], at, pick, &graphic_alphabet()));
        prop_assert_eq!(
            verify(&request(&other_key, &user, &hmac)),
            Some(RejectionKind::UnknownKey)
        );

        // Without the HMAC: let through unverified in optional mode only.
        let unsigned = parts(&[
            ("x-proficient-api-key", &api_key),
            ("x-proficient-user-external-id", &user),
        ]);
        match ready(layer.verifier().verify(&unsigned, b"")) {
            Ok(user) => {
                prop_assert!(optional);
                prop_assert_eq!(user.identity().verified_external_id(), None);
                prop_assert!(user.secret().is_none());
            }
            Err(rejection) => {
                prop_assert!(!optional);
                prop_assert_eq!(rejection.kind(), RejectionKind::MissingCredentials);
            }
        }
    }
}

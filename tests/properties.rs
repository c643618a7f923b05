//! Property tests: what a client signs is accepted, and any single change is refused.
//!
//! For every scheme, arbitrary values the protocol allows (key ids, external ids, salts
//! and secrets within the documented alphabets and bounds, any body, timestamps anywhere inside
//! the window) are signed with the crate's signer and must verify. Then one byte of one part is
//! changed, and the request must be refused with the rejection that change determines. Checked
//! with `Verifier::verify` and a `ManualClock`, no server (Spike, which has no `Verifier`, through
//! `SpikeExchange::exchange` and its bearer layer as a tower service). Case counts are kept modest so that
//! `cargo test` stays fast.

use std::convert::Infallible;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::FutureExt as _;
use http::Request;
use http::request::Parts;
use http_body_util::{BodyExt as _, Full};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use tower::{Layer as _, ServiceExt as _, service_fn};
use tower_hmac::crypto::Ed25519PrivateKey;
use tower_hmac::discord::{self, DiscordVerifyLayer};
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::inqud::{self, InqudMode, InqudVerifyLayer, MAX_SALT_LEN};
use tower_hmac::proficient::{
    MAX_EXTERNAL_ID_LEN, ProficientHmac, ProficientVerifyLayer, user_hmac,
};
use tower_hmac::spike::{SpikeBearerLayer, SpikeExchange, SpikeTokenKeys, SpikeUser, sign_user};
use tower_hmac::standard::{self, StandardVerifyLayer};
use tower_hmac::{Key, ManualClock, MemoryKeyStore, Rejection, RejectionKind, Secret, Verified};

const NOW_MS: u64 = 1_763_800_000_000;
const WINDOW_MS: u64 = 300_000;

/// Failing cases are saved in `tests/properties.regressions` (committed) and replayed first on
/// every run, so a failure found once, on any machine, keeps failing until it is fixed: add the
/// line proptest prints (or the file it wrote) to the commit that fixes it.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
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

// ---------------------------------------------------------------------------------------------
// Spike

/// Application ids as the exchange accepts them in a string: 1 to 128 visible ASCII characters
/// (no `"` or `\`, so that the test can write them into JSON unescaped).
fn application_id() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r"[!#-\[\]-~]{1,128}").unwrap()
}

/// The documented user-id alphabet and bounds.
fn user_id() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r"[A-Za-z0-9_.\-]{1,128}").unwrap()
}

const USER_ID_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

fn exchange_body(application_id: &str, user_id: &str, signature: &str) -> Vec<u8> {
    format!(
        r#"{{"application_id": "{application_id}", "application_user_id": "{user_id}", "signature": "{signature}"}}"#
    )
    .into_bytes()
}

/// Runs the bearer layer on one `Authorization` value: the verified user, or the 401's `error`.
fn bearer_call(layer: &SpikeBearerLayer, authorization: &str) -> Result<(String, String), String> {
    let service = layer.layer(service_fn(|req: Request<Full<Bytes>>| async move {
        let user = req.extensions().get::<Verified<SpikeUser>>().unwrap();
        let body = format!("{}\n{}", user.key_id(), user.identity().user_id());
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(body))))
    }));
    let request = Request::get("/v3/userinfo")
        .header("authorization", authorization)
        .body(Full::default())
        .unwrap();
    let response = ready(service.oneshot(request)).unwrap();
    let status = response.status();
    let body = ready(response.into_body().collect()).unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    if status == http::StatusCode::OK {
        let (app, user) = text.split_once('\n').unwrap();
        Ok((app.to_owned(), user.to_owned()))
    } else {
        assert_eq!(status, http::StatusCode::UNAUTHORIZED, "{text}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        Err(json["error"].as_str().unwrap().to_owned())
    }
}

const BASE64URL_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

proptest! {
    #![proptest_config(config(96))]

    /// The exchange: the signature of the user id under a live application key gets a token; a
    /// signature with one digit changed, another user id under the same signature, or another
    /// application id is refused with the one answer for every wrong credential.
    #[test]
    fn spike_exchange_signatures_verify_and_any_single_change_is_refused(
        app in application_id(),
        secret in secret_bytes(),
        user in user_id(),
        upper in any::<bool>(),
        at in any::<Index>(),
        pick in any::<Index>(),
    ) {
        let secret = Secret::new(secret).unwrap();
        let tokens = SpikeTokenKeys::new(Secret::new([0x42; 32]).unwrap()).unwrap();
        let exchange = SpikeExchange::new(
            MemoryKeyStore::new().with(Key::new(app.as_str(), secret.clone())),
            tokens.clone(),
        ).unwrap();
        let mut signature = sign_user(&secret, &user);
        if upper {
            signature = signature.to_uppercase();
        }
        let run = |body: Vec<u8>| ready(exchange.exchange(&body)).map_err(|r| r.kind());

        let token = run(exchange_body(&app, &user, &signature)).unwrap();
        prop_assert_eq!(
            bearer_call(&SpikeBearerLayer::new(tokens), &format!("Bearer {token}")),
            Ok((app.clone(), user.clone()))
        );

        let mut changed = signature.clone().into_bytes();
        let i = at.index(changed.len());
        changed[i] = other_hex_digit(changed[i], pick);
        let changed = String::from_utf8(changed).unwrap();
        prop_assert_eq!(
            run(exchange_body(&app, &user, &changed)),
            Err(RejectionKind::InvalidSignature)
        );

        let other_user = replace_char(&user, at, pick, USER_ID_ALPHABET);
        prop_assert_eq!(
            run(exchange_body(&app, &other_user, &signature)),
            Err(RejectionKind::InvalidSignature)
        );

        // Another application id: unknown, refused as a wrong signature would be (the exchange
        // answers both with the same bytes).
        let alphabet: Vec<u8> = graphic_alphabet().into_iter().filter(|c| !b"\"\\".contains(c)).collect();
        let other_app = replace_char(&app, at, pick, &alphabet);
        let refused = run(exchange_body(&other_app, &user, &signature)).unwrap_err();
        prop_assert_eq!(refused.code(), "invalid_credentials");
    }

    /// The bearer token: accepted as issued; any single character changed, in any of its three
    /// segments, and the token is refused with a 401.
    #[test]
    fn spike_bearer_tokens_verify_and_any_single_change_is_refused(
        app in application_id(),
        user in user_id(),
        key in proptest::collection::vec(any::<u8>(), 32..64),
        at in any::<Index>(),
        pick in any::<Index>(),
    ) {
        let app_key = Secret::new("application key").unwrap();
        let tokens = SpikeTokenKeys::new(Secret::new(key).unwrap()).unwrap();
        let exchange = SpikeExchange::new(
            MemoryKeyStore::new().with(Key::new(app.as_str(), app_key.clone())),
            tokens.clone(),
        ).unwrap();
        let body = exchange_body(&app, &user, &sign_user(&app_key, &user));
        let token = ready(exchange.exchange(&body)).unwrap();
        let layer = SpikeBearerLayer::new(tokens);
        prop_assert_eq!(
            bearer_call(&layer, &format!("Bearer {token}")),
            Ok((app.clone(), user.clone()))
        );

        // Any character but the two dots, replaced by another base64url character.
        let positions: Vec<usize> = token.bytes().enumerate().filter(|(_, c)| *c != b'.').map(|(i, _)| i).collect();
        let i = positions[at.index(positions.len())];
        let mut changed = token.clone().into_bytes();
        let others: Vec<u8> = BASE64URL_ALPHABET.iter().copied().filter(|&c| c != changed[i]).collect();
        changed[i] = others[pick.index(others.len())];
        let changed = String::from_utf8(changed).unwrap();
        let refused = bearer_call(&layer, &format!("Bearer {changed}")).unwrap_err();
        prop_assert!(
            refused == "invalid_credentials" || refused == "malformed_credentials",
            "{changed}: {refused}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Ed25519: Discord and Standard Webhooks v1a

/// The standard base64 alphabet, without padding.
const STANDARD_BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// An Ed25519 key from 32 arbitrary bytes (its RFC 8032 secret key).
fn ed25519_seed() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

/// What a changed timestamp (seconds) must give: out of the window either way, or a signature
/// that no longer matches.
fn seconds_outcome(ts: u64) -> RejectionKind {
    humanos_timestamp_outcome(ts.saturating_mul(1000))
}

proptest! {
    #![proptest_config(config(64))]

    /// Discord: any key, body and timestamp inside the window verify; one hex digit of the
    /// signature, one body byte, one timestamp digit or the key changed, and the request is
    /// refused with the rejection that change determines.
    #[test]
    fn discord_signed_interactions_verify_and_any_single_change_is_refused(
        seed in ed25519_seed(),
        other_seed in ed25519_seed(),
        offset in -((WINDOW_MS / 1000) as i64)..=((WINDOW_MS / 1000) as i64),
        body in body(),
        upper in any::<bool>(),
        at in any::<Index>(),
        pick in any::<Index>(),
        mask in 1u8..=255,
    ) {
        prop_assume!(seed != other_seed);
        let key = Ed25519PrivateKey::from_bytes(&seed).unwrap();
        let layer = DiscordVerifyLayer::new(Key::new("discord", key.public_key())).clock(clock());
        let ts = (NOW_MS / 1000).checked_add_signed(offset).unwrap().to_string();
        let sig = discord::signature(&key, &ts, &body);
        let sent = if upper { sig.to_uppercase() } else { sig.clone() };
        let request = |sig: &str, ts: &str| {
            parts(&[("x-signature-ed25519", sig), ("x-signature-timestamp", ts)])
        };
        let verify = |req: &Parts, body: &[u8]| kind(ready(layer.verifier().verify(req, body)));

        prop_assert_eq!(verify(&request(&sent, &ts), &body), None);

        if !body.is_empty() {
            let changed = flip_body_byte(&body, at, mask);
            prop_assert_eq!(verify(&request(&sent, &ts), &changed), Some(RejectionKind::InvalidSignature));
        }
        let mut longer = body.clone();
        longer.push(mask);
        prop_assert_eq!(verify(&request(&sent, &ts), &longer), Some(RejectionKind::InvalidSignature));

        // Another hex digit is another signature (of R or of S, never accepted); a character
        // that is not hex is malformed.
        let i = at.index(128);
        let mut changed = sent.clone().into_bytes();
        changed[i] = other_hex_digit(changed[i], pick);
        let changed = String::from_utf8(changed).unwrap();
        prop_assert_eq!(verify(&request(&changed, &ts), &body), Some(RejectionKind::InvalidSignature));
        let mut not_hex = sent.clone().into_bytes();
        not_hex[i] = b"gGzZ-_ +./"[pick.index(10)];
        let not_hex = String::from_utf8(not_hex).unwrap();
        prop_assert_eq!(verify(&request(&not_hex, &ts), &body), Some(RejectionKind::MalformedCredentials));

        // The timestamp is signed as sent: a digit changed is outside the window or another
        // message, and so is the same instant with a leading zero.
        let changed_ts = replace_char(&ts, at, pick, b"0123456789");
        prop_assert_eq!(
            verify(&request(&sent, &changed_ts), &body),
            Some(seconds_outcome(changed_ts.parse().unwrap()))
        );
        prop_assert_eq!(
            verify(&request(&sent, &format!("0{ts}")), &body),
            Some(RejectionKind::InvalidSignature)
        );

        // Another key's signature.
        let other = Ed25519PrivateKey::from_bytes(&other_seed).unwrap();
        let forged = discord::signature(&other, &ts, &body);
        prop_assert_eq!(verify(&request(&forged, &ts), &body), Some(RejectionKind::InvalidSignature));
    }

    /// Standard Webhooks v1a: any key, delivery id, body and timestamp verify; one signature
    /// character, one id character, one body byte or the key changed, and it is refused. A key
    /// holding the private key's public half as an HMAC secret verifies nothing.
    #[test]
    fn standard_v1a_deliveries_verify_and_any_single_change_is_refused(
        seed in ed25519_seed(),
        other_seed in ed25519_seed(),
        id in proptest::string::string_regex("[!-~]{1,64}").unwrap(),
        offset in -((WINDOW_MS / 1000) as i64)..=((WINDOW_MS / 1000) as i64),
        body in body(),
        at in any::<Index>(),
        pick in any::<Index>(),
        mask in 1u8..=255,
    ) {
        prop_assume!(seed != other_seed);
        let key = Ed25519PrivateKey::from_bytes(&seed).unwrap();
        let layer = StandardVerifyLayer::new(Key::new("standard", key.public_key())).clock(clock());
        let ts = (NOW_MS / 1000).checked_add_signed(offset).unwrap();
        let entry = format!("v1a,{}", standard::signature_v1a(&key, &id, ts, &body));
        let request = |id: &str, sig: &str| {
            parts(&[("webhook-id", id), ("webhook-timestamp", &ts.to_string()), ("webhook-signature", sig)])
        };
        let verify = |req: &Parts, body: &[u8]| kind(ready(layer.verifier().verify(req, body)));

        let verified = ready(layer.verifier().verify(&request(&id, &entry), &body)).unwrap();
        prop_assert_eq!(verified.identity().id(), Some(id.as_str()));

        if !body.is_empty() {
            let changed = flip_body_byte(&body, at, mask);
            prop_assert_eq!(verify(&request(&id, &entry), &changed), Some(RejectionKind::InvalidSignature));
        }

        // One of the first 84 base64 characters (each carries 6 bits of the signature) replaced
        // by another: another signature, refused.
        let i = 4 + at.index(84);
        let mut changed = entry.clone().into_bytes();
        let others: Vec<u8> = STANDARD_BASE64.iter().copied().filter(|&c| c != changed[i]).collect();
        changed[i] = others[pick.index(others.len())];
        let changed = String::from_utf8(changed).unwrap();
        prop_assert_eq!(verify(&request(&id, &changed), &body), Some(RejectionKind::InvalidSignature));

        let other_id = replace_char(&id, at, pick, &graphic_alphabet());
        prop_assert_eq!(verify(&request(&other_id, &entry), &body), Some(RejectionKind::InvalidSignature));

        let other = Ed25519PrivateKey::from_bytes(&other_seed).unwrap();
        let forged = format!("v1a,{}", standard::signature_v1a(&other, &id, ts, &body));
        prop_assert_eq!(verify(&request(&id, &forged), &body), Some(RejectionKind::InvalidSignature));
        // The wrong entry first, the right one second: verified.
        prop_assert_eq!(verify(&request(&id, &format!("{forged} {entry}")), &body), None);

        // The same public key's bytes held as an HMAC secret: a v1 made with them (anyone can)
        // verifies nothing, nor does the v1a.
        let as_secret = Secret::new(key.public_key().as_bytes().to_vec()).unwrap();
        let symmetric = StandardVerifyLayer::new(Key::new("standard", as_secret.clone())).clock(clock());
        let v1 = format!("v1,{}", standard::signature(&as_secret, &id, ts, &body));
        let layer_kind = |req: &Parts| kind(ready(layer.verifier().verify(req, &body)));
        prop_assert_eq!(layer_kind(&request(&id, &v1)), Some(RejectionKind::InvalidSignature));
        prop_assert_eq!(
            kind(ready(symmetric.verifier().verify(&request(&id, &entry), &body))),
            Some(RejectionKind::InvalidSignature)
        );
    }
}

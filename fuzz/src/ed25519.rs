//! Ed25519 webhooks: Discord's `X-Signature-Ed25519` and `X-Signature-Timestamp`, Standard
//! Webhooks' `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1a`, and `v1` beside
//! it), and the body. Every input goes to both layers; the harness signs, when it does, for one
//! of them (`Signed::variant` bit 0: Discord, else Standard Webhooks).
//!
//! [`Signed::key`](super::Signed::key) picks what the receivers' key holds ([`KEYS`]): the
//! sender's public key live, revoked or expired, the public key past its end of life, only an
//! HMAC secret (the harness's [`SECRET`]), or nothing (unknown). Only the live public key accepts
//! a `v1a` or a Discord signature, and only the secret accepts a `v1`: the fuzzer can compute
//! neither, so any other acceptance is a bypass.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use tower::{Layer as _, ServiceExt as _, service_fn};
use tower_hmac::crypto::{Ed25519PrivateKey, Ed25519PublicKey};
use tower_hmac::discord::{self, DiscordVerifyLayer};
use tower_hmac::standard::{self, StandardVerifyLayer};
use tower_hmac::webhooks::Delivery;
use tower_hmac::{
    BodySigned, Key, KeySecret, ManualClock, MemoryKeyStore, Scheme, Secret, Verified,
    VerifiedBody, VerifyLayer,
};

use super::{
    Answer, BODY_LIMIT, Input, NOW_MS, SECRET, agree, block_on, build, fuzzer_sets_any, is_grpc,
    now, over_limit, read_response, serve_body_signed,
};

/// The schemes' header names the fuzzer picks from (then [`EXTRA`](super::EXTRA)).
pub const NAMES: [&str; 8] = [
    "x-signature-ed25519",
    "x-signature-timestamp",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
];

/// What the receivers' key holds ([`Signed::key`](super::Signed::key) picks one).
pub const KEYS: [&str; 6] = [
    "public-key-live",
    "public-key-revoked",
    "public-key-expired",
    "public-key-retired",
    "secret-only",
    "unknown",
];

/// The sender's private key: the harness's own 32 bytes, never in an answer.
pub const PRIVATE_KEY: [u8; 32] = *b"harness-ed25519-key-do-not-log!!";

pub fn private_key() -> Ed25519PrivateKey {
    Ed25519PrivateKey::from_bytes(&PRIVATE_KEY).unwrap()
}

fn public_key() -> Ed25519PublicKey {
    private_key().public_key()
}

/// The store of the receivers' key `which` (one of [`KEYS`]), held under `name`.
fn store(which: &str, name: &str) -> MemoryKeyStore {
    let before = now() - Duration::from_secs(1);
    let public = public_key();
    let key = match which {
        "public-key-live" => Key::new(name, public),
        "public-key-revoked" => Key::new(name, public).revoked(),
        "public-key-expired" => Key::new(name, public).expires_at(before),
        "public-key-retired" => Key::from_secrets(name, [KeySecret::new(public).not_after(before)]),
        "secret-only" => Key::new(name, Secret::new(SECRET).unwrap()),
        _ => return MemoryKeyStore::new(),
    };
    MemoryKeyStore::new().with(key)
}

fn discord_layer(which: &str) -> DiscordVerifyLayer {
    DiscordVerifyLayer::new(store(which, "discord"))
        .clock(ManualClock::new(now()))
        .body_limit(BODY_LIMIT)
}

fn standard_layer(which: &str) -> StandardVerifyLayer {
    StandardVerifyLayer::new(store(which, "standard"))
        .clock(ManualClock::new(now()))
        .body_limit(BODY_LIMIT)
}

/// Whether a `webhook-id` the harness signs is one the scheme reads (so that a request the
/// harness signs must pass).
fn valid_id(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= standard::MAX_ID_LEN && id.iter().all(u8::is_ascii_graphic)
}

/// The check libFuzzer drives (`fuzz_targets/ed25519.rs`) and `cargo test` replays on the seed
/// corpus.
pub fn check(input: &Input) {
    let which = input
        .signed
        .as_ref()
        .map_or("unknown", |s| KEYS[usize::from(s.key) % KEYS.len()]);
    let mut first = Vec::new();
    let mut forbidden: Vec<Vec<u8>> = vec![
        SECRET.as_bytes().to_vec(),
        PRIVATE_KEY.to_vec(),
        PRIVATE_KEY
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_bytes(),
    ];
    // Which layer the harness signed for, and whether that layer may (or must) accept.
    let mut discord_may = false;
    let mut standard_may = false;
    let mut must_pass = false;
    if let Some(signed) = &input.signed {
        let seconds = NOW_MS / 1000;
        let offset = i64::from(signed.offset_ms / 1000);
        let ts = seconds.wrapping_add_signed(offset);
        let fresh = offset.unsigned_abs() <= 300;
        if signed.variant & 1 == 1 {
            // Discord: hex, upper case with bit 1; a leading zero on the timestamp with bit 2
            // (signed as sent, so still valid).
            let ts = if signed.variant & 4 == 4 {
                format!("0{ts}")
            } else {
                ts.to_string()
            };
            let signature = discord::signature(&private_key(), &ts, &input.body);
            let sent = if signed.variant & 2 == 2 {
                signature.to_uppercase()
            } else {
                signature
            };
            first.push(("x-signature-ed25519", sent.into_bytes()));
            first.push(("x-signature-timestamp", ts.into_bytes()));
            discord_may = fresh && which == "public-key-live";
            must_pass = discord_may && !fuzzer_sets_any(input, &NAMES[..2], &NAMES);
        } else {
            // Standard Webhooks: the id is the harness's text; bit 1 puts a wrong v1a first,
            // bit 2 a v1 (the HMAC with the secret) beside the v1a.
            let id = String::from_utf8_lossy(&signed.text).into_owned();
            let v1a = format!(
                "v1a,{}",
                standard::signature_v1a(&private_key(), &id, ts, &input.body)
            );
            let mut header = v1a.clone();
            if signed.variant & 2 == 2 {
                let other = Ed25519PrivateKey::from_bytes(&[7; 32]).unwrap();
                let wrong = standard::signature_v1a(&other, &id, ts, &input.body);
                header = format!("v1a,{wrong} {header}");
            }
            let with_v1 = signed.variant & 4 == 4;
            if with_v1 {
                let secret = Secret::new(SECRET).unwrap();
                let v1 = standard::signature(&secret, &id, ts, &input.body);
                forbidden.push(v1.clone().into_bytes());
                header = format!("v1,{v1} {header}");
            }
            first.push(("webhook-id", id.clone().into_bytes()));
            first.push(("webhook-timestamp", ts.to_string().into_bytes()));
            first.push(("webhook-signature", header.into_bytes()));
            let key_verifies = which == "public-key-live" || (with_v1 && which == "secret-only");
            standard_may = fresh && key_verifies && valid_id(id.as_bytes());
            must_pass = standard_may && !fuzzer_sets_any(input, &NAMES[2..5], &NAMES);
        }
    }
    let forbidden: Vec<&[u8]> = forbidden.iter().map(Vec::as_slice).collect();
    let (parts, body) = build(input, &NAMES, &first);

    run(
        &discord_layer(which),
        &parts,
        &body,
        &forbidden,
        discord_may,
        must_pass && discord_may,
    );
    run(
        &standard_layer(which),
        &parts,
        &body,
        &forbidden,
        standard_may,
        must_pass && standard_may,
    );
}

/// One layer: its parser, `verify`, and the layer as a service must agree; it accepts only if
/// `may`, and must if `must`.
fn run<Sch>(
    layer: &VerifyLayer<Sch>,
    parts: &Parts,
    body: &[u8],
    forbidden: &[&[u8]],
    may: bool,
    must: bool,
) where
    Sch: Scheme<Identity = Delivery, Body = BodySigned> + Clone,
{
    let parsed = layer.verifier().scheme().credentials(parts);
    let verified = block_on(layer.verifier().verify(parts, body));
    if let Err(refused) = &parsed {
        assert_eq!(
            verified.as_ref().map(|_| ()),
            Err(refused),
            "parse and verify disagree"
        );
    }
    match &verified {
        Ok(_) => assert!(
            may,
            "accepted a request the harness did not sign: {parts:?}"
        ),
        Err(rejection) => assert!(!must, "refused a well-signed request: {rejection}"),
    }
    let answer = match serve(layer, parts.clone(), body, forbidden) {
        Some(answer) => answer,
        // A PING answered by the layer itself: only once it verified.
        None => {
            assert!(
                verified.is_ok(),
                "a handshake answered to a refused request"
            );
            return;
        }
    };
    agree(&verified, &answer, is_grpc(parts), over_limit(parts, body));
}

/// The layer as a service; `None` when it answered a Discord PING itself (`200 {"type":1}`,
/// the handler not reached).
fn serve<Sch>(
    layer: &VerifyLayer<Sch>,
    parts: Parts,
    body: &[u8],
    forbidden: &[&[u8]],
) -> Option<Answer>
where
    Sch: Scheme<Identity = Delivery, Body = BodySigned> + Clone,
{
    if layer.verifier().scheme().name() != "discord" {
        return Some(serve_body_signed(layer, parts, body, forbidden));
    }
    let expected = Bytes::copy_from_slice(body);
    let handler = service_fn(move |req: Request<VerifiedBody>| {
        let expected = expected.clone();
        async move {
            assert!(req.extensions().get::<Verified<Delivery>>().is_some());
            let got = req.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(got, expected, "the handler must see the verified body");
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handler"))))
        }
    });
    let request = Request::from_parts(parts, Full::new(Bytes::copy_from_slice(body)));
    let response = block_on(layer.layer(handler).oneshot(request)).unwrap();
    let (head, body) = response.into_parts();
    let body = block_on(body.collect()).unwrap().to_bytes();
    if head.status == StatusCode::OK && body.as_ref() == br#"{"type":1}"# {
        assert_eq!(head.headers["content-type"], "application/json");
        return None;
    }
    let handler_ran = body.as_ref() == b"handler";
    Some(read_response(
        Response::from_parts(head, body),
        handler_ran,
        forbidden,
    ))
}

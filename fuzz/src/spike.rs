//! Spike: the token exchange's body parsing and signature check, then the bearer layer on a
//! fuzzer-chosen `Authorization` value or on the issued token with one byte changed.

use std::convert::Infallible;

use super::{Arbitrary, SECRET, block_on, contains, now};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use tower::{Layer as _, ServiceExt as _, service_fn};
use tower_hmac::spike::{SpikeBearerLayer, SpikeExchange, SpikeTokenKeys, SpikeUser, sign_user};
use tower_hmac::{Key, ManualClock, MemoryKeyStore, RejectionKind, Secret, Verified};

/// The server's token key (32 bytes); must never appear in an answer.
const TOKEN_KEY: &[u8; 32] = b"spike-token-key-harness-32-bytes";

#[derive(Debug, Arbitrary)]
pub struct SpikeInput {
    /// How the exchange body is made.
    pub body: BodyInput,
    /// What the bearer layer is given.
    pub bearer: BearerInput,
}

#[derive(Debug, Arbitrary)]
pub enum BodyInput {
    /// Raw bytes: the parser on anything.
    Raw(Vec<u8>),
    /// A JSON body the harness signs for `user` (the application id as a number or a string),
    /// followed by fuzzer bytes inside the object.
    Signed {
        user: Vec<u8>,
        app_as_number: bool,
        upper: bool,
        extra: Vec<u8>,
    },
}

#[derive(Debug, Arbitrary)]
pub enum BearerInput {
    /// Any header value.
    Raw(Vec<u8>),
    /// `Bearer <issued token>` with the byte at `at` xored with `mask` (0: unchanged).
    Issued { at: u16, mask: u8 },
}

fn keys() -> SpikeTokenKeys {
    SpikeTokenKeys::new(Secret::new(TOKEN_KEY.to_vec()).unwrap()).unwrap()
}

fn exchange() -> SpikeExchange {
    let applications = MemoryKeyStore::new()
        .with(Key::new("9999", Secret::new(SECRET).unwrap()))
        .with(Key::new("revoked", Secret::new(SECRET).unwrap()).revoked());
    SpikeExchange::new(applications, keys())
        .expect("token keys are not application keys")
        .clock(ManualClock::new(now()))
}

/// The token the harness's exchange issues to `user` of application 9999.
pub fn issued_token(user: &str) -> String {
    let signature = sign_user(&Secret::new(SECRET).unwrap(), user);
    let body = format!(
        r#"{{"application_id": 9999, "application_user_id": "{user}", "signature": "{signature}"}}"#
    );
    block_on(exchange().exchange(body.as_bytes())).unwrap()
}

fn valid_user_id(user: &[u8]) -> bool {
    (1..=128).contains(&user.len())
        && user
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
}

/// The bearer layer's answer: the verified (application, user), or the 401's body.
fn bearer(value: &[u8], forbidden: &[&[u8]]) -> Result<(String, String), Bytes> {
    let Ok(value) = HeaderValue::from_bytes(value) else {
        return Err(Bytes::new());
    };
    let service = SpikeBearerLayer::new(keys())
        .clock(ManualClock::new(now()))
        .layer(service_fn(|req: Request<Full<Bytes>>| async move {
            let user = req.extensions().get::<Verified<SpikeUser>>().unwrap();
            let body = format!("{}\n{}", user.key_id(), user.identity().user_id());
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
        }));
    let mut request = Request::get("/v3/userinfo").body(Full::default()).unwrap();
    request.headers_mut().insert("authorization", value);
    let response = block_on(service.oneshot(request)).unwrap();
    let (parts, body) = response.into_parts();
    let body = block_on(body.collect()).unwrap().to_bytes();
    for needle in forbidden {
        assert!(!contains(&body, needle), "secret in a bearer answer");
    }
    if parts.status == StatusCode::OK {
        let text = std::str::from_utf8(&body).unwrap();
        let (app, user) = text.split_once('\n').unwrap();
        Ok((app.to_owned(), user.to_owned()))
    } else {
        assert_eq!(parts.status, StatusCode::UNAUTHORIZED);
        assert!(body.starts_with(b"{\"error\":\""), "{body:?}");
        Err(body)
    }
}

/// The check libFuzzer drives (`fuzz_targets/spike.rs`) and `cargo test` replays on the seed corpus.
pub fn check(input: &SpikeInput) {
    let secret = Secret::new(SECRET).unwrap();
    // The user whose signature the harness put in the body, if any.
    let (body, signed_user, must_pass) = match &input.body {
        BodyInput::Raw(bytes) => (bytes.clone(), None, false),
        BodyInput::Signed {
            user,
            app_as_number,
            upper,
            extra,
        } => {
            let user_text = String::from_utf8_lossy(user).into_owned();
            let mut signature = sign_user(&secret, &user_text);
            if *upper {
                signature = signature.to_uppercase();
            }
            let app = if *app_as_number { "9999" } else { "\"9999\"" };
            let mut body = format!(
                r#"{{"application_id": {app}, "application_user_id": "{user_text}", "signature": "{signature}""#
            )
            .into_bytes();
            body.extend_from_slice(extra);
            body.push(b'}');
            let plain = valid_user_id(user) && extra.is_empty();
            (body, Some(user_text), plain)
        }
    };

    let result = block_on(exchange().exchange(&body));
    let token = match result {
        Ok(token) => {
            // The fuzzer cannot make an HMAC: a token is issued only for the user the harness
            // signed, and only if that user id is allowed.
            let user = signed_user
                .as_deref()
                .expect("a token for a body the harness did not sign");
            assert!(valid_user_id(user.as_bytes()));
            let issued = bearer(
                format!("Bearer {token}").as_bytes(),
                &[TOKEN_KEY, SECRET.as_bytes()],
            );
            assert_eq!(issued, Ok(("9999".to_owned(), user.to_owned())));
            Some(token)
        }
        Err(rejection) => {
            assert!(!must_pass, "refused a well-signed exchange: {rejection}");
            assert!(
                matches!(
                    rejection.kind(),
                    RejectionKind::InvalidRequest
                        | RejectionKind::MalformedCredentials
                        | RejectionKind::InvalidSignature
                        | RejectionKind::UnknownKey
                        | RejectionKind::KeyRevoked
                ),
                "unexpected {rejection}"
            );
            None
        }
    };

    let forbidden: [&[u8]; 2] = [TOKEN_KEY, SECRET.as_bytes()];
    match (&input.bearer, &token) {
        (BearerInput::Issued { at, mask }, Some(token)) => {
            let mut value = format!("Bearer {token}").into_bytes();
            let i = usize::from(*at) % value.len();
            value[i] ^= mask;
            let answer = bearer(&value, &forbidden);
            if *mask == 0 {
                assert!(answer.is_ok());
            } else if let Ok(who) = answer {
                // Only a change the token format ignores may pass (the scheme name's case):
                // never another identity.
                assert!(
                    i < "Bearer".len(),
                    "a changed token was accepted at byte {i}"
                );
                assert_eq!(who.1, signed_user.unwrap());
            }
        }
        (BearerInput::Raw(value), _) => {
            // Only tokens the harness's exchange issued could verify; none was issued from raw
            // bytes, so any acceptance must be the issued token itself.
            if let Ok(who) = bearer(value, &forbidden) {
                let token = token.as_deref().expect("accepted a token nobody issued");
                assert!(contains(value, token.as_bytes()));
                assert_eq!(Some(who.1), signed_user);
            }
        }
        _ => {}
    }
}

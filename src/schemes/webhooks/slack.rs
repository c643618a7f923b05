//! Slack: an HMAC-SHA256 of the timestamp and the raw body, and the Events API's
//! `url_verification` handshake.
//!
//! Slack signs every request it sends an app (Events API, slash commands, interactivity) with the
//! app's signing secret ([Verifying requests from
//! Slack](https://docs.slack.dev/authentication/verifying-requests-from-slack), `slack_sdk`'s
//! `SignatureVerifier`):
//!
//! ```text
//! X-Slack-Request-Timestamp: <unix seconds>
//! X-Slack-Signature:         v0=<hex HMAC-SHA256(signing secret, "v0:{timestamp}:{body}")>
//! ```
//!
//! When an Events API Request URL is set up, Slack sends a signed
//! `{"token":"...","challenge":"...","type":"url_verification"}` and expects the challenge back.
//! [`SlackVerifyLayer`] answers it itself once the request verified (signature and window):
//! `200` with `{"challenge":"..."}` (`application/json`, one of the three answers Slack's
//! [`url_verification`](https://api.slack.com/events/url_verification) page accepts). The
//! handler never sees it. Every other verified request reaches the handler with a
//! [`Delivery`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::convert::Infallible;
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use tower::{Layer, ServiceExt, service_fn};
//! use tower_hmac::slack::{SlackVerifyLayer, signature};
//! use tower_hmac::{Key, ManualClock, Secret};
//!
//! let secret = Secret::new("8f742231b10e8888abcd99yyyzzz85a5").unwrap();
//! let now = UNIX_EPOCH + Duration::from_secs(1_531_420_618);
//! let layer = SlackVerifyLayer::new(Key::new("slack", secret.clone())).clock(ManualClock::new(now));
//! let request = |signature: &str, body: &'static [u8]| {
//!     Request::post("/slack/events")
//!         .header("x-slack-request-timestamp", "1531420618")
//!         .header("x-slack-signature", signature)
//!         .body(Full::new(Bytes::from_static(body)))
//!         .unwrap()
//! };
//! let handler = service_fn(|_request| async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("handled")))) });
//! let service = layer.layer(handler);
//!
//! // Accepted: Slack's documented example.
//! let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
//! let good = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
//! assert_eq!(signature(&secret, "1531420618", body), good);
//! let reply = service.clone().oneshot(request(good, body)).await.unwrap();
//! assert_eq!(reply.status(), StatusCode::OK);
//!
//! // Refused: the same signature over another body.
//! let reply = service.clone().oneshot(request(good, b"token=forged")).await.unwrap();
//! assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
//!
//! // The handshake, signed: answered by the layer, not by the handler.
//! let challenge: &[u8] = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
//! let signed = signature(&secret, "1531420618", challenge);
//! let reply = service.clone().oneshot(request(&signed, challenge)).await.unwrap();
//! assert_eq!(reply.status(), StatusCode::OK);
//! assert_eq!(reply.headers()["content-type"], "application/json");
//! let answer = reply.into_body().collect().await.unwrap().to_bytes();
//! assert_eq!(answer, r#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#);
//!
//! // The handshake, badly signed: refused like anything else.
//! let reply = service.oneshot(request(good, challenge)).await.unwrap();
//! assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # Where Slack's docs, its SDKs and this layer differ
//!
//! - **Window.** Slack's docs and `slack_sdk` refuse a timestamp more than five minutes from
//!   now, either way (`abs`); Bolt for JavaScript refuses only old ones. This layer follows the
//!   docs and `slack_sdk`: 300 s each way (set with [`tolerance`](SlackVerifyLayer::tolerance)).
//! - **Timestamp text.** The docs and `slack_sdk` sign the header's text as received; Bolt for
//!   JavaScript signs `Number(header)`. This layer signs the text, digits only: the two differ
//!   only on a leading zero, which Slack does not send (a signature over `1531420618` presented
//!   with `01531420618` is refused, as `slack_sdk` refuses it).
//! - **Hex case.** `slack_sdk` compares strings, so only lower case; here upper-case hex is the
//!   same 32 bytes, accepted.
//! - **Body.** `slack_sdk` decodes the body as UTF-8 before signing it (a body that is not UTF-8
//!   raises) and Bolt for JavaScript decodes it lossily; this layer MACs the raw bytes, as Slack
//!   signs them.
//! - **The handshake** is not part of `slack_sdk`; Bolt for Python answers it in a middleware that
//!   runs after its request verification, as the docs ask ("verify the request's authenticity
//!   and then respond"). So does this layer. Bolt echoes any `challenge` value; here a
//!   `url_verification` whose `challenge` is not a string is not a handshake: it reaches the
//!   handler, verified, like any other request.
//!
//! # Security
//!
//! - **The handshake only after the signature.** The challenge is answered only for a request
//!   whose signature and timestamp verified; an unsigned or badly signed `url_verification` gets
//!   `401` like any other refusal, and never reaches the handler either. The body is looked at
//!   only once verified, and parsed only when it contains the bytes `url_verification` (a cheap
//!   scan first); only its top-level `type` and `challenge` are read, without building the
//!   document, and an odd body (not JSON, not an object, deep, not UTF-8) is simply not a
//!   handshake.
//! - **Replay inside the window.** With a [`replay_store`](crate::VerifyLayer::replay_store) (the
//!   layer has its own by default) a copy of a handled request is acknowledged without reaching
//!   the handler (see [`webhooks`]); a request is identified by its verified signature, since
//!   Slack signs no delivery id. A retry from Slack (`X-Slack-Retry-Num`) is recognised only when
//!   its timestamp and signature are those of the copy handled: make the handler idempotent on
//!   the body's `event_id`. A handshake is answered again to each copy: it reveals nothing the
//!   first answer did not.
//! - **No exemption for `ssl_check`.** Bolt answers Slack's `ssl_check=1` probes of
//!   slash-command URLs without checking their signature (skipping verification for them was the
//!   source of bypasses fixed in bolt-python PR 1495 and bolt-js PR 2899); this layer has no such
//!   exemption: such a request is verified like any other, and refused if unsigned.
//! - **Header form.** `v0=` then 64 hex digits; an empty or shorter signature, another prefix or
//!   a repeated header is `malformed_credentials`, never a shorter compare.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Response};

use crate::crypto::{Message, Secret, Tag};
use crate::keys::{KeyMaterial, KeyStore};
use crate::pipeline::headers::single;
use crate::pipeline::{
    BodySigned, MatchedSecret, Presented, Scheme, Verify, VerifyLayer, Window, unix_seconds,
};
use crate::rejection::Rejection;
use crate::sign::{SchemeSigner, Sender, SignError, header_value, sensitive, sign_message};
use crate::webhooks::{self, Delivery, json, unix_secs};

/// The layer verifying requests from Slack.
pub type SlackVerifyLayer = VerifyLayer<Slack>;

/// The service built by [`SlackVerifyLayer`].
pub type SlackVerify<S> = Verify<S, Slack>;

/// Signs requests as Slack does (for tests, or to send them).
pub type SlackSigner = SchemeSigner<Slack>;

const X_SLACK_SIGNATURE: HeaderName = HeaderName::from_static("x-slack-signature");
const X_SLACK_REQUEST_TIMESTAMP: HeaderName = HeaderName::from_static("x-slack-request-timestamp");

const SIGNATURE_FORM: &str = "X-Slack-Signature header must be v0=<64 hex digits>";

/// The `type` of the handshake.
const URL_VERIFICATION: &str = "url_verification";

/// The Slack scheme: its timestamp window.
#[derive(Debug, Clone, Default)]
pub struct Slack {
    window: Window,
}

/// What a Slack request signs besides its body: the timestamp, as the header wrote it.
#[derive(Debug)]
pub struct SlackRequest {
    timestamp: u64,
    /// The header's text (digits only), which is what Slack signs.
    text: Box<str>,
}

impl SlackVerifyLayer {
    /// A layer checking requests against the secrets of `keys` (a [`Key`](crate::Key) holding
    /// the app's signing secret, two during a rotation), with a 300 s window each way.
    ///
    /// It keeps its own in-process replay store, so that this instance handles no request
    /// twice; share one between instances with [`replay_store`](VerifyLayer::replay_store).
    pub fn new(keys: impl KeyStore) -> Self {
        webhooks::layer(Slack::default(), keys)
    }

    /// How far from now `X-Slack-Request-Timestamp` may be, each way (default 300 s, Slack's).
    pub fn tolerance(self, tolerance: Duration) -> Self {
        self.map_scheme(|s| s.window = Window::symmetric(tolerance))
    }
}

impl Scheme for Slack {
    type Credentials = SlackRequest;
    type Identity = Delivery;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "slack"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<SlackRequest>, Rejection> {
        let signature = single(request, &X_SLACK_SIGNATURE, "X-Slack-Signature")?;
        let tag = signature
            .strip_prefix("v0=")
            .and_then(|hex| Tag::from_hex(hex.as_bytes()).ok())
            .ok_or_else(|| Rejection::malformed(SIGNATURE_FORM))?;
        let text = single(
            request,
            &X_SLACK_REQUEST_TIMESTAMP,
            "X-Slack-Request-Timestamp",
        )?;
        let timestamp = unix_seconds(text, "X-Slack-Request-Timestamp")?;
        Ok(Presented::mac(
            SlackRequest {
                timestamp,
                text: text.into(),
            },
            tag,
        ))
    }

    fn check_fresh(&self, request: &SlackRequest, now: SystemTime) -> Result<(), Rejection> {
        self.window.check_secs(request.timestamp, now)
    }

    /// `"v0:{timestamp}:{body}"`, the timestamp as the header wrote it.
    fn message(&self, request: &SlackRequest, body: &[u8], message: &mut Message<'_>) {
        message.write(b"v0:");
        message.write(request.text.as_bytes());
        message.write(b":");
        message.write(body);
    }

    fn delivers(&self) -> bool {
        true
    }

    fn nonce_ttl(&self, request: &SlackRequest, now: SystemTime) -> Duration {
        self.window
            .remaining_millis(request.timestamp.saturating_mul(1000), now)
    }

    /// `url_verification`: `200 {"challenge": ...}`.
    fn handshake(
        &self,
        _request: &SlackRequest,
        body: &[u8],
        _material: &KeyMaterial,
    ) -> Option<Response<Bytes>> {
        let challenge = url_verification(body)?;
        let answer = format!(
            r#"{{"challenge":{}}}"#,
            serde_json::Value::String(challenge)
        );
        let mut response = Response::new(Bytes::from(answer));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Some(response)
    }

    fn identity(&self, request: SlackRequest, _: Option<&MatchedSecret>) -> Delivery {
        Delivery::unsigned_id(None, Some(request.timestamp.saturating_mul(1000)))
    }
}

/// The `challenge` of a (verified) `url_verification` body; `None` for any other body.
///
/// A body that does not contain the bytes `url_verification` is not parsed at all; one that does
/// has only its top-level `type` and `challenge` read.
fn url_verification(body: &[u8]) -> Option<String> {
    let needle = URL_VERIFICATION.as_bytes();
    if !body.windows(needle.len()).any(|window| window == needle) {
        return None;
    }
    let kind = json::field::<String>(body, "type").ok()??;
    if kind != URL_VERIFICATION {
        return None;
    }
    json::field::<String>(body, "challenge").ok()?
}

impl Sender for Slack {
    fn credentials_to_sign(
        &self,
        _request: &Parts,
        _body: &[u8],
        now: SystemTime,
    ) -> Result<SlackRequest, SignError> {
        let timestamp = unix_secs(now);
        Ok(SlackRequest {
            timestamp,
            text: timestamp.to_string().into(),
        })
    }

    fn put(
        &self,
        request: &SlackRequest,
        signature: &Tag,
        parts: &mut Parts,
    ) -> Result<(), SignError> {
        let headers = &mut parts.headers;
        headers.insert(
            X_SLACK_REQUEST_TIMESTAMP,
            header_value(request.text.as_bytes(), "X-Slack-Request-Timestamp")?,
        );
        let value = format!("v0={}", signature.to_hex());
        headers.insert(
            X_SLACK_SIGNATURE,
            sensitive(value.as_bytes(), "X-Slack-Signature")?,
        );
        Ok(())
    }
}

/// The `X-Slack-Signature` Slack sends for `body` with `X-Slack-Request-Timestamp: timestamp`:
/// `v0=<hex>`. The timestamp is signed as written.
pub fn signature(secret: &Secret, timestamp: &str, body: &[u8]) -> String {
    let request = SlackRequest {
        timestamp: 0,
        text: timestamp.into(),
    };
    format!(
        "v0={}",
        sign_message(&Slack::default(), &request, body, secret).to_hex()
    )
}

/// The headers of a request of `body` from Slack, signed now: `X-Slack-Request-Timestamp` and
/// `X-Slack-Signature`.
pub fn sign_request(secret: &Secret, body: &[u8]) -> Result<HeaderMap, SignError> {
    SchemeSigner::new(Slack::default(), secret.clone()).headers("/", body)
}

/// The mock's Slack receiver (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use super::{Slack, SlackVerifyLayer};
    use crate::mock::webhooks::{MockSender, provider};

    pub(crate) const PROVIDER: crate::mock::Provider = provider::<Slack>();

    impl MockSender for Slack {
        const NAME: &'static str = "slack";
        /// The mock's demo secret (Slack's documented example).
        const SECRET: &'static str = "8f742231b10e8888abcd99yyyzzz85a5";

        fn receiver(keys: crate::MemoryKeyStore) -> SlackVerifyLayer {
            SlackVerifyLayer::new(keys)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("8f742231b10e8888abcd99yyyzzz85a5").unwrap()
    }

    fn answer(body: &[u8]) -> Option<String> {
        let request = SlackRequest {
            timestamp: 1_531_420_618,
            text: "1531420618".into(),
        };
        Slack::default()
            .handshake(&request, body, &secret().into())
            .map(|response| {
                assert_eq!(response.status(), http::StatusCode::OK);
                assert_eq!(response.headers()["content-type"], "application/json");
                String::from_utf8(response.into_body().to_vec()).unwrap()
            })
    }

    #[test]
    fn the_handshake_answers_exactly_the_challenge() {
        let body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        assert_eq!(
            answer(body).as_deref(),
            Some(r#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#)
        );
        // The challenge is written back as JSON: quotes and escapes stay a string.
        let odd = br#"{"type":"url_verification","challenge":"a\"b\u00e9\\"}"#;
        assert_eq!(answer(odd).as_deref(), Some(r#"{"challenge":"a\"bé\\"}"#));
    }

    #[test]
    fn only_a_url_verification_with_a_string_challenge_is_a_handshake() {
        for body in [
            &br#"{"type":"event_callback","challenge":"x","event":{"type":"url_verification"}}"#[..],
            br#"{"type":"url_verification"}"#,
            br#"{"type":"url_verification","challenge":42}"#,
            br#"{"type":"url_verification","challenge":null}"#,
            br#"{"type":"url_verification","challenge":"a","challenge":"b"}"#,
            br#"{"type":"url_verification","type":"url_verification","challenge":"a"}"#,
            br#"{"type":"url_verification","challenge":"a"} trailing"#,
            br#"[{"type":"url_verification","challenge":"a"}]"#,
            b"type=url_verification&challenge=a",
            br#"payload={"type":"url_verification","challenge":"a"}"#,
            b"",
            b"\xff\xfeurl_verification",
        ] {
            assert_eq!(answer(body), None, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn odd_bodies_are_not_handshakes_and_do_not_panic() {
        let deep = format!(
            r#"{{"type":"url_verification","x":{}{},"challenge":"c"}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(
            answer(deep.as_bytes()).as_deref(),
            Some(r#"{"challenge":"c"}"#)
        );
        let unclosed = format!(
            r#"{{"type":"url_verification","x":{}"#,
            "{\"a\":".repeat(100_000)
        );
        assert_eq!(answer(unclosed.as_bytes()), None);
        let mut not_utf8 = br#"{"x":""#.to_vec();
        not_utf8.extend_from_slice(b"\xff\xfe");
        not_utf8.extend_from_slice(br#"","type":"url_verification","challenge":"c"}"#);
        assert_eq!(answer(&not_utf8).as_deref(), Some(r#"{"challenge":"c"}"#));
    }

    #[test]
    fn the_timestamp_is_signed_as_written() {
        let body = b"{}";
        assert_ne!(
            signature(&secret(), "1531420618", body),
            signature(&secret(), "01531420618", body)
        );
        let request = |timestamp: &str| {
            http::Request::post("/")
                .header("x-slack-request-timestamp", timestamp)
                .header("x-slack-signature", signature(&secret(), timestamp, body))
                .body(())
                .unwrap()
                .into_parts()
                .0
        };
        let presented = Slack::default()
            .credentials(&request("01531420618"))
            .unwrap();
        assert_eq!(presented.credentials.timestamp, 1_531_420_618);
        assert_eq!(&*presented.credentials.text, "01531420618");
        for bad in ["+1531420618", "1531420618.5", "-1", "1_531_420_618"] {
            let refused = Slack::default().credentials(&request(bad)).unwrap_err();
            assert_eq!(refused.kind(), crate::RejectionKind::MalformedCredentials);
        }
    }
}

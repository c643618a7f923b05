//! Zoom webhooks: an HMAC-SHA256 of the timestamp and the raw body, and the
//! `endpoint.url_validation` handshake.
//!
//! Zoom signs each event with the app's Secret Token
//! ([Using webhooks](https://developers.zoom.us/docs/api/webhooks/), Zoom's Node SDK
//! `@zoom/rivet` and its `zoom/webhook-sample`):
//!
//! ```text
//! x-zm-request-timestamp: <unix seconds>
//! x-zm-signature:         v0=<hex HMAC-SHA256(secret token, "v0:{timestamp}:{body}")>
//! ```
//!
//! When an endpoint is set up, and every 72 hours after, Zoom sends a signed
//! `{"event":"endpoint.url_validation","payload":{"plainToken":"..."}}` and expects
//! `200 {"plainToken": "...", "encryptedToken": "<hex HMAC-SHA256(secret token, plainToken)>"}`.
//! [`ZoomVerifyLayer`] answers it itself once the event verified (signature and window): the
//! handler never sees it. Every other verified event reaches the handler with a [`Delivery`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! use http::{Request, StatusCode};
//! use tower_hmac::zoom::{ZoomVerifyLayer, encrypted_token, signature};
//! use tower_hmac::{Key, ManualClock, Secret};
//!
//! let secret = Secret::new("zoom_demo_secret_token").unwrap();
//! let now = UNIX_EPOCH + Duration::from_secs(1_763_800_000);
//! let layer = ZoomVerifyLayer::new(Key::new("zoom", secret.clone())).clock(ManualClock::new(now));
//! let request = |timestamp: &str, signature: &str| {
//!     Request::post("/webhooks/zoom")
//!         .header("x-zm-request-timestamp", timestamp)
//!         .header("x-zm-signature", signature)
//!         .body(())
//!         .unwrap()
//!         .into_parts()
//!         .0
//! };
//! let body = br#"{"event":"meeting.started","payload":{"account_id":"AAAAAABBBB"},"event_ts":1763800000000}"#;
//!
//! // Accepted: signed now.
//! let good = signature(&secret, 1_763_800_000, body);
//! assert!(layer.verifier().verify(&request("1763800000", &good), body).await.is_ok());
//!
//! // Refused: signed ten minutes ago.
//! let old = signature(&secret, 1_763_799_400, body);
//! let refused = layer.verifier().verify(&request("1763799400", &old), body).await.unwrap_err();
//! assert_eq!(refused.kind().status(), StatusCode::UNAUTHORIZED);
//!
//! // The handshake's answer, computed as Zoom checks it.
//! assert_eq!(
//!     encrypted_token(&secret, "qgg8vlvZRS6UYooatFL8Aw"),
//!     "a4c57e0fb3d36dee0a81dc645cf7b37e65d18071cb80718b789c09efb3f7f888"
//! );
//! # }
//! ```
//!
//! # Where Zoom's code and this layer differ
//!
//! - **Raw bytes, not re-serialised JSON.** Zoom's sample app (`zoom/webhook-sample`, the code
//!   Zoom points developers to) and its SDK rebuild the message from `JSON.stringify` of the
//!   parsed body, not from the bytes received. This layer
//!   MACs the raw bytes, as Zoom signs them. The two agree on what Zoom sends (compact JSON,
//!   already in `JSON.stringify` form); a body re-formatted on its way (pretty-printed, `\u00e9`
//!   or `\/` escapes written differently) verifies with the SDK and not here, and a body that is
//!   not UTF-8 or is empty verifies here and never with the SDK.
//! - **A window.** Neither the SDK nor the sample checks the timestamp's age; this layer refuses a
//!   timestamp more than 300 s from now, each way (set with
//!   [`tolerance`](ZoomVerifyLayer::tolerance)), as the issue's table of senders and most
//!   receivers' guides ask.
//! - **Timestamp form.** Digits only, signed as its decimal value, as the SDK signs
//!   `Number(header)` (the sample signs the header verbatim: the two differ only on a leading
//!   zero, which Zoom does not send).
//! - **Hex case.** The SDK compares strings, so only lower case; here upper-case hex is the same
//!   32 bytes.
//!
//! # Security
//!
//! - **The handshake only after the signature.** The layer computes `encryptedToken` (the HMAC
//!   of a value the request chooses, under the endpoint's secret) only for an event whose
//!   signature and timestamp verified. Answered before, it would sign anything for anyone, and
//!   a signature is an HMAC under that same secret: an unsigned or badly signed validation event
//!   gets 401 like any other. The token is HMACed with the secret that verified the event (the
//!   new one during a rotation). A validation event whose `plainToken` is not a string is not a
//!   handshake: it reaches the handler, as the SDK passes it on.
//! - **Replay inside the window.** With a [`replay_store`](crate::VerifyLayer::replay_store) (the
//!   layer has its own by default) a copy of a handled event is acknowledged without reaching
//!   the handler (see [`webhooks`]); an event is identified by its verified
//!   signature, since Zoom signs no delivery id. A handshake is answered again to each copy: it
//!   reveals nothing the first answer did not.
//! - **Header form.** `v0=` then 64 hex digits; an empty or shorter signature, another prefix or
//!   a repeated header is `malformed_credentials`, never a shorter compare.
//! - **Body.** The raw bytes as received, never re-encoded and not required to be UTF-8; the
//!   handshake reads two fields of the verified body without building it.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Response};

use crate::crypto::{Message, Secret, Tag, hmac_sha256};
use crate::keys::{KeyMaterial, KeyStore};
use crate::pipeline::headers::single;
use crate::pipeline::{
    BodySigned, MatchedSecret, Presented, Scheme, Verify, VerifyLayer, Window, unix_seconds,
};
use crate::rejection::Rejection;
use crate::sign::{SchemeSigner, Sender, SignError, sensitive, sign_message};
use crate::webhooks::{self, Delivery, json, unix_secs};

/// The layer verifying Zoom events.
pub type ZoomVerifyLayer = VerifyLayer<Zoom>;

/// The service built by [`ZoomVerifyLayer`].
pub type ZoomVerify<S> = Verify<S, Zoom>;

/// Signs events as Zoom does (for tests, or to send them).
pub type ZoomSigner = SchemeSigner<Zoom>;

const X_ZM_SIGNATURE: HeaderName = HeaderName::from_static("x-zm-signature");
const X_ZM_REQUEST_TIMESTAMP: HeaderName = HeaderName::from_static("x-zm-request-timestamp");

const SIGNATURE_FORM: &str = "x-zm-signature header must be v0=<64 hex digits>";

/// The event whose answer is the handshake.
const URL_VALIDATION: &str = "endpoint.url_validation";

/// The Zoom scheme: its timestamp window.
#[derive(Debug, Clone, Default)]
pub struct Zoom {
    window: Window,
}

/// What a Zoom event signs besides its body: the timestamp.
#[derive(Debug)]
pub struct ZoomEvent {
    timestamp: u64,
}

impl ZoomVerifyLayer {
    /// A layer checking events against the secrets of `keys` (a [`Key`](crate::Key) holding the
    /// app's Secret Token, two during a rotation), with a 300 s window each way.
    ///
    /// It keeps its own in-process replay store, so that this instance handles no event twice;
    /// share one between instances with [`replay_store`](VerifyLayer::replay_store).
    pub fn new(keys: impl KeyStore) -> Self {
        webhooks::layer(Zoom::default(), keys)
    }

    /// How far from now `x-zm-request-timestamp` may be, each way (default 300 s).
    pub fn tolerance(self, tolerance: Duration) -> Self {
        self.map_scheme(|s| s.window = Window::symmetric(tolerance))
    }
}

impl Scheme for Zoom {
    type Credentials = ZoomEvent;
    type Identity = Delivery;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "zoom"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<ZoomEvent>, Rejection> {
        let signature = single(request, &X_ZM_SIGNATURE, "x-zm-signature")?;
        let tag = signature
            .strip_prefix("v0=")
            .and_then(|hex| Tag::from_hex(hex.as_bytes()).ok())
            .ok_or_else(|| Rejection::malformed(SIGNATURE_FORM))?;
        let timestamp = unix_seconds(
            single(request, &X_ZM_REQUEST_TIMESTAMP, "x-zm-request-timestamp")?,
            "x-zm-request-timestamp",
        )?;
        Ok(Presented::mac(ZoomEvent { timestamp }, tag))
    }

    fn check_fresh(&self, event: &ZoomEvent, now: SystemTime) -> Result<(), Rejection> {
        self.window.check_secs(event.timestamp, now)
    }

    /// `"v0:{timestamp}:{body}"`, the timestamp as its decimal value.
    fn message(&self, event: &ZoomEvent, body: &[u8], message: &mut Message<'_>) {
        message.write(b"v0:");
        message.write_decimal(event.timestamp);
        message.write(b":");
        message.write(body);
    }

    fn delivers(&self) -> bool {
        true
    }

    fn nonce_ttl(&self, event: &ZoomEvent, now: SystemTime) -> Duration {
        self.window
            .remaining_millis(event.timestamp.saturating_mul(1000), now)
    }

    /// `endpoint.url_validation`: `200 {"plainToken": ..., "encryptedToken": ...}`.
    fn handshake(
        &self,
        _event: &ZoomEvent,
        body: &[u8],
        material: &KeyMaterial,
    ) -> Option<Response<Bytes>> {
        // Zoom signs with a shared secret: without one there is no token to answer with.
        let secret = material.secret()?;
        let plain_token = url_validation(body)?;
        let answer = format!(
            r#"{{"plainToken":{},"encryptedToken":"{}"}}"#,
            serde_json::Value::String(plain_token.clone()),
            encrypted_token(secret, &plain_token)
        );
        let mut response = Response::new(Bytes::from(answer));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Some(response)
    }

    fn identity(&self, event: ZoomEvent, _: Option<&MatchedSecret>) -> Delivery {
        Delivery::unsigned_id(None, Some(event.timestamp.saturating_mul(1000)))
    }
}

/// The `plainToken` of a (verified) `endpoint.url_validation` body; `None` for any other body.
fn url_validation(body: &[u8]) -> Option<String> {
    let event = json::field::<String>(body, "event").ok()??;
    if event != URL_VALIDATION {
        return None;
    }
    let payload = json::field::<serde_json::Value>(body, "payload").ok()??;
    payload.get("plainToken")?.as_str().map(str::to_owned)
}

impl Sender for Zoom {
    fn credentials_to_sign(
        &self,
        _request: &Parts,
        _body: &[u8],
        now: SystemTime,
    ) -> Result<ZoomEvent, SignError> {
        Ok(ZoomEvent {
            timestamp: unix_secs(now),
        })
    }

    fn put(
        &self,
        event: &ZoomEvent,
        signature: &Tag,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        let headers = &mut request.headers;
        headers.insert(X_ZM_REQUEST_TIMESTAMP, HeaderValue::from(event.timestamp));
        let value = format!("v0={}", signature.to_hex());
        headers.insert(
            X_ZM_SIGNATURE,
            sensitive(value.as_bytes(), "x-zm-signature")?,
        );
        Ok(())
    }
}

/// The `x-zm-signature` Zoom sends for `body` at `timestamp` (seconds): `v0=<hex>`.
pub fn signature(secret: &Secret, timestamp: u64, body: &[u8]) -> String {
    let event = ZoomEvent { timestamp };
    format!(
        "v0={}",
        sign_message(&Zoom::default(), &event, body, secret).to_hex()
    )
}

/// The headers of an event of `body`, signed now: `x-zm-request-timestamp` and `x-zm-signature`.
pub fn sign_request(secret: &Secret, body: &[u8]) -> Result<HeaderMap, SignError> {
    SchemeSigner::new(Zoom::default(), secret.clone()).headers("/", body)
}

/// The `encryptedToken` answering an `endpoint.url_validation` event's `plainToken`: the hex
/// HMAC-SHA256 of its UTF-8 bytes under the Secret Token. The layer answers the handshake itself;
/// this is for a sender's side, or a test.
pub fn encrypted_token(secret: &Secret, plain_token: &str) -> String {
    hmac_sha256(secret, |m| m.write(plain_token.as_bytes())).to_hex()
}

/// The mock's Zoom receiver (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use super::{Zoom, ZoomVerifyLayer};
    use crate::mock::webhooks::{MockSender, provider};

    pub(crate) const PROVIDER: crate::mock::Provider = provider::<Zoom>();

    impl MockSender for Zoom {
        const NAME: &'static str = "zoom";
        /// The mock's demo secret token.
        const SECRET: &'static str = "zoom_demo_secret_token";

        fn receiver(keys: crate::MemoryKeyStore) -> ZoomVerifyLayer {
            ZoomVerifyLayer::new(keys)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::rejection::RejectionKind;
    use crate::{Key, ManualClock};

    const NOW: u64 = 1_763_800_000;

    fn secret() -> Secret {
        Secret::new("zoom_demo_secret_token").unwrap()
    }

    fn layer() -> ZoomVerifyLayer {
        ZoomVerifyLayer::new(Key::new("zoom", secret()))
            .clock(ManualClock::new(UNIX_EPOCH + Duration::from_secs(NOW)))
    }

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::post("/webhooks/zoom");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[tokio::test]
    async fn the_documented_message_is_signed() {
        // zoom/webhook-sample: 'v0=' + hex HMAC of `v0:${timestamp}:${body}`; the value is the
        // json_body vector of the SDK generator.
        let body = br#"{"event":"meeting.started","payload":{"account_id":"AAAAAABBBB","object":{"id":"1234567890","uuid":"4444AAAiAAAAAiAiAiiAii==","host_id":"x1yCzABCDEfg23HiJKl4mN","topic":"My Meeting","type":2,"start_time":"2025-11-22T08:26:40Z","timezone":"America/Los_Angeles","duration":60}},"event_ts":1763800000000}"#;
        let expected = "v0=c99fd7f75773aa8a707b62283d81dfeaf2295385b23c7605e2b3b7797cc25f28";
        assert_eq!(signature(&secret(), NOW, body), expected);
        let headers = [
            ("x-zm-request-timestamp", "1763800000"),
            ("x-zm-signature", expected),
        ];
        let verified = layer().verifier().verify(&parts(&headers), body).await;
        let delivery = verified.unwrap().into_identity();
        assert_eq!(delivery.id(), None);
        assert_eq!(
            delivery.timestamp(),
            Some(UNIX_EPOCH + Duration::from_secs(NOW))
        );
    }

    #[tokio::test]
    async fn malformed_headers_are_refused_as_such() {
        let body = b"{}";
        let good = signature(&secret(), NOW, body);
        let hex = good.strip_prefix("v0=").unwrap();
        let cases = [
            ("v0=", "1763800000"),
            ("v0", "1763800000"),
            (hex, "1763800000"),
            (&good[..good.len() - 1], "1763800000"),
            (&good[..35], "1763800000"),
            ("V0=00", "1763800000"),
            (&good, "1763800000.0"),
            (&good, "-1763800000"),
            (&good, "+1763800000"),
        ];
        for (signature, timestamp) in cases {
            let headers = [
                ("x-zm-request-timestamp", timestamp),
                ("x-zm-signature", signature),
            ];
            let refused = layer().verifier().verify(&parts(&headers), body).await;
            assert_eq!(
                refused.unwrap_err().kind(),
                RejectionKind::MalformedCredentials,
                "{signature:?} {timestamp:?}"
            );
        }
        let v1 = format!("v1={hex}");
        let headers = [
            ("x-zm-request-timestamp", "1763800000"),
            ("x-zm-signature", &v1),
        ];
        let refused = layer().verifier().verify(&parts(&headers), body).await;
        assert_eq!(
            refused.unwrap_err().kind(),
            RejectionKind::MalformedCredentials
        );
    }

    #[test]
    fn only_a_validation_event_with_a_string_token_is_a_handshake() {
        let token = |body: &[u8]| url_validation(body);
        assert_eq!(
            token(br#"{"payload":{"plainToken":"abc"},"event":"endpoint.url_validation"}"#)
                .as_deref(),
            Some("abc")
        );
        for body in [
            &br#"{"payload":{"plainToken":"abc"},"event":"meeting.started"}"#[..],
            br#"{"payload":{"plainToken":7},"event":"endpoint.url_validation"}"#,
            br#"{"payload":"abc","event":"endpoint.url_validation"}"#,
            br#"{"plainToken":"abc","event":"endpoint.url_validation"}"#,
            br#"{"payload":{"plainToken":"abc"},"event":"endpoint.url_validation","event":"x"}"#,
            br#"[{"payload":{"plainToken":"abc"},"event":"endpoint.url_validation"}]"#,
            b"",
            b"\xff",
        ] {
            assert_eq!(token(body), None, "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn the_answer_is_json_escaped() {
        let body =
            br#"{"event":"endpoint.url_validation","payload":{"plainToken":"a\"b\\c\u00e9"}}"#;
        let answer = Zoom::default()
            .handshake(&ZoomEvent { timestamp: NOW }, body, &secret().into())
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
        assert_eq!(json["plainToken"], "a\"b\\c\u{e9}");
        assert_eq!(
            json["encryptedToken"],
            encrypted_token(&secret(), "a\"b\\c\u{e9}")
        );
        assert_eq!(answer.headers()["content-type"], "application/json");
    }
}

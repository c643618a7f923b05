//! Linear webhooks: an HMAC-SHA256 of the raw body, fresh by a timestamp inside it.
//!
//! Linear signs each delivery with the webhook's signing secret and puts the time it was sent in
//! the body it signs ([Webhooks](https://linear.app/developers/webhooks), `@linear/sdk`'s
//! `LinearWebhookClient`):
//!
//! ```text
//! Linear-Signature: <hex HMAC-SHA256(secret, raw body)>
//! Linear-Delivery:  <uuid>                                  (not signed)
//! body:             {"action":"create","type":"Issue",...,"webhookTimestamp":1763800000000,...}
//! ```
//!
//! `webhookTimestamp` (milliseconds since the Unix epoch, at the top level of the JSON body) is
//! required, and must lie within 60 s of now, each way. It is read from the very bytes the
//! signature covers and decided only once the signature verified, so a body changed on its way
//! is refused as `invalid_credentials` whatever timestamp it claims.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! use http::{Request, StatusCode};
//! use tower_hmac::linear::{LinearVerifyLayer, signature};
//! use tower_hmac::{Key, ManualClock, RejectionKind, Secret};
//!
//! let secret = Secret::new("lin_wh_demo_secret").unwrap();
//! let now = UNIX_EPOCH + Duration::from_millis(1_763_800_001_000);
//! let layer = LinearVerifyLayer::new(Key::new("linear", secret.clone())).clock(ManualClock::new(now));
//! let request = |signature: &str| {
//!     Request::post("/webhooks/linear")
//!         .header("linear-signature", signature)
//!         .header("linear-delivery", "234d1a4e-b617-4388-90fe-adc3633d6b72")
//!         .body(())
//!         .unwrap()
//!         .into_parts()
//!         .0
//! };
//!
//! // Accepted: sent a second ago; the unsigned delivery id is handed on, marked as such.
//! let body = br#"{"action":"create","type":"Issue","webhookTimestamp":1763800000000}"#;
//! let delivery = layer.verifier().verify(&request(&signature(&secret, body)), body).await.unwrap();
//! assert_eq!(delivery.identity().id(), Some("234d1a4e-b617-4388-90fe-adc3633d6b72"));
//! assert!(!delivery.identity().id_is_signed());
//!
//! // Refused: signed by Linear, but sent two minutes ago.
//! let old = br#"{"action":"create","type":"Issue","webhookTimestamp":1763799881000}"#;
//! let refused = layer.verifier().verify(&request(&signature(&secret, old)), old).await.unwrap_err();
//! assert_eq!(refused.kind(), RejectionKind::StaleTimestamp);
//! assert_eq!(refused.kind().status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # Where Linear's SDK and this layer differ
//!
//! Linear's SDK (`@linear/sdk` 98, `LinearWebhookClient.verify`) is followed: the HMAC of the raw
//! bytes first, then the body's `webhookTimestamp`, refused when more than 60 000 ms from now
//! either way (the edge accepted). Guides written by others that allow five minutes are wider
//! than the vendor's own check. Where this layer is stricter:
//!
//! - **An integer.** `webhookTimestamp` must be a JSON integer (digits, as Linear writes
//!   `Date.now()`); the SDK takes any finite number (`1763800000000.5`, `1.7638e12`). A string,
//!   `null`, a missing field, a body that is not a JSON object: `malformed_credentials`, as the
//!   SDK refuses them.
//! - **Once.** A body giving `webhookTimestamp` twice is refused; `JSON.parse` keeps the last.
//! - **The body only.** The legacy `Linear-Timestamp` header is not signed; the SDK ignores it
//!   (its `timestamp` argument is "deprecated and ignored") and so does this layer.
//! - **Hex case.** The SDK compares hex text, so lower case only; here upper-case hex is the same
//!   32 bytes.
//! - **Statuses.** The SDK's handler answers 400 to every refusal; this layer answers 401, like
//!   every layer of the crate.
//!
//! # Security
//!
//! - **Window.** 60 s each way (set with [`tolerance`](LinearVerifyLayer::tolerance)): the
//!   tightest of the webhook schemes, so the sender's and the receiver's clocks must agree to
//!   well within a minute.
//! - **Replay inside the window.** With a [`replay_store`](crate::VerifyLayer::replay_store) (the
//!   layer has its own by default) a copy of a handled delivery is acknowledged without reaching
//!   the handler (see [`webhooks`]). A delivery is identified by its verified
//!   signature: the timestamp is inside the signed body, so a copy is byte for byte the same.
//! - **`Linear-Delivery` is not signed.** It reaches the handler in [`Delivery::id`], unsigned,
//!   and is never used to recognise a copy. A delivery Linear sends again with a new
//!   `webhookTimestamp` is a new body and reaches the handler: to recognise it, use the signed
//!   fields of the body (its `webhookId` and the entity's id and `updatedAt`).
//! - **Reading the body.** Only the top-level `webhookTimestamp` is read; every other value is
//!   skipped as it is parsed, without building the document, so reading the body before its
//!   signature is checked costs one pass over it and no allocation. What it finds counts only
//!   once the signature verified.
//! - **Header form.** Exactly 64 hex digits, nothing before them (`sha256=` is refused); an empty
//!   or shorter signature is `malformed_credentials`, never a shorter compare.
//! - **Body.** The raw bytes as received, never re-encoded; bytes that are not UTF-8 inside the
//!   JSON's strings verify as Linear signed them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::request::Parts;
use http::{HeaderMap, HeaderName};

use crate::crypto::{Message, Secret, Tag};
use crate::keys::KeyStore;
use crate::pipeline::headers::{optional, single};
use crate::pipeline::{BodySigned, MatchedSecret, Presented, Scheme, Verify, VerifyLayer, Window};
use crate::rejection::Rejection;
use crate::sign::{SchemeSigner, Sender, SignError, header_value, sensitive, sign_message};
use crate::webhooks::{self, Delivery, fresh_id, json};

/// The layer verifying Linear deliveries.
pub type LinearVerifyLayer = VerifyLayer<Linear>;

/// The service built by [`LinearVerifyLayer`].
pub type LinearVerify<S> = Verify<S, Linear>;

/// Signs deliveries as Linear does (for tests, or to send them). It signs the body as given: the
/// body must carry its `webhookTimestamp` already (see [`with_timestamp`]).
pub type LinearSigner = SchemeSigner<Linear>;

const LINEAR_SIGNATURE: HeaderName = HeaderName::from_static("linear-signature");
const LINEAR_DELIVERY: HeaderName = HeaderName::from_static("linear-delivery");

const SIGNATURE_FORM: &str = "Linear-Signature header must be 64 hex digits";
const TIMESTAMP_FORM: &str = "the body must be a JSON object whose webhookTimestamp is an integer \
                              of milliseconds since the Unix epoch";

/// The body field holding the time the delivery was sent.
const WEBHOOK_TIMESTAMP: &str = "webhookTimestamp";

/// How far from now `webhookTimestamp` may be by default, each way: Linear's SDK's 60 s.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(60);

/// The Linear scheme: its timestamp window.
#[derive(Debug, Clone)]
pub struct Linear {
    window: Window,
}

impl Default for Linear {
    /// A 60 s window each way.
    fn default() -> Self {
        Self {
            window: Window::symmetric(DEFAULT_TOLERANCE),
        }
    }
}

/// What a Linear delivery carries besides its signature: its (unsigned) delivery id, and the
/// `webhookTimestamp` of its body.
#[derive(Debug)]
pub struct LinearDelivery {
    id: Option<Arc<str>>,
    timestamp: Stamp,
}

/// The body's `webhookTimestamp`, as far as it is known.
#[derive(Debug, Clone, Copy)]
enum Stamp {
    /// The body is not read yet.
    Unread,
    /// Milliseconds since the Unix epoch.
    Read(u64),
    /// Missing, not an integer, given twice, or the body is not a JSON object.
    Malformed,
}

impl LinearVerifyLayer {
    /// A layer checking deliveries against the secrets of `keys` (a [`Key`](crate::Key) holding
    /// the webhook's signing secret, two during a rotation), with a 60 s window each way.
    ///
    /// It keeps its own in-process replay store, so that this instance handles no delivery
    /// twice; share one between instances with [`replay_store`](VerifyLayer::replay_store).
    pub fn new(keys: impl KeyStore) -> Self {
        webhooks::layer(Linear::default(), keys)
    }

    /// How far from now `webhookTimestamp` may be, each way (default 60 s, Linear's SDK's).
    pub fn tolerance(self, tolerance: Duration) -> Self {
        self.map_scheme(|s| s.window = Window::symmetric(tolerance))
    }
}

impl Scheme for Linear {
    type Credentials = LinearDelivery;
    type Identity = Delivery;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "linear"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<LinearDelivery>, Rejection> {
        let signature = single(request, &LINEAR_SIGNATURE, "Linear-Signature")?;
        let tag = Tag::from_hex(signature.as_bytes())
            .map_err(|_| Rejection::malformed(SIGNATURE_FORM))?;
        let id = optional(request, &LINEAR_DELIVERY, "Linear-Delivery")?;
        Ok(Presented::mac(
            LinearDelivery {
                id: id.map(Into::into),
                timestamp: Stamp::Unread,
            },
            tag,
        ))
    }

    /// The body's `webhookTimestamp`, read now but refused (if it must be) only by
    /// [`check_fresh`](Self::check_fresh), once the signature verified.
    fn body_credentials(
        &self,
        presented: &mut Presented<LinearDelivery>,
        body: &[u8],
    ) -> Result<(), Rejection> {
        presented.credentials.timestamp = match json::field::<u64>(body, WEBHOOK_TIMESTAMP) {
            Ok(Some(ms)) => Stamp::Read(ms),
            Ok(None) | Err(_) => Stamp::Malformed,
        };
        Ok(())
    }

    fn check_fresh(&self, delivery: &LinearDelivery, now: SystemTime) -> Result<(), Rejection> {
        match delivery.timestamp {
            // Before the body: nothing to check yet.
            Stamp::Unread => Ok(()),
            Stamp::Read(ms) => self.window.check_millis(ms, now),
            Stamp::Malformed => Err(Rejection::malformed(TIMESTAMP_FORM)),
        }
    }

    /// The raw body, nothing else.
    fn message(&self, _delivery: &LinearDelivery, body: &[u8], message: &mut Message<'_>) {
        message.write(body);
    }

    fn delivers(&self) -> bool {
        true
    }

    fn nonce_ttl(&self, delivery: &LinearDelivery, now: SystemTime) -> Duration {
        match delivery.timestamp {
            Stamp::Read(ms) => self.window.remaining_millis(ms, now),
            // Not reached: an accepted delivery's timestamp is read. The whole window, then.
            Stamp::Unread | Stamp::Malformed => self.window.past.saturating_add(self.window.future),
        }
    }

    fn identity(&self, delivery: LinearDelivery, _: Option<&MatchedSecret>) -> Delivery {
        let timestamp = match delivery.timestamp {
            Stamp::Read(ms) => Some(ms),
            Stamp::Unread | Stamp::Malformed => None,
        };
        Delivery::unsigned_id(delivery.id, timestamp)
    }
}

impl Sender for Linear {
    /// A fresh delivery id; the timestamp travels in the body, signed with it.
    fn credentials_to_sign(
        &self,
        _request: &Parts,
        _body: &[u8],
        _now: SystemTime,
    ) -> Result<LinearDelivery, SignError> {
        Ok(LinearDelivery {
            id: Some(fresh_id()?.into()),
            timestamp: Stamp::Unread,
        })
    }

    fn put(
        &self,
        delivery: &LinearDelivery,
        signature: &Tag,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        let headers = &mut request.headers;
        headers.insert(
            LINEAR_SIGNATURE,
            sensitive(signature.to_hex().as_bytes(), "Linear-Signature")?,
        );
        if let Some(id) = &delivery.id {
            headers.insert(
                LINEAR_DELIVERY,
                header_value(id.as_bytes(), "Linear-Delivery")?,
            );
        }
        Ok(())
    }
}

/// The `Linear-Signature` Linear sends for `body`: the hex HMAC-SHA256 of the raw bytes.
pub fn signature(secret: &Secret, body: &[u8]) -> String {
    let delivery = LinearDelivery {
        id: None,
        timestamp: Stamp::Unread,
    };
    sign_message(&Linear::default(), &delivery, body, secret).to_hex()
}

/// The headers of a delivery of `body` (which carries its `webhookTimestamp`, see
/// [`with_timestamp`]): `Linear-Signature` and a fresh `Linear-Delivery`.
pub fn sign_request(secret: &Secret, body: &[u8]) -> Result<HeaderMap, SignError> {
    SchemeSigner::new(Linear::default(), secret.clone()).headers("/", body)
}

/// The JSON object `body` with its `webhookTimestamp` set to `at`, in milliseconds, as Linear
/// stamps each delivery before signing it: for a test or a sender. The rest of the body is kept
/// byte for byte (its keys' order, its whitespace, its numbers as written): the value of a
/// top-level `webhookTimestamp` is replaced, or the field is added after the last member. `None`
/// when `body` is not a JSON object.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tower_hmac::linear::with_timestamp;
///
/// let at = UNIX_EPOCH + Duration::from_millis(1_763_800_000_000);
/// let body = with_timestamp(br#"{"type": "Issue", "action": "create"}"#, at).unwrap();
/// assert_eq!(
///     body,
///     br#"{"type": "Issue", "action": "create","webhookTimestamp":1763800000000}"#
/// );
/// let again = with_timestamp(br#"{"webhookTimestamp": 1, "type": "Issue"}"#, at).unwrap();
/// assert_eq!(again, br#"{"webhookTimestamp": 1763800000000, "type": "Issue"}"#);
/// assert_eq!(with_timestamp(b"[]", at), None);
/// ```
pub fn with_timestamp(body: &[u8], at: SystemTime) -> Option<Vec<u8>> {
    // A JSON object (checked first, so the scan below walks valid JSON only).
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body).ok()?;
    let ms = u64::try_from(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis()).ok()?;
    let members = top_level_members(body)?;
    let mut out = Vec::with_capacity(body.len() + 40);
    let stamped: Vec<_> = members
        .iter()
        .filter(|m| {
            let key = body.get(m.key.clone()).unwrap_or_default();
            serde_json::from_slice::<String>(key).ok().as_deref() == Some(WEBHOOK_TIMESTAMP)
        })
        .collect();
    if stamped.is_empty() {
        // After the last member's value (before the whitespace ahead of `}`), or inside `{}`.
        let at = match members.last() {
            Some(last) => last.value.end,
            None => body.iter().position(|&b| b == b'{')? + 1,
        };
        out.extend_from_slice(body.get(..at)?);
        if !members.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"{WEBHOOK_TIMESTAMP}\":{ms}").as_bytes());
        out.extend_from_slice(body.get(at..)?);
    } else {
        let mut from = 0;
        for member in stamped {
            out.extend_from_slice(body.get(from..member.value.start)?);
            out.extend_from_slice(ms.to_string().as_bytes());
            from = member.value.end;
        }
        out.extend_from_slice(body.get(from..)?);
    }
    Some(out)
}

/// Where a member of a JSON object is: its key (quotes included) and its value.
struct Member {
    key: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
}

/// The members of the top-level object of `json`, a valid JSON object (`None` otherwise).
fn top_level_members(json: &[u8]) -> Option<Vec<Member>> {
    let skip_ws = |mut i: usize| {
        while json.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        i
    };
    // The end of the string starting at `i` (its opening quote), past its closing quote.
    let string_end = |mut i: usize| {
        i += 1;
        loop {
            match json.get(i)? {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
    };
    let mut members = Vec::new();
    let mut i = skip_ws(0);
    if json.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(i + 1);
    if json.get(i) == Some(&b'}') {
        return Some(members);
    }
    loop {
        let key = i..string_end(i)?;
        i = skip_ws(key.end);
        if json.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(i + 1);
        // The value runs to the `,` or `}` closing it at depth 0, outside strings.
        let (mut j, mut depth, mut end) = (start, 0usize, start);
        let close = loop {
            match *json.get(j)? {
                b'"' => {
                    j = string_end(j)?;
                    end = j;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth > 0 => depth -= 1,
                c @ (b',' | b'}') if depth == 0 => break c,
                c if c.is_ascii_whitespace() => {
                    j += 1;
                    continue;
                }
                _ => {}
            }
            j += 1;
            end = j;
        };
        members.push(Member {
            key,
            value: start..end,
        });
        if close == b'}' {
            return Some(members);
        }
        i = skip_ws(j + 1);
    }
}

/// The mock's Linear receiver (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use std::sync::Arc;

    use super::{Linear, LinearVerifyLayer};
    use crate::mock::{Examples, Provider, Section, Shared, webhooks};

    pub(crate) const PROVIDER: Provider = Provider {
        name: "linear",
        config_keys: &["linear"],
        demo_private_key: None,
        demo: || webhooks::demo("linear", SECRET),
        router: |config: &Section<'_>, shared: &Shared| {
            let layer = LinearVerifyLayer::new(webhooks::key(config, "linear")?)
                .replay_store(Arc::clone(&shared.replay));
            Ok(webhooks::routes(shared, "linear", layer, webhooks::post))
        },
        examples: |config: &Section<'_>, at: &Examples| webhooks::example(config, at, "linear", ""),
        sign: Some(|secret, signed, url, body, now| {
            // Linear stamps the body it signs; one that is not a JSON object is signed as given.
            let body = super::with_timestamp(body, now).unwrap_or_else(|| body.to_vec());
            webhooks::sign(
                Linear::default(),
                crate::Secret::new(secret)?,
                signed,
                url,
                &body,
                now,
            )
        }),
    };

    /// The mock's demo secret.
    pub(crate) const SECRET: &str = "lin_wh_demo_secret";
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::rejection::RejectionKind;
    use crate::{Key, ManualClock};

    const NOW_MS: u64 = 1_763_800_001_000;

    fn secret() -> Secret {
        Secret::new("lin_wh_demo_secret").unwrap()
    }

    fn layer() -> LinearVerifyLayer {
        LinearVerifyLayer::new(Key::new("linear", secret()))
            .clock(ManualClock::new(UNIX_EPOCH + Duration::from_millis(NOW_MS)))
    }

    fn parts(signature: &str) -> Parts {
        http::Request::post("/webhooks/linear")
            .header("linear-signature", signature)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    async fn verify(body: &[u8]) -> Result<Delivery, RejectionKind> {
        let signed = signature(&secret(), body);
        let verified = layer().verifier().verify(&parts(&signed), body).await;
        verified.map(|v| v.into_identity()).map_err(|r| r.kind())
    }

    fn stamped(ms: u64) -> Vec<u8> {
        format!(r#"{{"type":"Issue","webhookTimestamp":{ms}}}"#).into_bytes()
    }

    /// The body's timestamp is checked although the body read did not have to wait: the
    /// verifier's in-memory path never waits.
    #[tokio::test]
    async fn a_stale_or_future_body_timestamp_is_refused_when_the_read_did_not_wait() {
        assert_eq!(
            verify(&stamped(NOW_MS - 60_001)).await.unwrap_err(),
            RejectionKind::StaleTimestamp
        );
        assert_eq!(
            verify(&stamped(NOW_MS + 60_001)).await.unwrap_err(),
            RejectionKind::FutureTimestamp
        );
        for edge in [NOW_MS - 60_000, NOW_MS + 60_000] {
            let delivery = verify(&stamped(edge)).await.unwrap();
            assert_eq!(
                delivery.timestamp(),
                Some(UNIX_EPOCH + Duration::from_millis(edge))
            );
        }
    }

    #[tokio::test]
    async fn a_body_without_an_integer_timestamp_is_malformed() {
        for body in [
            &b""[..],
            b"hello",
            br#"{"type":"Issue"}"#,
            br#"{"webhookTimestamp":"1763800000000"}"#,
            br#"{"webhookTimestamp":1763800000000.5}"#,
            br#"{"webhookTimestamp":1763800000000,"webhookTimestamp":1763800000000}"#,
            br#"{"data":{"webhookTimestamp":1763800000000}}"#,
        ] {
            let refused = verify(body).await.unwrap_err();
            assert_eq!(
                refused,
                RejectionKind::MalformedCredentials,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    /// A body whose timestamp cannot be read but whose signature does not verify is refused for
    /// its signature: what the body says counts only once it is proven.
    #[tokio::test]
    async fn the_signature_is_checked_before_the_body_timestamp() {
        let other = Secret::new("lin_wh_wrong").unwrap();
        for body in [&b"hello"[..], &stamped(0), &stamped(NOW_MS + 3_600_000)] {
            let signed = signature(&other, body);
            let refused = layer().verifier().verify(&parts(&signed), body).await;
            assert_eq!(refused.unwrap_err().kind(), RejectionKind::InvalidSignature);
        }
    }

    #[tokio::test]
    async fn the_signature_header_is_bare_hex() {
        let body = stamped(NOW_MS);
        let good = signature(&secret(), &body);
        for bad in [
            format!("sha256={good}"),
            good[..63].to_owned(),
            good[..32].to_owned(),
            format!("{good}00"),
            format!("{good},{good}"),
        ] {
            let refused = layer().verifier().verify(&parts(&bad), &body).await;
            assert_eq!(
                refused.unwrap_err().kind(),
                RejectionKind::MalformedCredentials,
                "{bad}"
            );
        }
        let upper = good.to_uppercase();
        assert!(
            layer()
                .verifier()
                .verify(&parts(&upper), &body)
                .await
                .is_ok()
        );
    }

    #[test]
    fn with_timestamp_sets_the_field() {
        let at = UNIX_EPOCH + Duration::from_millis(5);
        let body = with_timestamp(br#"{"webhookTimestamp":1,"a":2}"#, at).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json, serde_json::json!({"a": 2, "webhookTimestamp": 5}));
        assert_eq!(with_timestamp(b"hello", at), None);
    }

    /// The sender keeps the body as given but for its `webhookTimestamp`: keys in their order,
    /// whitespace, nested objects, strings holding braces and quotes, numbers as written.
    #[test]
    fn with_timestamp_keeps_the_rest_of_the_body_as_given() {
        let at = UNIX_EPOCH + Duration::from_millis(1_763_800_000_123);
        for (body, stamped) in [
            (
                "{\n  \"type\": \"Issue\",\n  \"action\": \"create\"\n}\n",
                "{\n  \"type\": \"Issue\",\n  \"action\": \"create\",\"webhookTimestamp\":1763800000123\n}\n",
            ),
            ("{}", r#"{"webhookTimestamp":1763800000123}"#),
            (" { } ", r#" {"webhookTimestamp":1763800000123 } "#),
            (
                r#"{"z":1.50,"data":{"webhookTimestamp":1,"s":"}\",{["},"a":[1,{"b":[]}]}"#,
                r#"{"z":1.50,"data":{"webhookTimestamp":1,"s":"}\",{["},"a":[1,{"b":[]}],"webhookTimestamp":1763800000123}"#,
            ),
            (
                r#"{"b":true, "webhookTimestamp" : "old" , "a":null}"#,
                r#"{"b":true, "webhookTimestamp" : 1763800000123 , "a":null}"#,
            ),
            (
                r#"{"webhook\u0054imestamp":0}"#,
                r#"{"webhook\u0054imestamp":1763800000123}"#,
            ),
        ] {
            let got = with_timestamp(body.as_bytes(), at).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), stamped, "{body}");
        }
        for not_an_object in [&b"[]"[..], b"", b"{", b"{\"a\":1}x", b"\"{}\""] {
            assert_eq!(with_timestamp(not_an_object, at), None);
        }
    }
}

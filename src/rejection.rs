//! Why a request was refused, and the response that says so.
//!
//! Every failure of a verifying layer is a [`Rejection`]; it becomes a response, never an `Err`
//! of the service, so the inner service's error type is kept (axum needs `Infallible`).
//!
//! | kind | HTTP | `error` code | gRPC status |
//! |---|---|---|---|
//! | [`MissingCredentials`](RejectionKind::MissingCredentials) | 401 | `missing_credentials` | 16 `UNAUTHENTICATED` |
//! | [`MalformedCredentials`](RejectionKind::MalformedCredentials) | 401 | `malformed_credentials` | 16 |
//! | [`UnknownKey`](RejectionKind::UnknownKey), [`KeyExpired`](RejectionKind::KeyExpired), [`KeyRevoked`](RejectionKind::KeyRevoked), [`InvalidSignature`](RejectionKind::InvalidSignature) | 401 | `invalid_credentials` | 16 |
//! | [`NotAllowed`](RejectionKind::NotAllowed) | 401 | `not_allowed` | 16 |
//! | [`StaleTimestamp`](RejectionKind::StaleTimestamp), [`FutureTimestamp`](RejectionKind::FutureTimestamp) | 401 | `timestamp_out_of_window` | 16 |
//! | [`Replayed`](RejectionKind::Replayed) | 401 | `replayed` | 16 |
//! | [`DeliveryInFlight`](RejectionKind::DeliveryInFlight) | 409, `Retry-After` | `delivery_in_flight` | 10 `ABORTED` |
//! | [`BodyTooLarge`](RejectionKind::BodyTooLarge) | 413 | `payload_too_large` | 8 `RESOURCE_EXHAUSTED` |
//! | [`BodyTimeout`](RejectionKind::BodyTimeout) | 408 | `request_timeout` | 4 `DEADLINE_EXCEEDED` |
//! | [`BodyUnreadable`](RejectionKind::BodyUnreadable) | 400 | `bad_request` | 3 `INVALID_ARGUMENT` |
//! | [`InvalidRequest`](RejectionKind::InvalidRequest) | 400 | `invalid_request` | 3 `INVALID_ARGUMENT` |
//! | [`StoreUnavailable`](RejectionKind::StoreUnavailable) | 503 | `unavailable` | 14 `UNAVAILABLE` |
//!
//! An unknown, expired or revoked key and a wrong signature get the same response, byte for byte,
//! so a caller cannot probe which key ids exist; [`Rejection::kind`] still tells them apart for
//! logs and metrics.
//!
//! The default response is JSON, `{"error": "<code>", "message": "<text>"}`, with
//! `WWW-Authenticate` on 401. A request whose `content-type` starts with `application/grpc` gets a
//! trailers-only gRPC response instead: HTTP 200 with `grpc-status` and `grpc-message` headers and
//! an empty body. Replace it with a [`Responder`].

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};

use crate::error::StoreError;

/// What went wrong, for logs, metrics and custom responders.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionKind {
    /// A required credential header is absent.
    MissingCredentials,
    /// A credential header is present but unusable: duplicated, empty, not text, wrongly encoded.
    MalformedCredentials,
    /// No key has the id the request names.
    UnknownKey,
    /// The key named exists but has expired.
    KeyExpired,
    /// The key named exists but was revoked.
    KeyRevoked,
    /// The signature (or plain secret) does not match any live secret of the key.
    InvalidSignature,
    /// The key exists but may not authenticate this way (for example a mode turned off for it).
    NotAllowed,
    /// The request's timestamp is older than the allowed past tolerance.
    StaleTimestamp,
    /// The request's timestamp is further ahead than the allowed future tolerance.
    FutureTimestamp,
    /// The nonce, salt or signature was already used.
    Replayed,
    /// Another copy of this webhook delivery is being handled; the sender should retry later.
    DeliveryInFlight,
    /// The body is larger than the configured limit.
    BodyTooLarge,
    /// The body did not arrive within the layer's body deadline; nothing was recorded.
    BodyTimeout,
    /// The body could not be read (the connection failed mid-body).
    BodyUnreadable,
    /// The body was read but is not the request the endpoint expects: malformed JSON, a missing
    /// field, a field of the wrong type or form. The message names the field. Used by endpoints
    /// that take credentials in the body, such as Spike's token exchange.
    InvalidRequest,
    /// The key store or the replay store failed; the request was not let through.
    StoreUnavailable,
}

impl RejectionKind {
    /// The HTTP status of the default response.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::BodyUnreadable | Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::DeliveryInFlight => StatusCode::CONFLICT,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The gRPC status code of the default gRPC response.
    pub fn grpc_status(self) -> u8 {
        match self {
            Self::BodyTooLarge => 8,
            Self::BodyTimeout => 4,
            Self::BodyUnreadable | Self::InvalidRequest => 3,
            Self::StoreUnavailable => 14,
            Self::DeliveryInFlight => 10,
            _ => 16,
        }
    }

    /// The stable `error` code of the default response.
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingCredentials => "missing_credentials",
            Self::MalformedCredentials => "malformed_credentials",
            Self::UnknownKey | Self::KeyExpired | Self::KeyRevoked | Self::InvalidSignature => {
                "invalid_credentials"
            }
            Self::NotAllowed => "not_allowed",
            Self::StaleTimestamp | Self::FutureTimestamp => "timestamp_out_of_window",
            Self::Replayed => "replayed",
            Self::DeliveryInFlight => "delivery_in_flight",
            Self::BodyTooLarge => "payload_too_large",
            Self::BodyTimeout => "request_timeout",
            Self::BodyUnreadable => "bad_request",
            Self::InvalidRequest => "invalid_request",
            Self::StoreUnavailable => "unavailable",
        }
    }

    /// Kinds whose detail would tell a caller whether a key id exists; their responses all carry
    /// the same generic message.
    fn hides_detail(self) -> bool {
        matches!(
            self,
            Self::UnknownKey | Self::KeyExpired | Self::KeyRevoked | Self::InvalidSignature
        )
    }

    fn default_message(self) -> &'static str {
        match self {
            Self::MissingCredentials => "credentials are missing",
            Self::MalformedCredentials => "credentials are malformed",
            Self::UnknownKey | Self::KeyExpired | Self::KeyRevoked | Self::InvalidSignature => {
                "the key or the signature is not valid"
            }
            Self::NotAllowed => "this key may not authenticate this way",
            Self::StaleTimestamp => "the request timestamp is too old",
            Self::FutureTimestamp => "the request timestamp is too far in the future",
            Self::Replayed => "this request was already used",
            Self::DeliveryInFlight => "another copy of this delivery is being handled; retry later",
            Self::BodyTooLarge => "the request body is too large",
            Self::BodyTimeout => "the request body did not arrive in time",
            Self::BodyUnreadable => "the request body could not be read",
            Self::InvalidRequest => "the request body is not valid",
            Self::StoreUnavailable => "authentication is temporarily unavailable",
        }
    }
}

/// A refused request: its [`RejectionKind`] and a message safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    kind: RejectionKind,
    message: Cow<'static, str>,
}

impl Rejection {
    /// A rejection with the kind's default message.
    pub fn new(kind: RejectionKind) -> Self {
        Self {
            kind,
            message: Cow::Borrowed(kind.default_message()),
        }
    }

    /// A rejection with a more precise message, such as which header is missing.
    ///
    /// The message is shown to the caller, so it must not contain secrets or expected signatures.
    /// For the kinds that must not reveal whether a key exists (unknown, expired or revoked key,
    /// wrong signature) the message is ignored and the generic one is used.
    pub fn with_message(kind: RejectionKind, message: impl Into<Cow<'static, str>>) -> Self {
        if kind.hides_detail() {
            return Self::new(kind);
        }
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The message shown to the caller.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A required credential header is absent (401 `missing_credentials`, naming it).
    pub fn missing(header: &str) -> Self {
        Self::with_message(
            RejectionKind::MissingCredentials,
            format!("missing {header} header"),
        )
    }

    /// A credential is present but not in the scheme's form (401 `malformed_credentials`).
    /// The message is shown to the caller: name the header and the expected form, never a
    /// secret or an expected signature.
    pub fn malformed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::with_message(RejectionKind::MalformedCredentials, message)
    }

    /// A key or replay store failed: the request is refused (503), never let through.
    pub(crate) fn store_failed(error: StoreError) -> Self {
        tracing::warn!(%error, "store failed; failing closed");
        Self::new(RejectionKind::StoreUnavailable)
    }

    /// The one event every refused request gets, from every layer and service: the scheme, the
    /// kind and the key id once it is known. Never a secret, a signature or a token.
    pub(crate) fn log(&self, scheme: &'static str, key_id: Option<&str>) {
        let kind = self.kind;
        if kind == RejectionKind::StoreUnavailable {
            tracing::warn!(
                scheme,
                ?kind,
                key_id,
                reason = self.message(),
                "request refused: store unavailable"
            );
        } else {
            tracing::debug!(scheme, ?kind, key_id, "request rejected");
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for Rejection {}

/// What a [`Responder`] knows about the refused request.
#[derive(Debug)]
pub struct RejectionContext<'a> {
    pub(crate) request: &'a Parts,
    pub(crate) challenge: Option<&'a HeaderValue>,
}

impl<'a> RejectionContext<'a> {
    /// The request's method, URI, headers and extensions.
    pub fn request(&self) -> &'a Parts {
        self.request
    }

    /// The scheme's `WWW-Authenticate` challenge, if it has one.
    pub fn challenge(&self) -> Option<&'a HeaderValue> {
        self.challenge
    }

    /// Whether the request is a gRPC call (`content-type: application/grpc...`).
    pub fn is_grpc(&self) -> bool {
        self.request
            .headers
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
    }
}

/// Turns a [`Rejection`] into the response the caller gets.
///
/// Closures `Fn(&Rejection, &RejectionContext<'_>) -> Response<Bytes>` implement it.
///
/// ```
/// use bytes::Bytes;
/// use http::{Response, StatusCode};
/// use tower_hmac::{MemoryKeyStore, Rejection, RejectionContext};
/// use tower_hmac::humanos::HumanosVerifyLayer;
///
/// let layer = HumanosVerifyLayer::new(MemoryKeyStore::new()).responder(
///     |rejection: &Rejection, _: &RejectionContext<'_>| {
///         let mut res = Response::new(Bytes::from_static(b"no"));
///         *res.status_mut() = if rejection.kind().status() == StatusCode::UNAUTHORIZED {
///             StatusCode::FORBIDDEN
///         } else {
///             rejection.kind().status()
///         };
///         res
///     },
/// );
/// # let _ = layer;
/// ```
pub trait Responder: Send + Sync + 'static {
    /// The response for `rejection`.
    fn respond(&self, rejection: &Rejection, context: &RejectionContext<'_>) -> Response<Bytes>;
}

impl<F> Responder for F
where
    F: Fn(&Rejection, &RejectionContext<'_>) -> Response<Bytes> + Send + Sync + 'static,
{
    fn respond(&self, rejection: &Rejection, context: &RejectionContext<'_>) -> Response<Bytes> {
        self(rejection, context)
    }
}

/// The default responses described in the [module docs](crate::rejection).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultResponder;

impl Responder for DefaultResponder {
    fn respond(&self, rejection: &Rejection, context: &RejectionContext<'_>) -> Response<Bytes> {
        default_response(rejection, context)
    }
}

/// The default response for `rejection`, for custom responders that only change some cases.
pub fn default_response(rejection: &Rejection, context: &RejectionContext<'_>) -> Response<Bytes> {
    if context.is_grpc() {
        grpc_response(rejection)
    } else {
        json_response(rejection, context.challenge)
    }
}

fn json_response(rejection: &Rejection, challenge: Option<&HeaderValue>) -> Response<Bytes> {
    let kind = rejection.kind();
    let body = serde_json::json!({ "error": kind.code(), "message": rejection.message() });
    let mut res = Response::new(Bytes::from(body.to_string()));
    *res.status_mut() = kind.status();
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(challenge) = challenge.filter(|_| kind.status() == StatusCode::UNAUTHORIZED) {
        headers.insert(WWW_AUTHENTICATE, challenge.clone());
    }
    match kind {
        RejectionKind::StoreUnavailable => {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        RejectionKind::DeliveryInFlight => {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        }
        _ => {}
    }
    res
}

fn grpc_response(rejection: &Rejection) -> Response<Bytes> {
    let mut res = Response::new(Bytes::new());
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(
        "grpc-status",
        HeaderValue::from(u16::from(rejection.kind().grpc_status())),
    );
    let message = percent_encoding::utf8_percent_encode(rejection.message(), GRPC_MESSAGE);
    if let Ok(message) = HeaderValue::from_str(&message.to_string()) {
        headers.insert("grpc-message", message);
    }
    res
}

/// `grpc-message` is percent-encoded (gRPC over HTTP/2 spec): bytes outside printable ASCII, and
/// `%` itself, become `%XX`.
const GRPC_MESSAGE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(content_type: Option<&'static str>) -> Parts {
        let mut req = http::Request::new(());
        if let Some(ct) = content_type {
            req.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        req.into_parts().0
    }

    fn respond(rejection: &Rejection, content_type: Option<&'static str>) -> Response<Bytes> {
        let parts = parts(content_type);
        let challenge = HeaderValue::from_static("Bearer realm=\"test\"");
        default_response(
            rejection,
            &RejectionContext {
                request: &parts,
                challenge: Some(&challenge),
            },
        )
    }

    #[test]
    fn json_401_carries_code_message_and_challenge() {
        let res = respond(&Rejection::missing("X-Signature"), None);
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()[WWW_AUTHENTICATE], "Bearer realm=\"test\"");
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            res.body().as_ref(),
            br#"{"error":"missing_credentials","message":"missing X-Signature header"}"#
        );
        let parsed: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(parsed["error"], "missing_credentials");
    }

    #[test]
    fn key_existence_is_not_revealed() {
        let bodies: Vec<_> = [
            RejectionKind::UnknownKey,
            RejectionKind::KeyExpired,
            RejectionKind::KeyRevoked,
            RejectionKind::InvalidSignature,
        ]
        .into_iter()
        .map(|k| respond(&Rejection::with_message(k, "key abc is unknown"), None).into_body())
        .collect();
        assert!(bodies.iter().all(|b| b == &bodies[0]));
        assert_eq!(
            bodies[0].as_ref(),
            br#"{"error":"invalid_credentials","message":"the key or the signature is not valid"}"#
        );
    }

    #[test]
    fn statuses_for_body_and_store_failures() {
        let res = respond(&Rejection::new(RejectionKind::BodyTooLarge), None);
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(res.headers().get(WWW_AUTHENTICATE).is_none());
        let res = respond(&Rejection::new(RejectionKind::BodyTimeout), None);
        assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(res.headers().get(WWW_AUTHENTICATE).is_none());
        assert_eq!(
            res.body().as_ref(),
            br#"{"error":"request_timeout","message":"the request body did not arrive in time"}"#
        );
        let res = respond(&Rejection::new(RejectionKind::DeliveryInFlight), None);
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(res.headers()[RETRY_AFTER], "5");
        assert!(res.headers().get(WWW_AUTHENTICATE).is_none());
        let res = respond(&Rejection::new(RejectionKind::StoreUnavailable), None);
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[RETRY_AFTER], "1");
        let res = respond(
            &Rejection::with_message(
                RejectionKind::InvalidRequest,
                "application_user_id is required",
            ),
            None,
        );
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.headers().get(WWW_AUTHENTICATE).is_none());
        assert_eq!(
            res.body().as_ref(),
            br#"{"error":"invalid_request","message":"application_user_id is required"}"#
        );
    }

    #[test]
    fn grpc_requests_get_trailers_only_status() {
        let res = respond(
            &Rejection::malformed("100% \"wrong\" \u{e9}"),
            Some("application/grpc+proto"),
        );
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["grpc-status"], "16");
        assert_eq!(res.headers()["grpc-message"], "100%25 \"wrong\" %C3%A9");
        assert!(res.body().is_empty());
        for (kind, code) in [
            (RejectionKind::BodyTooLarge, "8"),
            (RejectionKind::BodyTimeout, "4"),
            (RejectionKind::DeliveryInFlight, "10"),
            (RejectionKind::StoreUnavailable, "14"),
            (RejectionKind::BodyUnreadable, "3"),
            (RejectionKind::InvalidRequest, "3"),
        ] {
            let res = respond(&Rejection::new(kind), Some("application/grpc"));
            assert_eq!(res.headers()["grpc-status"], code);
        }
    }

    #[test]
    fn json_escapes_quotes_and_controls() {
        let res = respond(&Rejection::malformed("a\"b\\c\nd"), None);
        let parsed: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(parsed["message"], "a\"b\\c\nd");
    }
}

//! `POST /auth/hmac`: an application's HMAC of a user id exchanged for that user's access token.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use serde::Deserialize;
use serde_json::Value;
use tower_layer::Layer as _;
use tower_service::Service;

use super::token::{SpikeTokenKeys, valid_application_id, valid_user_id};
use crate::clock::{Clock, SystemClock};
use crate::crypto::{Message, Secret, Tag};
use crate::error::{BoxError, ConfigError};
use crate::keys::{Key, KeyStore};
use crate::pipeline::{
    BodySigned, MatchedSecret, Presented, Proof, ResponseBody, ResponseFuture, Scheme, Signatures,
    Verified, VerifiedBody, Verify, VerifyLayer,
};
use crate::rejection::{Rejection, RejectionContext, RejectionKind, Responder, default_response};
use crate::sign::sign_message;

/// Default body limit of the exchange: 16 KiB, far more than the three fields need.
pub const EXCHANGE_BODY_LIMIT: usize = 16 * 1024;

/// The `signature` a Spike client sends for `user_id`: lower-case hex of
/// HMAC-SHA256(application's HMAC key, user id), as the vendor's `sign_user`.
///
/// ```
/// use tower_hmac::Secret;
/// use tower_hmac::spike::sign_user;
///
/// let key = Secret::new("HMAC_KEY_FROM_ADMIN_CONSOLE").unwrap();
/// assert_eq!(
///     sign_user(&key, "my_application_user_123"),
///     "e070ea58e2b1d7d01a9570b89fc99e76c73cf3dc8aab4f31ae0136821f8f0199"
/// );
/// ```
pub fn sign_user(key: &Secret, user_id: &str) -> String {
    let request = ExchangeRequest {
        application_id: String::new(),
        user_id: user_id.to_owned(),
    };
    sign_message(&SpikeExchangeScheme::signing(), &request, b"", key).to_hex()
}

/// The exchange as a [`Scheme`]: its credentials are the JSON body, its key the application
/// named there, its signed message the user id.
#[derive(Clone)]
pub struct SpikeExchangeScheme {
    tokens: Option<SpikeTokenKeys>,
}

impl SpikeExchangeScheme {
    /// The scheme as a client signs with it (the token keys are the server's).
    fn signing() -> Self {
        Self { tokens: None }
    }
}

impl fmt::Debug for SpikeExchangeScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpikeExchangeScheme")
            .finish_non_exhaustive()
    }
}

/// The application's user an exchange verified: what the token is issued for. Its
/// [`key_id`](Verified::key_id) is the application id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpikeExchangeUser {
    application_id: Arc<str>,
    user_id: Arc<str>,
}

impl SpikeExchangeUser {
    /// The application (the body's `application_id`, as a string).
    pub fn application_id(&self) -> &str {
        &self.application_id
    }

    /// The application's id for the user (`application_user_id`).
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}

impl Scheme for SpikeExchangeScheme {
    type Credentials = ExchangeRequest;
    type Identity = SpikeExchangeUser;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "spike"
    }

    fn challenge(&self) -> Option<HeaderValue> {
        Some(HeaderValue::from_static("HMAC realm=\"spike\""))
    }

    /// Nothing in the headers: everything is in the body.
    fn credentials(&self, _request: &Parts) -> Result<Presented<ExchangeRequest>, Rejection> {
        Ok(Presented {
            credentials: ExchangeRequest::default(),
            proof: Proof::Mac(Signatures::new()),
        })
    }

    fn body_credentials(
        &self,
        presented: &mut Presented<ExchangeRequest>,
        body: &[u8],
    ) -> Result<(), Rejection> {
        let (request, signature) = parse_request(body)?;
        *presented = Presented::mac(request, signature);
        Ok(())
    }

    /// The application, once the body named it.
    fn key_id<'c>(&self, request: &'c ExchangeRequest) -> Option<&'c str> {
        (!request.application_id.is_empty()).then_some(request.application_id.as_str())
    }

    /// The user id alone.
    fn message(&self, request: &ExchangeRequest, _body: &[u8], message: &mut Message<'_>) {
        message.write(request.user_id.as_bytes());
    }

    /// An application whose HMAC key is also a token key could sign tokens itself: fail closed.
    fn authorize(&self, _request: &ExchangeRequest, application: &Key) -> Result<(), Rejection> {
        match &self.tokens {
            Some(tokens) if tokens.held_by(application) => {
                Err(Rejection::new(RejectionKind::StoreUnavailable))
            }
            _ => Ok(()),
        }
    }

    fn identity(
        &self,
        request: ExchangeRequest,
        _matched: Option<&MatchedSecret>,
    ) -> SpikeExchangeUser {
        SpikeExchangeUser {
            application_id: request.application_id.into(),
            user_id: request.user_id.into(),
        }
    }
}

/// The Tower service answering Spike's token exchange: `POST` with the JSON body
/// `{"application_id": ..., "application_user_id": "...", "signature": "<hex>"}`, answered with
/// `200 {"access_token": "<jwt>"}`.
///
/// It is the crate's generic [`Verify`] service (the [`SpikeExchangeScheme`]) in front of a
/// service issuing the token for the verified user. Mount it where the vendor's endpoint is, for
/// example `Router::new().route("/v3/auth/hmac", axum::routing::post_service(exchange))`, or with
/// `route_service` / `nest_service` (it answers other methods with 405 itself). Its error type is
/// [`Infallible`]: every refusal is a response. See the [module docs](super) for the statuses.
///
/// The applications' HMAC keys come from a [`KeyStore`] keyed by application id (as a string: the
/// number `9999` and the string `"9999"` name the same application); a key with several live
/// secrets accepts a signature made with any of them, so application keys rotate like any other
/// key of this crate.
#[derive(Clone)]
pub struct SpikeExchange {
    layer: VerifyLayer<SpikeExchangeScheme>,
    issue: IssueToken,
}

/// The inner service of the exchange: signs a token for the user the layer verified.
#[derive(Clone)]
pub struct IssueToken {
    tokens: SpikeTokenKeys,
    clock: Arc<dyn Clock>,
    lifetime: Option<Duration>,
}

impl fmt::Debug for IssueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssueToken")
            .field("tokens", &self.tokens)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl SpikeExchange {
    /// An exchange checking signatures against the application keys in `applications` and
    /// signing tokens with `tokens`. Tokens never expire unless
    /// [`token_lifetime`](Self::token_lifetime) is set.
    ///
    /// The token keys are [reserved](KeyStore::reserve) in `applications`: with a
    /// [`MemoryKeyStore`](crate::MemoryKeyStore), an application key equal to a token key is an
    /// error here (the store logs the application id), and one added later is refused by the
    /// store. A store that cannot police its keys accepts the reservation; the exchange then still
    /// refuses, on each request, to issue a token for an application holding a token key.
    pub fn new(applications: impl KeyStore, tokens: SpikeTokenKeys) -> Result<Self, ConfigError> {
        let applications: Arc<dyn KeyStore> = Arc::new(applications);
        tokens.reserve_in(&applications)?;
        let scheme = SpikeExchangeScheme {
            tokens: Some(tokens.clone()),
        };
        Ok(Self {
            layer: VerifyLayer::with_scheme(scheme, applications).body_limit(EXCHANGE_BODY_LIMIT),
            issue: IssueToken {
                tokens,
                clock: Arc::new(SystemClock),
                lifetime: None,
            },
        })
    }

    /// Issued tokens carry `iat` (now) and `exp` (now + `lifetime`), and so stop working after
    /// `lifetime`; the exchange then hands out a new one. Off by default: without it a user's token
    /// is the same on every exchange, as the vendor documents.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.issue.lifetime = Some(lifetime);
        self
    }

    /// The largest body read, in bytes (default [`EXCHANGE_BODY_LIMIT`]). A larger body is
    /// refused with 413 and not buffered past the limit.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.layer = self.layer.body_limit(bytes);
        self
    }

    /// Where "now" comes from, for key expiry and token `iat`/`exp` (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + Clone) -> Self {
        self.issue.clock = Arc::new(clock.clone());
        self.layer = self.layer.clock(clock);
        self
    }

    /// Replaces the default rejection responses (the 405 for a wrong method is not a rejection
    /// and keeps its own response).
    pub fn responder(mut self, responder: impl Responder) -> Self {
        self.layer = self.layer.responder(responder);
        self
    }

    /// Changes the options of the verifying layer inside (the mock's explanations and counters).
    #[cfg(feature = "mock")]
    pub(crate) fn map_layer(
        mut self,
        change: impl FnOnce(VerifyLayer<SpikeExchangeScheme>) -> VerifyLayer<SpikeExchangeScheme>,
    ) -> Self {
        self.layer = change(self.layer);
        self
    }

    /// Checks an exchange body already in memory and returns the access token, without a server.
    pub async fn exchange(&self, body: &[u8]) -> Result<String, Rejection> {
        let (parts, ()) = Request::post("/").body(()).unwrap_or_default().into_parts();
        let verified = self.layer.verifier().verify(&parts, body).await?;
        self.issue.token(&verified)
    }
}

impl IssueToken {
    /// The token for a verified user; a signing failure (which the backend check of
    /// [`SpikeTokenKeys::new`] rules out) fails closed.
    fn token(&self, user: &Verified<SpikeExchangeUser>) -> Result<String, Rejection> {
        let user = user.identity();
        let now: SystemTime = self.clock.now();
        self.tokens
            .issue(user.application_id(), user.user_id(), now, self.lifetime)
            .map_err(|error| {
                tracing::error!(%error, "spike: could not sign an access token");
                Rejection::new(RejectionKind::StoreUnavailable)
            })
    }
}

impl Service<Request<VerifiedBody>> for IssueToken {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<VerifiedBody>) -> Self::Future {
        let (parts, _) = request.into_parts();
        // The layer in front always puts the user there; without it, fail closed.
        let token = parts
            .extensions
            .get::<Verified<SpikeExchangeUser>>()
            .ok_or_else(|| Rejection::new(RejectionKind::StoreUnavailable))
            .and_then(|user| self.token(user));
        std::future::ready(Ok(match token {
            Ok(token) => token_response(&token),
            Err(rejection) => {
                let context = RejectionContext {
                    request: &parts,
                    challenge: None,
                };
                default_response(&rejection, &context)
                    .map(|body| String::from_utf8_lossy(&body).into_owned())
            }
        }))
    }
}

impl<B> Service<Request<B>> for SpikeExchange
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<String>>;
    type Error = Infallible;
    type Future =
        ResponseFuture<<IssueToken as Service<Request<VerifiedBody>>>::Future, String, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.method() != Method::POST {
            return ResponseFuture::answered(method_not_allowed());
        }
        let mut verify: Verify<IssueToken, SpikeExchangeScheme> =
            self.layer.layer(self.issue.clone());
        verify.call(request)
    }
}

impl fmt::Debug for SpikeExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpikeExchange")
            .field("layer", &self.layer)
            .field("issue", &self.issue)
            .finish()
    }
}

fn token_response(token: &str) -> Response<String> {
    let body = serde_json::json!({ "access_token": token }).to_string();
    let mut res = Response::new(body);
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // A credential: no cache on the way may keep it (as RFC 6749 §5.1 asks of token responses).
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn method_not_allowed() -> Response<Bytes> {
    let body = serde_json::json!({
        "error": "method_not_allowed",
        "message": "the token exchange takes POST",
    });
    let mut res = Response::new(Bytes::from(body.to_string()));
    *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(ALLOW, HeaderValue::from_static("POST"));
    res
}

/// A parsed and validated exchange body, without its signature.
#[derive(Debug, Default)]
pub struct ExchangeRequest {
    application_id: String,
    user_id: String,
}

/// The body as JSON; each field's type is checked afterwards so that errors can name it.
/// Missing and `null` fields are both `Value::Null`. Unknown fields are ignored; a repeated field
/// is an error (serde's derive refuses duplicates).
#[derive(Deserialize)]
struct RawRequest {
    #[serde(default)]
    application_id: Value,
    #[serde(default)]
    application_user_id: Value,
    #[serde(default)]
    signature: Value,
}

const APPLICATION_ID_FORM: &str = "application_id must be a non-negative integer or a string of 1 to 128 visible ASCII characters";
const USER_ID_FORM: &str =
    "application_user_id must be a string of 1 to 128 characters from A-Z a-z 0-9 - _ .";
const SIGNATURE_TYPE: &str =
    "signature must be a string: the hex HMAC-SHA256 of application_user_id";
const SIGNATURE_FORM: &str =
    "signature must be 64 hex digits: the HMAC-SHA256 of application_user_id";

fn invalid(message: &'static str) -> Rejection {
    Rejection::with_message(RejectionKind::InvalidRequest, message)
}

pub(crate) fn parse_request(body: &[u8]) -> Result<(ExchangeRequest, Tag), Rejection> {
    // serde's derive would also take a JSON array, positionally: only an object is the request.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(invalid("the body must be a JSON object"));
    }
    let raw: RawRequest = serde_json::from_slice(body).map_err(|error| {
        if error.is_data() {
            invalid("the body must be a JSON object with each field given once")
        } else {
            invalid("the body is not valid JSON")
        }
    })?;

    let application_id = match raw.application_id {
        Value::Null => return Err(invalid("application_id is required")),
        Value::Number(n) => n
            .as_u64()
            .map(|n| n.to_string())
            .ok_or_else(|| invalid(APPLICATION_ID_FORM))?,
        Value::String(s) if valid_application_id(&s) => s,
        _ => return Err(invalid(APPLICATION_ID_FORM)),
    };
    let user_id = match raw.application_user_id {
        Value::Null => return Err(invalid("application_user_id is required")),
        Value::String(s) if valid_user_id(&s) => s,
        _ => return Err(invalid(USER_ID_FORM)),
    };
    let signature = match raw.signature {
        Value::Null => return Err(invalid("signature is required")),
        Value::String(s) => {
            Tag::from_hex(s.as_bytes()).map_err(|_| Rejection::malformed(SIGNATURE_FORM))?
        }
        _ => return Err(invalid(SIGNATURE_TYPE)),
    };
    Ok((
        ExchangeRequest {
            application_id,
            user_id,
        },
        signature,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "e070ea58e2b1d7d01a9570b89fc99e76c73cf3dc8aab4f31ae0136821f8f0199";

    fn parse(body: &str) -> Result<ExchangeRequest, Rejection> {
        parse_request(body.as_bytes()).map(|(request, _)| request)
    }

    fn refused(body: &str) -> (RejectionKind, String) {
        let r = parse(body).unwrap_err();
        (r.kind(), r.message().to_owned())
    }

    #[test]
    fn doc_example_body_parses() {
        let req = parse(&format!(
            r#"{{"application_id": 9999, "application_user_id": "my_application_user_123", "signature": "{SIG}"}}"#
        ))
        .unwrap();
        assert_eq!(req.application_id, "9999");
        assert_eq!(req.user_id, "my_application_user_123");
        let (_, signature) = parse_request(
            format!(
                r#"{{"application_id": 9999, "application_user_id": "my_application_user_123", "signature": "{SIG}"}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(signature.to_hex(), SIG);
    }

    #[test]
    fn application_id_number_and_string_normalise_alike() {
        for id in [
            "9999",
            r#""9999""#,
            "0",
            r#""abc-1""#,
            "18446744073709551615",
        ] {
            let req = parse(&format!(
                r#"{{"application_id": {id}, "application_user_id": "u", "signature": "{SIG}"}}"#
            ))
            .unwrap();
            assert_eq!(req.application_id, id.trim_matches('"'));
        }
        for id in [
            "-1",
            "1.5",
            "1.0",
            "1e3",
            "18446744073709551616",
            "true",
            "[]",
            "{}",
            r#""""#,
            r#""a b""#,
        ] {
            assert_eq!(
                refused(&format!(
                    r#"{{"application_id": {id}, "application_user_id": "u", "signature": "{SIG}"}}"#
                )),
                (
                    RejectionKind::InvalidRequest,
                    APPLICATION_ID_FORM.to_owned()
                ),
                "{id}"
            );
        }
    }

    #[test]
    fn missing_and_null_fields_are_named() {
        for (body, field) in [
            (
                format!(r#"{{"application_user_id": "u", "signature": "{SIG}"}}"#),
                "application_id",
            ),
            (
                format!(r#"{{"application_id": 1, "signature": "{SIG}"}}"#),
                "application_user_id",
            ),
            (
                r#"{"application_id": 1, "application_user_id": "u"}"#.to_owned(),
                "signature",
            ),
            (
                format!(
                    r#"{{"application_id": 1, "application_user_id": null, "signature": "{SIG}"}}"#
                ),
                "application_user_id",
            ),
        ] {
            assert_eq!(
                refused(&body),
                (
                    RejectionKind::InvalidRequest,
                    format!("{field} is required")
                )
            );
        }
    }

    #[test]
    fn user_id_rules() {
        let ok = ["a", "A-z_0.9", &"x".repeat(128)];
        for id in ok {
            assert!(valid_user_id(id), "{id}");
        }
        let long = "x".repeat(129);
        for id in ["", " ", "a b", "a/b", "a+b", "jos\u{e9}", "a\nb", &long] {
            assert!(!valid_user_id(id), "{id:?}");
        }
        assert_eq!(
            refused(&format!(
                r#"{{"application_id": 1, "application_user_id": 5, "signature": "{SIG}"}}"#
            )),
            (RejectionKind::InvalidRequest, USER_ID_FORM.to_owned())
        );
    }

    #[test]
    fn signature_type_is_400_and_form_is_401() {
        assert_eq!(
            refused(r#"{"application_id": 1, "application_user_id": "u", "signature": 12}"#),
            (RejectionKind::InvalidRequest, SIGNATURE_TYPE.to_owned())
        );
        for sig in [
            "",
            "zz",
            &SIG[..62],
            &format!("{SIG}00"),
            &SIG.replace('e', "g"),
        ] {
            assert_eq!(
                refused(&format!(
                    r#"{{"application_id": 1, "application_user_id": "u", "signature": "{sig}"}}"#
                )),
                (
                    RejectionKind::MalformedCredentials,
                    SIGNATURE_FORM.to_owned()
                ),
                "{sig}"
            );
        }
    }

    #[test]
    fn body_shape_errors() {
        for (body, message) in [
            ("", "the body must be a JSON object"),
            ("[1, \"u\", \"s\"]", "the body must be a JSON object"),
            ("null", "the body must be a JSON object"),
            ("{", "the body is not valid JSON"),
            ("{\"application_id\": 1,}", "the body is not valid JSON"),
            ("{} trailing", "the body is not valid JSON"),
            (
                "{\"signature\": \"a\", \"signature\": \"b\"}",
                "the body must be a JSON object with each field given once",
            ),
        ] {
            assert_eq!(
                refused(body),
                (RejectionKind::InvalidRequest, message.to_owned()),
                "{body}"
            );
        }
        // Deep nesting hits serde_json's recursion limit, not the stack.
        let deep = format!("{{\"x\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(refused(&deep).0, RejectionKind::InvalidRequest);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        parse(&format!(
            r#"{{"application_id": 1, "application_user_id": "u", "signature": "{SIG}", "extra": [1]}}"#
        ))
        .unwrap();
    }
}

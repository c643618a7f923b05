//! The client side: signing outgoing requests the way each vendor's clients do.
//!
//! Every scheme module has a function that returns the credential headers of one request
//! ([`humanos::sign_request`](crate::humanos::sign_request),
//! [`inqud::sign_request`](crate::inqud::sign_request),
//! [`proficient::sign_request`](crate::proficient::sign_request); for Spike the exchange body,
//! `spike::exchange_body`, and then `spike::bearer_headers`, feature `spike`), and a [`Signer`] that a
//! [`SignLayer`] applies to every request of a Tower or hyper client:
//!
//! | scheme | signer | body |
//! |---|---|---|
//! | Humanos | [`HumanosSigner`](crate::humanos::HumanosSigner): `X-Timestamp` from its [`Clock`] | read and signed |
//! | Inqud | [`InqudSigner`](crate::inqud::InqudSigner): a fresh random salt per request (HMAC mode) | read and signed (HMAC mode) |
//! | Proficient | [`ProficientSigner`](crate::proficient::ProficientSigner): one user's three headers | untouched |
//! | Spike | `spike::SpikeSigner`: `Authorization: Bearer` with the token the exchange returned | untouched |
//!
//! A body-signing signer makes the layer read the body first, up to
//! [`body_limit`](SignLayer::body_limit) (1 MiB by default; more is a [`SignError`], never a
//! truncated body), and send the very bytes it signed. A header-only signer leaves the body alone,
//! so streaming uploads stay streaming.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_hmac::humanos::{HumanosSigner, HumanosVerifyLayer};
//! use tower_hmac::sign::{SignLayer, SignedBody};
//! use tower_hmac::{Key, MemoryKeyStore, Secret};
//!
//! let secret = Secret::new("YOUR_SIGNATURE_SECRET").unwrap();
//! // A server, standing in for the vendor...
//! let keys = MemoryKeyStore::new().with(Key::new("YOUR_API_KEY", secret.clone()));
//! let server = ServiceBuilder::new()
//!     .layer(HumanosVerifyLayer::new(keys))
//!     .service(service_fn(|_req| async { Ok::<_, Infallible>(Response::new(String::new())) }));
//!
//! // ...and a client whose requests are signed on the way out. (A real client would be a hyper
//! // or tonic client; here the signed request is handed straight to the server.)
//! let client = ServiceBuilder::new()
//!     .layer(SignLayer::new(HumanosSigner::new("YOUR_API_KEY", secret).unwrap()))
//!     .service(service_fn(move |req: Request<SignedBody<Full<Bytes>>>| {
//!         server.clone().oneshot(req)
//!     }));
//!
//! let request = Request::post("/v0/process/generate")
//!     .body(Full::new(Bytes::from_static(br#"{"contacts":["+351912345678"]}"#)))
//!     .unwrap();
//! let res = client.oneshot(request).await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK);
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Request};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::clock::{Clock, SystemClock};
use crate::crypto::{Ed25519PrivateKey, Ed25519Signature, Secret, Tag, hmac, message_bytes};
use crate::error::BoxError;
use crate::pipeline::{PassOrBuffer, ReadError, Scheme, declared_len, read};

pub use crate::pipeline::DEFAULT_BODY_LIMIT;

/// The MAC a client of `scheme` sends for a request with `credentials` and `body`: the scheme's
/// HMAC ([`Scheme::mac_algorithm`]) under `secret` of [`Scheme::message`], the very rule the
/// verifier rebuilds. Every signer of this crate computes its signature here.
///
/// ```
/// use tower_hmac::Secret;
/// use tower_hmac::humanos::{Humanos, HumanosCredentials};
/// use tower_hmac::sign::sign_message;
///
/// let secret = Secret::new("YOUR_SIGNATURE_SECRET").unwrap();
/// let credentials = HumanosCredentials::new("YOUR_API_KEY", 1_763_800_000_000);
/// let tag = sign_message(&Humanos::default(), &credentials, b"", &secret);
/// assert_eq!(tag.to_hex(), "5a19a21a38ea98a849bf26981bf9854f5e3354d7ed76c75c87811064472c6330");
/// ```
pub fn sign_message<S: Scheme>(
    scheme: &S,
    credentials: &S::Credentials,
    body: &[u8],
    secret: &Secret,
) -> Tag {
    hmac(scheme.mac_algorithm(credentials), secret, |m| {
        scheme.message(credentials, body, m)
    })
}

/// The Ed25519 signature a sender of `scheme` makes for a request with `credentials` and `body`:
/// `key`'s signature of [`Scheme::message`], the very message the verifier checks the signature
/// over (gathered into one buffer: Ed25519 signs a message in one piece). Every Ed25519 signer
/// of the crate signs here (`discord::signature`, `standard::signature_v1a`, and
/// [`SchemeSigner`] with an [`Ed25519PrivateKey`]).
pub fn sign_ed25519<S: Scheme>(
    scheme: &S,
    credentials: &S::Credentials,
    body: &[u8],
    key: &Ed25519PrivateKey,
) -> Ed25519Signature {
    let mut message = Vec::new();
    message_bytes(&mut message, |m| scheme.message(credentials, body, m));
    key.sign(&message)
}

/// What a signer signs with: a secret shared with the receiver (an HMAC, [`sign_message`]), or
/// an Ed25519 private key whose public key the receiver holds ([`sign_ed25519`]).
///
/// `Debug` never shows the secret or the private key.
#[derive(Clone, Debug)]
#[non_exhaustive]
// One per signer, made once: the Ed25519 key (with its expanded public point) is held inline.
#[allow(clippy::large_enum_variant)]
pub enum SigningKey {
    /// An HMAC secret.
    Hmac(Secret),
    /// An Ed25519 private key.
    Ed25519(Ed25519PrivateKey),
}

impl From<Secret> for SigningKey {
    fn from(secret: Secret) -> Self {
        Self::Hmac(secret)
    }
}

impl From<Ed25519PrivateKey> for SigningKey {
    fn from(key: Ed25519PrivateKey) -> Self {
        Self::Ed25519(key)
    }
}

/// Puts a scheme's credentials on an outgoing request.
///
/// The schemes' signers implement it; implement it yourself for another protocol and use it with
/// [`SignLayer`].
pub trait Signer: Send + Sync + 'static {
    /// Whether the signed message includes the body. If so, [`SignLayer`] reads the whole body
    /// (up to its limit) before calling [`sign`](Self::sign); if not, it passes an empty slice and
    /// never touches the body.
    fn signs_body(&self) -> bool;

    /// Sets the credential headers of a request whose body is `body`.
    fn sign(&self, request: &mut Parts, body: &[u8]) -> Result<(), SignError>;
}

impl<T: Signer + ?Sized> Signer for Arc<T> {
    fn signs_body(&self) -> bool {
        (**self).signs_body()
    }

    fn sign(&self, request: &mut Parts, body: &[u8]) -> Result<(), SignError> {
        (**self).sign(request, body)
    }
}

/// Why a request could not be signed. Its messages never contain a secret or a signature.
#[derive(Debug)]
pub struct SignError {
    kind: SignErrorKind,
    message: String,
}

/// What kind of [`SignError`] it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignErrorKind {
    /// A value (key id, user id, secret sent as is, ...) cannot be an HTTP header value.
    InvalidHeader,
    /// The body is longer than the layer's limit.
    BodyTooLarge,
    /// The body could not be read.
    BodyUnreadable,
    /// The operating system's random number generator failed.
    Random,
    /// The scheme's senders do not sign with this kind of key (an HMAC secret for an Ed25519
    /// scheme, or the reverse).
    UnsupportedKey,
}

impl SignError {
    /// A value that cannot be sent in the header named `header` (the message names the header,
    /// never the value).
    pub fn invalid_header(header: &str) -> Self {
        Self {
            kind: SignErrorKind::InvalidHeader,
            message: format!("the value for the {header} header is not a valid header value"),
        }
    }

    /// A body the scheme cannot sign (the message says why, never what the body holds).
    pub(crate) fn body(message: &str) -> Self {
        Self {
            kind: SignErrorKind::BodyUnreadable,
            message: message.to_owned(),
        }
    }

    /// A scheme whose senders do not sign with this kind of key.
    pub(crate) fn unsupported_key(scheme: &str, kind: &str) -> Self {
        Self {
            kind: SignErrorKind::UnsupportedKey,
            message: format!("{scheme} senders do not sign with {kind}"),
        }
    }

    pub(crate) fn random(error: getrandom::Error) -> Self {
        Self {
            kind: SignErrorKind::Random,
            message: format!("the random number generator failed: {error}"),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> SignErrorKind {
        self.kind
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SignError {}

/// The sending side of a scheme whose sender holds a secret (or a private key) and a clock (a
/// webhook sender): how it fills the credentials of a request and writes them with the
/// signature. A [`SchemeSigner`] signs with it, the MAC coming from [`sign_message`] (an Ed25519
/// signature from [`sign_ed25519`]), so the rule is the scheme's own.
///
/// A sender signing with a secret implements [`put`](Self::put); one signing with an Ed25519
/// private key, [`put_ed25519`](Self::put_ed25519); a scheme accepting both (Standard Webhooks'
/// `v1` and `v1a`) implements both. The one left out refuses to sign.
pub trait Sender: Scheme {
    /// The credentials of `request` (its URL and headers), whose body is `body`, sent at `now`:
    /// the timestamp, a fresh delivery id where the scheme signs one.
    fn credentials_to_sign(
        &self,
        request: &Parts,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Self::Credentials, SignError>;

    /// Puts `credentials` and the MAC `signature` on `request`, in the scheme's headers and
    /// encodings. Default: an error (the scheme's senders do not sign with a shared secret).
    fn put(
        &self,
        credentials: &Self::Credentials,
        signature: &Tag,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        let _ = (credentials, signature, request);
        Err(SignError::unsupported_key(self.name(), "an HMAC secret"))
    }

    /// Puts `credentials` and the Ed25519 `signature` on `request`. Default: an error (the
    /// scheme's senders do not sign with a private key).
    fn put_ed25519(
        &self,
        credentials: &Self::Credentials,
        signature: &Ed25519Signature,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        let _ = (credentials, signature, request);
        Err(SignError::unsupported_key(
            self.name(),
            "an Ed25519 private key",
        ))
    }
}

/// A [`Signer`] derived from a scheme: the [`Sender`]'s credentials, signed with a secret (or a
/// private key) under the scheme's own message rule. Use it with a [`SignLayer`], or sign one
/// request with [`sign`](Self::sign).
pub struct SchemeSigner<S> {
    scheme: S,
    key: SigningKey,
    clock: Arc<dyn Clock>,
}

impl<S: Sender> SchemeSigner<S> {
    /// A signer for `scheme` with `key` (a [`Secret`], or an [`Ed25519PrivateKey`]: see
    /// [`SigningKey`]), on the system clock.
    pub fn new(scheme: S, key: impl Into<SigningKey>) -> Self {
        Self {
            scheme,
            key: key.into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Where the timestamps come from (default: the system clock), to sign in the past or the
    /// future.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The scheme it signs for.
    pub fn scheme(&self) -> &S {
        &self.scheme
    }

    /// The headers of a `POST` to `url` with `body`, signed now.
    pub fn headers(&self, url: &str, body: &[u8]) -> Result<http::HeaderMap, SignError> {
        let request = Request::post(url)
            .body(())
            .map_err(|_| SignError::invalid_header("the URL"))?;
        let (mut parts, ()) = request.into_parts();
        self.sign(&mut parts, body)?;
        Ok(parts.headers)
    }
}

impl<S: Sender> Signer for SchemeSigner<S> {
    fn signs_body(&self) -> bool {
        <S::Body as crate::pipeline::BodyMode>::READS_BODY
    }

    fn sign(&self, request: &mut Parts, body: &[u8]) -> Result<(), SignError> {
        let credentials = self
            .scheme
            .credentials_to_sign(request, body, self.clock.now())?;
        match &self.key {
            SigningKey::Hmac(secret) => {
                let signature = sign_message(&self.scheme, &credentials, body, secret);
                self.scheme.put(&credentials, &signature, request)
            }
            SigningKey::Ed25519(key) => {
                let signature = sign_ed25519(&self.scheme, &credentials, body, key);
                self.scheme.put_ed25519(&credentials, &signature, request)
            }
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for SchemeSigner<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemeSigner")
            .field("scheme", &self.scheme)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// A header value, or the error naming the header (never the value).
pub fn header_value(value: &[u8], header: &str) -> Result<HeaderValue, SignError> {
    HeaderValue::from_bytes(value).map_err(|_| SignError::invalid_header(header))
}

/// A header value marked sensitive (kept out of HTTP/2 header compression tables), for
/// signatures, secrets and tokens.
pub fn sensitive(value: &[u8], header: &str) -> Result<HeaderValue, SignError> {
    let mut value = header_value(value, header)?;
    value.set_sensitive(true);
    Ok(value)
}

/// Inserts `headers` into `request`, replacing earlier values of the same names.
pub fn set_headers(request: &mut Parts, headers: http::HeaderMap) {
    // The map yields a name with its first value and `None` with each further one.
    let mut name: Option<HeaderName> = None;
    for (next, value) in headers {
        match (next, &name) {
            (Some(next), _) => {
                request.headers.insert(next.clone(), value);
                name = Some(next);
            }
            (None, Some(name)) => {
                request.headers.append(name.clone(), value);
            }
            (None, None) => {}
        }
    }
}

/// A layer signing every request with `S` before the inner client sends it.
///
/// The inner service receives `Request<`[`SignedBody<B>`](SignedBody)`>`; its error type becomes
/// [`BoxError`], which carries either the inner error or a [`SignError`].
#[derive(Debug)]
pub struct SignLayer<S> {
    signer: Arc<S>,
    body_limit: usize,
}

impl<S: Signer> SignLayer<S> {
    /// A layer signing with `signer`.
    pub fn new(signer: S) -> Self {
        Self {
            signer: Arc::new(signer),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// The longest body read to be signed (default [`DEFAULT_BODY_LIMIT`]); a longer one is not
    /// sent and the call fails with [`SignErrorKind::BodyTooLarge`].
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }
}

impl<S> Clone for SignLayer<S> {
    fn clone(&self) -> Self {
        Self {
            signer: Arc::clone(&self.signer),
            body_limit: self.body_limit,
        }
    }
}

impl<S, Inner> Layer<Inner> for SignLayer<S> {
    type Service = Sign<Inner, S>;

    fn layer(&self, inner: Inner) -> Self::Service {
        Sign {
            inner,
            signer: Arc::clone(&self.signer),
            body_limit: self.body_limit,
        }
    }
}

/// The service built by [`SignLayer`].
#[derive(Debug)]
pub struct Sign<Inner, S> {
    inner: Inner,
    signer: Arc<S>,
    body_limit: usize,
}

impl<Inner: Clone, S> Clone for Sign<Inner, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            signer: Arc::clone(&self.signer),
            body_limit: self.body_limit,
        }
    }
}

impl<Inner, S, B> Service<Request<B>> for Sign<Inner, S>
where
    S: Signer,
    Inner: Service<Request<SignedBody<B>>> + Clone + Send + 'static,
    Inner::Future: Send + 'static,
    Inner::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Inner::Response;
    type Error = BoxError;
    type Future = SignFuture<Inner::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let signer = Arc::clone(&self.signer);
        let limit = self.body_limit;
        SignFuture {
            inner: Box::pin(async move {
                let (mut parts, body) = request.into_parts();
                let body = if signer.signs_body() {
                    let bytes = read_body(&parts, body, limit).await?;
                    signer.sign(&mut parts, &bytes)?;
                    SignedBody::buffered(bytes)
                } else {
                    signer.sign(&mut parts, &[])?;
                    SignedBody::streaming(body)
                };
                inner
                    .call(Request::from_parts(parts, body))
                    .await
                    .map_err(Into::into)
            }),
        }
    }
}

async fn read_body<B>(parts: &Parts, body: B, limit: usize) -> Result<Bytes, SignError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    match read(body, declared_len(&parts.headers), limit, None, None).await {
        Ok(read) => Ok(read.bytes),
        Err(ReadError::TooLarge) => Err(SignError {
            kind: SignErrorKind::BodyTooLarge,
            message: format!("the request body is longer than the signing limit of {limit} bytes"),
        }),
        Err(ReadError::Unreadable(error)) => Err(SignError {
            kind: SignErrorKind::BodyUnreadable,
            message: format!("the request body could not be read: {error}"),
        }),
        Err(ReadError::Timeout(timeout)) => Err(SignError {
            kind: SignErrorKind::BodyUnreadable,
            message: format!("the request body did not arrive within {timeout:?}"),
        }),
    }
}

/// Response future of [`Sign`].
pub struct SignFuture<R> {
    inner: Pin<Box<dyn Future<Output = Result<R, BoxError>> + Send + 'static>>,
}

impl<R> Future for SignFuture<R> {
    type Output = Result<R, BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<R> fmt::Debug for SignFuture<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignFuture(..)")
    }
}

pin_project! {
    /// The request body a [`SignLayer`] hands on: the bytes it read and signed, or the original
    /// body untouched when the signer signs headers only.
    pub struct SignedBody<B> {
        #[pin]
        kind: PassOrBuffer<B>,
    }
}

impl<B> SignedBody<B> {
    fn streaming(body: B) -> Self {
        Self {
            kind: PassOrBuffer::Pass { body },
        }
    }

    fn buffered(data: Bytes) -> Self {
        Self {
            kind: PassOrBuffer::buffer(data),
        }
    }
}

impl<B> fmt::Debug for SignedBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            PassOrBuffer::Pass { .. } => f.write_str("SignedBody::Streaming(..)"),
            PassOrBuffer::Buffer { data } => write!(
                f,
                "SignedBody::Buffered({} bytes)",
                data.as_ref().map_or(0, Bytes::len)
            ),
        }
    }
}

crate::pipeline::pass_or_buffer_body!(SignedBody);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_headers_replaces_and_keeps_repeated_names() {
        let mut parts = Request::new(()).into_parts().0;
        parts.headers.insert("x-a", HeaderValue::from_static("old"));
        let mut headers = http::HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("new"));
        headers.insert("x-b", HeaderValue::from_static("b1"));
        headers.append("x-b", HeaderValue::from_static("b2"));
        set_headers(&mut parts, headers);
        assert_eq!(parts.headers["x-a"], "new");
        let b: Vec<_> = parts.headers.get_all("x-b").iter().collect();
        assert_eq!(b, ["b1", "b2"]);
        assert_eq!(parts.headers.len(), 3);
    }

    #[test]
    fn errors_name_the_header_not_the_value() {
        let error = header_value(b"secret\nvalue", "X-Token-API-Secret").unwrap_err();
        assert_eq!(error.kind(), SignErrorKind::InvalidHeader);
        assert_eq!(
            error.to_string(),
            "the value for the X-Token-API-Secret header is not a valid header value"
        );
        assert!(sensitive(b"abc", "X").unwrap().is_sensitive());
    }
}

//! Inqud: API token id plus either the token secret itself or an HMAC-SHA256 of the body and a salt.
//!
//! The vendor documents two ways for a client to authenticate with a token (`TKN-...` id and its
//! secret). In the **simple** mode it sends the secret as is:
//!
//! ```text
//! X-Token-API-Id:     TKN-<token id>
//! X-Token-API-Secret: <token secret>
//! ```
//!
//! and in the **HMAC** mode it signs the body with a fresh salt:
//!
//! ```text
//! X-Token-API-Id:          TKN-<token id>
//! X-HMAC-SHA256-Signature: hex(HMAC-SHA256(token secret, body ++ salt))
//! X-Salt:                  <salt, a nonce chosen by the client>
//! ```
//!
//! The signed message is simply the raw body bytes followed by the `X-Salt` header text, with no
//! separator. A GET has an empty body, so its message is the salt alone (the vendor's "use `""` as
//! the body"); a GET that does carry a body is signed over that body like any other request.
//!
//! [`InqudVerifyLayer`] accepts both modes on the same routes. It compares a simple-mode secret in
//! constant time with every live secret of the token, checks an HMAC-mode signature the same way,
//! and refuses any salt it has already accepted for that token. A request with the headers of both
//! modes, or of neither, is refused. Which modes a token may use is set per token with an
//! [`InqudModes`] policy; a token without one may use both, as the vendor's documentation describes.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_hmac::inqud::{self, InqudCaller, InqudModes, InqudVerifyLayer};
//! use tower_hmac::{Key, MemoryKeyStore, Secret, Verified, VerifiedBody};
//!
//! let secret = Secret::new("YOUR_TOKEN_SECRET").unwrap();
//! let keys = MemoryKeyStore::new()
//!     // No policy: both modes allowed.
//!     .with(Key::new("TKN-both", secret.clone()))
//!     // HMAC only: the secret itself is never accepted on the wire.
//!     .with(Key::new("TKN-hmac", secret.clone()).with_policy(InqudModes::HMAC_ONLY));
//!
//! let service = ServiceBuilder::new()
//!     .layer(InqudVerifyLayer::new(keys))
//!     .service(service_fn(|req: Request<VerifiedBody>| async move {
//!         let caller = req.extensions().get::<Verified<InqudCaller>>().unwrap();
//!         let mode = caller.identity().mode();
//!         Ok::<_, Infallible>(Response::new(format!("{} via {mode:?}", caller.key_id())))
//!     }));
//!
//! let body = r#"{"amount": 50, "currency": "USD"}"#;
//! let hmac_request = |token: &str, signature: &str, salt: &str| {
//!     Request::post("/v1/user/payments/payout")
//!         .header("x-token-api-id", token)
//!         .header("x-hmac-sha256-signature", signature)
//!         .header("x-salt", salt)
//!         .body(http_body_util::Full::new(Bytes::from(body)))
//!         .unwrap()
//! };
//! let simple_request = |token: &str, secret: &str| {
//!     Request::get("/v1/user/wallet/balances")
//!         .header("x-token-api-id", token)
//!         .header("x-token-api-secret", secret)
//!         .body(http_body_util::Full::new(Bytes::new()))
//!         .unwrap()
//! };
//!
//! // HMAC mode, signed as the vendor's client does: accepted.
//! let salt = "4f1c0e9a7b2d45e8a3c6b9d0e1f2a3b4";
//! let good = inqud::signature(&secret, body.as_bytes(), salt);
//! let res = service.clone().oneshot(hmac_request("TKN-hmac", &good, salt)).await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK);
//!
//! // The same request again: the salt was already used, refused.
//! let res = service.clone().oneshot(hmac_request("TKN-hmac", &good, salt)).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//!
//! // Simple mode with the right secret: accepted where the token allows it...
//! let res = service.clone().oneshot(simple_request("TKN-both", "YOUR_TOKEN_SECRET")).await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK);
//!
//! // ...refused where the token is HMAC only, and refused with a wrong secret.
//! let res = service.clone().oneshot(simple_request("TKN-hmac", "YOUR_TOKEN_SECRET")).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! let res = service.oneshot(simple_request("TKN-both", "not-the-secret")).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # Security
//!
//! - **Freshness is the salt alone.** The protocol has no timestamp, so a signed request stays
//!   valid for as long as its salt is not known to the server. [`InqudVerifyLayer::new`] therefore
//!   always installs a replay store (an in-process [`MokaReplayStore`]); every salt accepted in
//!   HMAC mode is recorded for its token, after the signature verified, and a second request with
//!   the same token and salt is refused (`replayed`), whatever its body. The verified signature
//!   is recorded as well: the message is `body ++ salt` with nothing between, so moving bytes
//!   across that boundary (the salt's first characters to the end of the body, or the body's last
//!   ones to the start of the salt) keeps the signature valid under a salt never seen before; such
//!   a re-split is refused as `replayed` too. A salt is remembered for
//!   [`salt_ttl`](InqudVerifyLayer::salt_ttl) (24 h by default), counted from its first accepted
//!   use in the process's monotonic time (not the layer's [`clock`](InqudVerifyLayer::clock), but
//!   the store's own, [`MokaReplayStore::clock`], if given):
//!   **a request captured once can be replayed successfully after the TTL**, and a signed request
//!   that never reached the server (held back by whoever captured it) stays valid indefinitely.
//!   Choose a TTL longer
//!   than any period during which a captured request must stay useless, and size the store for
//!   twice your request rate times the TTL (each accepted request records its salt and its
//!   signature): N requests per second of one token need 2·N·86,400 entries with the default TTL.
//!   The default store holds 600,000 (about 230 MiB), at most three quarters of them for one token,
//!   enough for about 2.6 requests per second of it; set more with
//!   [`MokaReplayStore::with_capacity`] and [`per_key_limit`](MokaReplayStore::per_key_limit).
//!   A full store, or a token holding its share, answers 503 rather than forgetting salts.
//! - **One history for all routes and instances.** The signature covers neither the method, nor
//!   the path, nor the query: a captured request can be sent to another endpoint with the same
//!   body. A salt burned by one route is refused on every route that shares the store, so clone one
//!   layer (clones share the store) or pass clones of one store to
//!   [`replay_store`](InqudVerifyLayer::replay_store) rather than building one store per route.
//!   Behind a load balancer all instances need one shared store.
//! - **Simple mode has no nonce and no signature.** The token secret travels in every request; any
//!   proxy or log that keeps request headers keeps the secret, and a captured request can be
//!   replayed forever. It is compared in constant time with the token's live secrets (its length
//!   is not hidden). Use [`InqudModes::HMAC_ONLY`] for tokens that do not need it.
//! - **Refusals do not reveal tokens.** An unknown, expired or revoked token gets the same response
//!   as a wrong signature, after the same work: an HMAC per live secret (a placeholder secret for
//!   an unknown token) in HMAC mode, a constant-time compare in simple mode. A mode turned off for
//!   a token is reported as `not_allowed` only to a caller whose secret or signature was right.
//! - **Salts.** 1 to [`MAX_SALT_LEN`] visible ASCII characters, no spaces (the vendor's client
//!   sends 64 hex digits). Salts are compared exactly, so `ab` and `AB` are two salts.
//! - **Body.** The body is read up to [`body_limit`](InqudVerifyLayer::body_limit) (1 MiB by
//!   default) before the signature is checked; longer bodies get 413 and are not buffered. Anything
//!   that rewrites the body on the way (re-encoding JSON, decompressing) breaks the signature.
//! - **Header forms.** The token id must start with `TKN-` (case-sensitive) and contain no spaces;
//!   hex signatures are accepted in either case. Repeated, empty or non-ASCII headers are refused
//!   with 401.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::request::Parts;
use http::{HeaderName, HeaderValue};

use crate::crypto::{Message, Secret, Tag};
use crate::error::ConfigError;
use crate::keys::{Key, KeyStore};
use crate::pipeline::headers::{HeaderText, single, single_kept};
use crate::pipeline::{BodySigned, MatchedSecret, Presented, Proof, Scheme, Verify, VerifyLayer};
use crate::rejection::{Rejection, RejectionKind};
use crate::replay::MokaReplayStore;
use crate::sign::{SignError, Signer, header_value, sensitive, set_headers, sign_message};

/// The layer verifying Inqud requests, in both modes.
pub type InqudVerifyLayer = VerifyLayer<Inqud>;

/// The service built by [`InqudVerifyLayer`].
pub type InqudVerify<S> = Verify<S, Inqud>;

const X_TOKEN_API_ID: HeaderName = HeaderName::from_static("x-token-api-id");
const X_TOKEN_API_SECRET: HeaderName = HeaderName::from_static("x-token-api-secret");
const X_HMAC_SHA256_SIGNATURE: HeaderName = HeaderName::from_static("x-hmac-sha256-signature");
const X_SALT: HeaderName = HeaderName::from_static("x-salt");

/// The prefix of every Inqud token id.
pub const TOKEN_PREFIX: &str = "TKN-";

/// How long an accepted salt is remembered by default: 24 hours.
pub const DEFAULT_SALT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest `X-Salt` accepted, in bytes (the vendor's client sends 64).
pub const MAX_SALT_LEN: usize = 256;

/// The Inqud scheme: how long salts are remembered.
///
/// There is no public constructor: build the layer with [`InqudVerifyLayer::new`], which also
/// installs the replay store this protocol cannot do without.
#[derive(Debug, Clone)]
pub struct Inqud {
    salt_ttl: Duration,
}

/// Which of the two modes a token may use, attached to its [`Key`] with
/// [`Key::with_policy`]. A token without this policy may use both ([`InqudModes::BOTH`]).
///
/// A request in a mode the token may not use is refused with
/// [`NotAllowed`](RejectionKind::NotAllowed) (401, `not_allowed`), once its secret or signature
/// proved right; otherwise it gets the same answer as any wrong credential.
///
/// ```
/// use tower_hmac::inqud::InqudModes;
/// use tower_hmac::{Key, Secret};
///
/// let key = Key::new("TKN-6c1296b8", Secret::new("token secret").unwrap())
///     .with_policy(InqudModes::HMAC_ONLY);
/// assert_eq!(key.policy::<InqudModes>(), Some(&InqudModes::HMAC_ONLY));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InqudModes {
    /// `X-Token-API-Secret` accepted.
    pub simple: bool,
    /// `X-HMAC-SHA256-Signature` with `X-Salt` accepted.
    pub hmac: bool,
}

impl InqudModes {
    /// Both modes (the default, as documented by the vendor).
    pub const BOTH: Self = Self {
        simple: true,
        hmac: true,
    };
    /// Signed requests only; the secret itself is refused.
    pub const HMAC_ONLY: Self = Self {
        simple: false,
        hmac: true,
    };
    /// The secret itself only; signed requests are refused.
    pub const SIMPLE_ONLY: Self = Self {
        simple: true,
        hmac: false,
    };

    /// Whether `mode` is allowed.
    pub fn allows(self, mode: InqudMode) -> bool {
        match mode {
            InqudMode::Simple => self.simple,
            InqudMode::Hmac => self.hmac,
        }
    }
}

impl Default for InqudModes {
    fn default() -> Self {
        Self::BOTH
    }
}

/// How a request authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InqudMode {
    /// `X-Token-API-Secret`: the token secret itself.
    Simple,
    /// `X-HMAC-SHA256-Signature` and `X-Salt`: an HMAC of the body and the salt.
    Hmac,
}

/// What an Inqud request signs with: the token id, the mode, and in HMAC mode the salt (the
/// signature or the secret itself is the request's [`Proof`]).
#[derive(Debug)]
pub struct InqudCredentials {
    token_id: HeaderText,
    salt: Option<Arc<str>>,
}

impl InqudCredentials {
    /// The credentials of an HMAC-mode request of `token_id` with `salt`.
    pub fn hmac(token_id: &str, salt: &str) -> Self {
        Self {
            token_id: token_id.into(),
            salt: Some(salt.into()),
        }
    }

    /// The mode the request uses.
    pub fn mode(&self) -> InqudMode {
        match self.salt {
            Some(_) => InqudMode::Hmac,
            None => InqudMode::Simple,
        }
    }
}

/// What a handler learns about a verified Inqud request, besides the token id in
/// [`Verified::key_id`](crate::Verified::key_id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InqudCaller {
    mode: InqudMode,
    salt: Option<Arc<str>>,
}

impl InqudCaller {
    /// The mode the request used.
    pub fn mode(&self) -> InqudMode {
        self.mode
    }

    /// The request's `X-Salt` (HMAC mode), or `None` (simple mode).
    pub fn salt(&self) -> Option<&str> {
        self.salt.as_deref()
    }
}

impl InqudVerifyLayer {
    /// A layer checking requests against the tokens in `keys`, remembering accepted salts for
    /// 24 hours in a new in-process [`MokaReplayStore`] with its default capacity.
    ///
    /// Replace the store with [`replay_store`](Self::replay_store), for example
    /// `MokaReplayStore::with_capacity(n)` or a store shared between instances.
    pub fn new(keys: impl KeyStore) -> Self {
        VerifyLayer::with_scheme(
            Inqud {
                salt_ttl: DEFAULT_SALT_TTL,
            },
            keys,
        )
        .replay_store(MokaReplayStore::new())
    }

    /// How long an accepted salt is remembered (default 24 h). After that the same token and salt
    /// would be accepted again, so a captured request becomes replayable; see the module's
    /// *Security* section. A zero TTL would remember nothing and is refused.
    pub fn salt_ttl(self, ttl: Duration) -> Result<Self, ConfigError> {
        if ttl.is_zero() {
            return Err(ConfigError::new(
                "the salt TTL must not be zero: salts are Inqud's only replay protection",
            ));
        }
        Ok(self.map_scheme(|s| s.salt_ttl = ttl))
    }
}

impl Inqud {
    /// The scheme as a client signs with it (the salt TTL is the server's business).
    fn signing() -> Self {
        Self {
            salt_ttl: DEFAULT_SALT_TTL,
        }
    }

    /// How long an accepted salt is remembered.
    pub fn salt_ttl(&self) -> Duration {
        self.salt_ttl
    }
}

impl Scheme for Inqud {
    type Credentials = InqudCredentials;
    type Identity = InqudCaller;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "inqud"
    }

    fn challenge(&self) -> Option<HeaderValue> {
        Some(HeaderValue::from_static("Inqud-Token realm=\"inqud\""))
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<InqudCredentials>, Rejection> {
        // Kept as the request holds it: only the check needs it.
        let token_id = single_kept(request, &X_TOKEN_API_ID, "X-Token-API-Id")?;
        if !is_token_id(&token_id) {
            return Err(Rejection::malformed(
                "X-Token-API-Id header must be a token id starting with TKN-, without spaces",
            ));
        }

        let headers = &request.headers;
        let simple = headers.contains_key(X_TOKEN_API_SECRET);
        let hmac = headers.contains_key(X_HMAC_SHA256_SIGNATURE) || headers.contains_key(X_SALT);
        match (simple, hmac) {
            (true, true) => Err(Rejection::malformed(
                "send either X-Token-API-Secret (simple mode) or X-HMAC-SHA256-Signature \
                 and X-Salt (HMAC mode), not both",
            )),
            (false, false) => Err(Rejection::with_message(
                RejectionKind::MissingCredentials,
                "missing X-Token-API-Secret header (simple mode) or X-HMAC-SHA256-Signature \
                 and X-Salt headers (HMAC mode)",
            )),
            (true, false) => {
                let secret = single(request, &X_TOKEN_API_SECRET, "X-Token-API-Secret")?;
                let secret = Secret::new(secret)
                    .map_err(|_| Rejection::malformed("X-Token-API-Secret header is empty"))?;
                let credentials = InqudCredentials {
                    token_id,
                    salt: None,
                };
                Ok(Presented {
                    credentials,
                    proof: Proof::Secret(secret),
                })
            }
            (false, true) => {
                let signature =
                    single(request, &X_HMAC_SHA256_SIGNATURE, "X-HMAC-SHA256-Signature")?;
                let signature = Tag::from_hex(signature.as_bytes()).map_err(|_| {
                    Rejection::malformed(
                        "X-HMAC-SHA256-Signature header must be 64 hex digits (HMAC-SHA256)",
                    )
                })?;
                let salt = parse_salt(single(request, &X_SALT, "X-Salt")?)?;
                let credentials = InqudCredentials {
                    token_id,
                    salt: Some(salt.into()),
                };
                Ok(Presented::mac(credentials, signature))
            }
        }
    }

    fn key_id<'c>(&self, credentials: &'c InqudCredentials) -> Option<&'c str> {
        Some(credentials.token_id.as_str())
    }

    /// The vendor's message: the body bytes, then the salt, nothing between (a GET: the salt
    /// alone).
    fn message(&self, credentials: &InqudCredentials, body: &[u8], message: &mut Message<'_>) {
        message.write(body);
        if let Some(salt) = &credentials.salt {
            message.write(salt.as_bytes());
        }
    }

    fn nonce<'p>(&self, presented: &'p Presented<InqudCredentials>) -> Option<&'p [u8]> {
        presented.credentials.salt.as_deref().map(str::as_bytes)
    }

    fn nonce_ttl(&self, _credentials: &InqudCredentials, _now: SystemTime) -> Duration {
        self.salt_ttl
    }

    /// The token's modes are checked here, once the proof matched, so that they reveal nothing
    /// to a caller without the secret.
    fn authorize(&self, credentials: &InqudCredentials, key: &Key) -> Result<(), Rejection> {
        let modes = key.policy::<InqudModes>().copied().unwrap_or_default();
        match credentials.mode() {
            InqudMode::Simple if !modes.simple => Err(Rejection::with_message(
                RejectionKind::NotAllowed,
                "this token may not use X-Token-API-Secret; sign the request with \
                 X-HMAC-SHA256-Signature and X-Salt",
            )),
            InqudMode::Hmac if !modes.hmac => Err(Rejection::with_message(
                RejectionKind::NotAllowed,
                "this token may not use X-HMAC-SHA256-Signature; send X-Token-API-Secret",
            )),
            _ => Ok(()),
        }
    }

    fn identity(
        &self,
        credentials: InqudCredentials,
        _matched: Option<&MatchedSecret>,
    ) -> InqudCaller {
        InqudCaller {
            mode: credentials.mode(),
            salt: credentials.salt,
        }
    }
}

/// The `X-HMAC-SHA256-Signature` an Inqud client sends for `body` with `salt` (`body` is empty for
/// a GET).
pub fn signature(secret: &Secret, body: &[u8], salt: &str) -> String {
    let credentials = InqudCredentials::hmac("", salt);
    sign_message(&Inqud::signing(), &credentials, body, secret).to_hex()
}

/// `TKN-` followed by at least one visible ASCII character, no spaces.
fn is_token_id(value: &str) -> bool {
    value
        .strip_prefix(TOKEN_PREFIX)
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_graphic()))
}

/// 1 to [`MAX_SALT_LEN`] visible ASCII characters, no spaces. (Emptiness is already refused by
/// the header reader.)
fn parse_salt(salt: &str) -> Result<&str, Rejection> {
    if salt.len() > MAX_SALT_LEN {
        return Err(Rejection::malformed(
            "X-Salt header must be at most 256 characters",
        ));
    }
    if salt.is_empty() || !salt.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Rejection::malformed(
            "X-Salt header must be visible ASCII characters without spaces",
        ));
    }
    Ok(salt)
}

/// The headers of an Inqud request in HMAC mode: `X-Token-API-Id`, `X-HMAC-SHA256-Signature` over
/// `body` and `salt`, and `X-Salt`. Use a salt never used before with this token ([`new_salt`]).
///
/// ```
/// use tower_hmac::Secret;
/// use tower_hmac::inqud::sign_request;
///
/// let secret = Secret::new("dBajIp3wHnw5euxohPiZvsCEorG3Fhl9gsHl1UIBlsImHjWRdSJdp4Gh6e3y2PNs").unwrap();
/// let salt = "5f2b8e0c91d34a7f6e08b1c2d3e4f5a60718293a4b5c6d7e8f90a1b2c3d4e5f6";
/// let headers =
///     sign_request("TKN-6c1296b8-6929-443b-ac06-f732e0e27be1", &secret, b"", salt).unwrap();
/// // tests/vectors/inqud.py, the vendor's Python signing code
/// assert_eq!(
///     headers["x-hmac-sha256-signature"],
///     "30452326ae9997adc8d5bd3316cba894694eed8eb75fb10995df37d84b5ccf64"
/// );
/// assert_eq!(headers["x-salt"], salt);
/// ```
pub fn sign_request(
    token_id: &str,
    secret: &Secret,
    body: &[u8],
    salt: &str,
) -> Result<http::HeaderMap, SignError> {
    let mut headers = http::HeaderMap::with_capacity(3);
    headers.insert(
        X_TOKEN_API_ID,
        header_value(token_id.as_bytes(), "X-Token-API-Id")?,
    );
    headers.insert(
        X_HMAC_SHA256_SIGNATURE,
        sensitive(
            signature(secret, body, salt).as_bytes(),
            "X-HMAC-SHA256-Signature",
        )?,
    );
    headers.insert(X_SALT, header_value(salt.as_bytes(), "X-Salt")?);
    Ok(headers)
}

/// The headers of an Inqud request in simple mode: `X-Token-API-Id` and the secret itself in
/// `X-Token-API-Secret`.
pub fn simple_headers(token_id: &str, secret: &Secret) -> Result<http::HeaderMap, SignError> {
    let mut headers = http::HeaderMap::with_capacity(2);
    headers.insert(
        X_TOKEN_API_ID,
        header_value(token_id.as_bytes(), "X-Token-API-Id")?,
    );
    headers.insert(
        X_TOKEN_API_SECRET,
        sensitive(secret.expose(), "X-Token-API-Secret")?,
    );
    Ok(headers)
}

/// A fresh salt as the vendor's client makes one: 32 random bytes from the operating system, as
/// 64 lower-case hex digits.
pub fn new_salt() -> Result<String, SignError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(SignError::random)?;
    Ok(const_hex::encode(bytes))
}

/// Signs outgoing requests as an Inqud client, in HMAC mode (a fresh [`new_salt`] per request,
/// the body read and signed) or simple mode (the secret sent as is, the body untouched). Use it
/// with a [`SignLayer`](crate::sign::SignLayer).
pub struct InqudSigner {
    token_id: Box<str>,
    secret: Secret,
    mode: InqudMode,
}

impl InqudSigner {
    /// A signer in HMAC mode for the token `token_id` and its secret.
    pub fn hmac(token_id: impl Into<String>, secret: Secret) -> Result<Self, SignError> {
        Self::build(token_id.into(), secret, InqudMode::Hmac)
    }

    /// A signer in simple mode: every request carries the token secret itself.
    pub fn simple(token_id: impl Into<String>, secret: Secret) -> Result<Self, SignError> {
        Self::build(token_id.into(), secret, InqudMode::Simple)
    }

    fn build(token_id: String, secret: Secret, mode: InqudMode) -> Result<Self, SignError> {
        simple_headers(&token_id, &secret)?;
        Ok(Self {
            token_id: token_id.into(),
            secret,
            mode,
        })
    }
}

impl fmt::Debug for InqudSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InqudSigner")
            .field("token_id", &self.token_id)
            .field("secret", &self.secret)
            .field("mode", &self.mode)
            .finish()
    }
}

impl Signer for InqudSigner {
    fn signs_body(&self) -> bool {
        self.mode == InqudMode::Hmac
    }

    fn sign(&self, request: &mut Parts, body: &[u8]) -> Result<(), SignError> {
        let headers = match self.mode {
            InqudMode::Hmac => sign_request(&self.token_id, &self.secret, body, &new_salt()?)?,
            InqudMode::Simple => simple_headers(&self.token_id, &self.secret)?,
        };
        set_headers(request, headers);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use http::Request;

    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut req = Request::builder();
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(()).unwrap().into_parts().0
    }

    fn parse(headers: &[(&str, &str)]) -> Result<Presented<InqudCredentials>, Rejection> {
        let scheme = Inqud {
            salt_ttl: DEFAULT_SALT_TTL,
        };
        scheme.credentials(&parts(headers))
    }

    fn refusal(headers: &[(&str, &str)]) -> (RejectionKind, String) {
        let rejection = parse(headers).unwrap_err();
        (rejection.kind(), rejection.message().to_owned())
    }

    const ID: (&str, &str) = ("x-token-api-id", "TKN-6c1296b8-6929-443b-ac06-f732e0e27be1");
    const SIG: &str = "30452326ae9997adc8d5bd3316cba894694eed8eb75fb10995df37d84b5ccf64";

    #[test]
    fn token_id_forms() {
        assert!(is_token_id("TKN-6c1296b8-6929-443b-ac06-f732e0e27be1"));
        assert!(is_token_id("TKN-x"));
        for bad in [
            "TKN-", "tkn-abc", "TKN_abc", "abc", "TKN-a b", "TKNabc", " TKN-a",
        ] {
            assert!(!is_token_id(bad), "{bad}");
        }
    }

    #[test]
    fn token_id_is_required_and_checked() {
        assert_eq!(
            refusal(&[("x-token-api-secret", "s")]),
            (
                RejectionKind::MissingCredentials,
                "missing X-Token-API-Id header".to_owned()
            )
        );
        let (kind, message) =
            refusal(&[("x-token-api-id", "6c1296b8"), ("x-token-api-secret", "s")]);
        assert_eq!(kind, RejectionKind::MalformedCredentials);
        assert_eq!(
            message,
            "X-Token-API-Id header must be a token id starting with TKN-, without spaces"
        );
    }

    #[test]
    fn simple_mode_is_parsed_and_redacted() {
        let creds = parse(&[ID, ("x-token-api-secret", "dBajIp3wHnw5")]).unwrap();
        assert_eq!(&*creds.credentials.token_id, ID.1);
        assert_eq!(creds.credentials.mode(), InqudMode::Simple);
        let Proof::Secret(secret) = &creds.proof else {
            panic!("not simple mode");
        };
        assert_eq!(secret.expose(), b"dBajIp3wHnw5");
        let printed = format!("{creds:?}");
        assert!(!printed.contains("dBajIp3wHnw5"), "{printed}");
    }

    #[test]
    fn hmac_mode_is_parsed() {
        let creds = parse(&[ID, ("x-hmac-sha256-signature", SIG), ("x-salt", "abc")]).unwrap();
        let Proof::Mac(signatures) = &creds.proof else {
            panic!("not HMAC mode");
        };
        assert_eq!(signatures.as_slice()[0].to_hex(), SIG);
        assert_eq!(creds.credentials.salt.as_deref(), Some("abc"));
        assert_eq!(creds.credentials.mode(), InqudMode::Hmac);
        // Upper-case hex is the same signature.
        let upper = SIG.to_uppercase();
        let creds = parse(&[ID, ("x-hmac-sha256-signature", &upper), ("x-salt", "abc")]).unwrap();
        assert!(matches!(&creds.proof, Proof::Mac(s) if s.as_slice()[0].to_hex() == SIG));
    }

    #[test]
    fn both_modes_or_neither_are_refused() {
        let both = "send either X-Token-API-Secret (simple mode) or X-HMAC-SHA256-Signature and \
                    X-Salt (HMAC mode), not both";
        for headers in [
            vec![
                ID,
                ("x-token-api-secret", "s"),
                ("x-hmac-sha256-signature", SIG),
                ("x-salt", "a"),
            ],
            vec![ID, ("x-token-api-secret", "s"), ("x-salt", "a")],
            vec![
                ID,
                ("x-token-api-secret", "s"),
                ("x-hmac-sha256-signature", SIG),
            ],
        ] {
            assert_eq!(
                refusal(&headers),
                (RejectionKind::MalformedCredentials, both.to_owned())
            );
        }
        assert_eq!(
            refusal(&[ID]),
            (
                RejectionKind::MissingCredentials,
                "missing X-Token-API-Secret header (simple mode) or X-HMAC-SHA256-Signature and \
                 X-Salt headers (HMAC mode)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn hmac_mode_needs_signature_and_salt() {
        assert_eq!(
            refusal(&[ID, ("x-hmac-sha256-signature", SIG)]),
            (
                RejectionKind::MissingCredentials,
                "missing X-Salt header".to_owned()
            )
        );
        assert_eq!(
            refusal(&[ID, ("x-salt", "abc")]),
            (
                RejectionKind::MissingCredentials,
                "missing X-HMAC-SHA256-Signature header".to_owned()
            )
        );
    }

    #[test]
    fn signatures_must_be_64_hex_digits() {
        let message = "X-HMAC-SHA256-Signature header must be 64 hex digits (HMAC-SHA256)";
        for bad in [
            "zz",
            &SIG[..63],
            &format!("{SIG}0"),
            &format!("g{}", &SIG[1..]),
        ] {
            assert_eq!(
                refusal(&[ID, ("x-hmac-sha256-signature", bad), ("x-salt", "abc")]),
                (RejectionKind::MalformedCredentials, message.to_owned()),
                "{bad}"
            );
        }
        assert_eq!(
            refusal(&[ID, ("x-hmac-sha256-signature", ""), ("x-salt", "abc")]),
            (
                RejectionKind::MalformedCredentials,
                "X-HMAC-SHA256-Signature header is empty".to_owned()
            )
        );
    }

    #[test]
    fn salts_are_bounded_visible_ascii() {
        assert_eq!(parse_salt("a"), Ok("a"));
        let longest = "s".repeat(MAX_SALT_LEN);
        assert_eq!(parse_salt(&longest), Ok(longest.as_str()));
        assert_eq!(
            parse_salt(&"s".repeat(MAX_SALT_LEN + 1))
                .unwrap_err()
                .message(),
            "X-Salt header must be at most 256 characters"
        );
        for bad in ["a b", "a\tb", "caf\u{e9}", ""] {
            assert_eq!(
                parse_salt(bad).unwrap_err().message(),
                "X-Salt header must be visible ASCII characters without spaces",
                "{bad:?}"
            );
        }
        // Through the headers: an empty or non-ASCII salt is refused by the header reader.
        let (kind, message) = refusal(&[ID, ("x-hmac-sha256-signature", SIG), ("x-salt", " ")]);
        assert_eq!(kind, RejectionKind::MalformedCredentials);
        assert_eq!(message, "X-Salt header is empty");
        let (kind, message) =
            refusal(&[ID, ("x-hmac-sha256-signature", SIG), ("x-salt", "a salt")]);
        assert_eq!(kind, RejectionKind::MalformedCredentials);
        assert_eq!(
            message,
            "X-Salt header must be visible ASCII characters without spaces"
        );
    }

    #[test]
    fn message_is_body_then_salt() {
        let secret = Secret::new("k").unwrap();
        let whole = crate::crypto::hmac_sha256(&secret, |m| m.write(b"{\"a\":1}salt")).to_hex();
        assert_eq!(signature(&secret, b"{\"a\":1}", "salt"), whole);
        // GET: the salt alone.
        let salt_only = crate::crypto::hmac_sha256(&secret, |m| m.write(b"salt")).to_hex();
        assert_eq!(signature(&secret, b"", "salt"), salt_only);
    }

    #[test]
    fn modes_policy() {
        assert_eq!(InqudModes::default(), InqudModes::BOTH);
        assert!(InqudModes::HMAC_ONLY.allows(InqudMode::Hmac));
        assert!(!InqudModes::HMAC_ONLY.allows(InqudMode::Simple));
        assert!(InqudModes::SIMPLE_ONLY.allows(InqudMode::Simple));
        assert!(!InqudModes::SIMPLE_ONLY.allows(InqudMode::Hmac));
    }
}

/// The mock's Inqud routes (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use std::sync::Arc;

    use axum::Router;
    use axum::routing::{get, post};
    use bytes::Bytes;
    use serde::Deserialize;
    use serde_json::{Value, json};

    use super::{InqudCaller, InqudMode, InqudModes, InqudVerifyLayer};
    use crate::crypto::Secret;
    use crate::error::BoxError;
    use crate::keys::{Key, MemoryKeyStore};
    use crate::mock::{
        Examples, NotJson, Provider, Section, Shared, debug_without_secret, demo_entry, echo, quote,
    };
    use crate::pipeline::Verified;

    pub(crate) const PROVIDER: Provider = Provider {
        name: "inqud",
        config_keys: &["inqud"],
        demo_private_key: None,
        demo,
        router,
        examples,
        sign: None,
    };

    /// The vendor's documented example token.
    const TOKEN_ID: &str = "TKN-6c1296b8-6929-443b-ac06-f732e0e27be1";
    const SECRET: &str = "dBajIp3wHnw5euxohPiZvsCEorG3Fhl9gsHl1UIBlsImHjWRdSJdp4Gh6e3y2PNs";

    /// One `[[inqud]]` entry: a token, its secret and the modes it may use.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        token_id: String,
        secret: String,
        #[serde(default)]
        modes: Modes,
    }

    debug_without_secret!(Entry, token_id, modes);

    /// `"both"` (default), `"hmac"` or `"simple"`.
    #[derive(Debug, Clone, Copy, Default, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Modes {
        #[default]
        Both,
        Hmac,
        Simple,
    }

    fn demo() -> toml::Table {
        demo_entry(
            "inqud",
            [
                ("token_id", TOKEN_ID.into()),
                ("secret", SECRET.into()),
                ("modes", "both".into()),
            ],
        )
    }

    fn router(config: &Section<'_>, shared: &Shared) -> Result<Router, BoxError> {
        let keys = MemoryKeyStore::new();
        for entry in config.get::<Vec<Entry>>("inqud")? {
            let modes = match entry.modes {
                Modes::Both => InqudModes::BOTH,
                Modes::Hmac => InqudModes::HMAC_ONLY,
                Modes::Simple => InqudModes::SIMPLE_ONLY,
            };
            let key = Key::new(entry.token_id, Secret::new(entry.secret)?).with_policy(modes);
            keys.try_insert(key)?;
        }
        let layer = InqudVerifyLayer::new(shared.keys("inqud", keys))
            .replay_store(Arc::clone(&shared.replay));
        Ok(Router::new()
            .route("/v1/user/wallet/balances", get(balances))
            .route("/v1/user/payments/payout", post(payout))
            .layer(shared.layer("inqud", layer)))
    }

    fn examples(config: &Section<'_>, at: &Examples) -> Result<String, BoxError> {
        let Some(entry) = config.first::<Entry>("inqud")? else {
            return Ok(String::new());
        };
        let sign = format!(
            "{} inqud --token-id {} --secret {}",
            at.sign,
            quote(&entry.token_id),
            quote(&entry.secret)
        );
        Ok(format!(
            "# Inqud (token {token}), simple mode, then HMAC mode with a fresh salt\n\
             {sign} --simple --curl {base}/v1/user/wallet/balances | sh; echo\n\
             {sign} --body {body} --curl {base}/v1/user/payments/payout | sh; echo\n\n",
            token = entry.token_id,
            base = at.base,
            body = quote(r#"{"amount": 50, "currency": "USD"}"#),
        ))
    }

    fn mode(caller: &Verified<InqudCaller>) -> &'static str {
        match caller.identity().mode() {
            InqudMode::Hmac => "hmac",
            InqudMode::Simple => "simple",
        }
    }

    async fn balances(caller: Verified<InqudCaller>) -> axum::Json<Value> {
        axum::Json(json!({
            "provider": "inqud",
            "token_id": caller.key_id(),
            "mode": mode(&caller),
            "balances": [],
        }))
    }

    async fn payout(
        caller: Verified<InqudCaller>,
        body: Bytes,
    ) -> Result<axum::Json<Value>, NotJson> {
        Ok(axum::Json(json!({
            "provider": "inqud",
            "token_id": caller.key_id(),
            "mode": mode(&caller),
            "received": echo(&body)?,
        })))
    }
}

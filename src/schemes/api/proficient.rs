//! Proficient: publishable project key, user external id and an optional per-user HMAC.
//!
//! The client (the vendor's React SDK, or any app calling the Client API) sends
//!
//! ```text
//! X-PROFICIENT-API-KEY:          pk_...  (the project's publishable key)
//! X-PROFICIENT-USER-EXTERNAL-ID: <the user's id in your system>
//! X-PROFICIENT-USER-HMAC:        base64(HMAC-SHA256(project's hsec_... secret, external id))
//! ```
//!
//! The HMAC is computed by *your* backend once the user has logged in ([`user_hmac`] is that
//! backend helper) and handed to the frontend, which sends it with every call. The signed message
//! is the external id exactly as sent, and the encoding is standard, padded base64 (what Node's
//! `digest("base64")` produces). [`ProficientVerifyLayer`] looks the publishable key up as the key
//! id, recomputes the HMAC over the external id under every live secret of that key (constant
//! time), and hands the inner service a [`Verified`](crate::Verified)`<`[`ProficientUser`]`>`.
//!
//! Only headers are signed, so this layer never touches the request body: the inner service
//! receives the body type the layer was given, unchanged. Streaming uploads and gRPC streaming
//! calls work behind it. gRPC clients send the three values as metadata
//! (`x-proficient-api-key`, `x-proficient-user-external-id`, `x-proficient-user-hmac`); a refusal
//! reaches them as `UNAUTHENTICATED` with the same message a JSON client gets.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_hmac::proficient::{self, ProficientHmac, ProficientUser, ProficientVerifyLayer};
//! use tower_hmac::{Key, MemoryKeyStore, Secret, Verified};
//!
//! let secret = Secret::new("hsec_YOUR_HMAC_SECRET").unwrap();
//! let keys = MemoryKeyStore::new()
//!     .with(Key::new("pk_YOUR_KEY", secret.clone()).with_policy(ProficientHmac::Required));
//!
//! let service = ServiceBuilder::new()
//!     .layer(ProficientVerifyLayer::new(keys))
//!     // The body type is the one the layer received: here `Full<Bytes>`.
//!     .service(service_fn(|req: Request<Full<Bytes>>| async move {
//!         let user = req.extensions().get::<Verified<ProficientUser>>().unwrap();
//!         Ok::<_, Infallible>(Response::new(format!("hello {}", user.identity().external_id())))
//!     }));
//!
//! let request = |hmac: &str| {
//!     Request::get("/interactions")
//!         .header("x-proficient-api-key", "pk_YOUR_KEY")
//!         .header("x-proficient-user-external-id", "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3")
//!         .header("x-proficient-user-hmac", hmac)
//!         .body(Full::new(Bytes::new()))
//!         .unwrap()
//! };
//!
//! // Accepted: the HMAC your backend computed for this user.
//! let good = proficient::user_hmac(&secret, "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3");
//! let res = service.clone().oneshot(request(&good)).await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK);
//!
//! // Rejected: another user's HMAC.
//! let other = proficient::user_hmac(&secret, "someone-else");
//! let res = service.oneshot(request(&other)).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # Required or optional HMAC
//!
//! Proficient lets each project turn HMAC authentication on or off. Attach the project's setting
//! to its key with [`Key::with_policy`]:
//!
//! - [`ProficientHmac::Required`]: a request without `X-PROFICIENT-USER-HMAC` is refused with 401
//!   `missing_credentials`, as the vendor does once HMAC is enabled.
//! - [`ProficientHmac::Optional`]: a request without the header is let through, and its identity
//!   says so: [`ProficientUser::hmac_verified`] is `false` and
//!   [`Verified::secret`](crate::Verified::secret) is `None`. A request that *does* carry the
//!   header must carry the right HMAC; a wrong or malformed one is refused as in required mode.
//!
//! A key with no policy attached is **required**. Forgetting to configure a key must not silently
//! let anyone who knows the publishable key (which is public: it ships in frontend code) act as
//! any user of the project; opting into optional mode is a visible, deliberate line of code.
//!
//! # Security
//!
//! - **Optional mode trusts the client.** Without an HMAC, the external id is whatever the client
//!   claims, so any visitor can pose as any user (the vendor's docs warn about exactly this). Read
//!   [`ProficientUser::verified_external_id`], which is `None` for such requests, wherever the id
//!   decides whose data is served; use [`ProficientUser::external_id`] only where a claimed id is
//!   good enough.
//! - **No freshness, no replay protection.** The HMAC is a per-user credential that never changes
//!   until the project's secret does: whoever sees the three headers can reuse them for as long
//!   as that secret stays live. Serve over TLS only and keep the headers out of logs. The layer
//!   has no timestamp window, and a [`replay_store`](crate::VerifyLayer::replay_store) has
//!   nothing to record for this scheme.
//! - **Rotation.** Changing the `hsec_` secret invalidates every HMAC your backend has handed out.
//!   Rotate with an overlap ([`MemoryKeyStore::rotate`](crate::MemoryKeyStore::rotate)) so that
//!   HMACs under the old and the new secret both verify until clients have fetched new ones.
//! - **Body.** The body is never read, so no body limit applies here; put one in front of the
//!   inner service if it needs one.
//! - **Header forms.** `X-PROFICIENT-API-KEY` must start with `pk_` (the `hsec_` secret sent by
//!   mistake is refused without being echoed or logged). The external id is 1 to
//!   [`MAX_EXTERNAL_ID_LEN`] printable ASCII characters; spaces and tabs around a header value are
//!   not part of it (HTTP trims them), so an id with leading or trailing spaces, or with
//!   characters outside ASCII, cannot be used with this scheme. The HMAC must be standard, padded
//!   base64 of 32 bytes (44 characters): hex, URL-safe and unpadded forms are refused as
//!   `malformed_credentials`, never decoded leniently. A repeated, empty or non-ASCII header is
//!   refused too, and so is an empty `X-PROFICIENT-USER-HMAC` in optional mode: a header that is
//!   present must verify.
//! - **Key probing.** An unknown, expired or revoked key and a wrong HMAC get the same 401. One
//!   difference remains, and it only concerns publishable keys, which are public anyway: without
//!   an HMAC header, an unknown key is answered `missing_credentials` (it is treated as a
//!   required-mode key) while a revoked or expired optional-mode key is answered
//!   `invalid_credentials`.

use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderName, HeaderValue};

use crate::crypto::{Message, Secret, TAG_LEN, Tag};
use crate::keys::{Key, KeyStore};
use crate::pipeline::headers::{HeaderText, optional, single, single_kept};
use crate::pipeline::{HeadersOnly, MatchedSecret, Presented, Proof, Scheme, Verify, VerifyLayer};
use crate::rejection::Rejection;
use crate::sign::{SignError, Signer, header_value, sensitive, set_headers, sign_message};

/// The layer verifying Proficient requests. It reads headers only.
pub type ProficientVerifyLayer = VerifyLayer<Proficient>;

/// The service built by [`ProficientVerifyLayer`].
pub type ProficientVerify<S> = Verify<S, Proficient>;

const X_API_KEY: HeaderName = HeaderName::from_static("x-proficient-api-key");
const X_EXTERNAL_ID: HeaderName = HeaderName::from_static("x-proficient-user-external-id");
const X_HMAC: HeaderName = HeaderName::from_static("x-proficient-user-hmac");

const API_KEY: &str = "X-PROFICIENT-API-KEY";
const EXTERNAL_ID: &str = "X-PROFICIENT-USER-EXTERNAL-ID";
const HMAC: &str = "X-PROFICIENT-USER-HMAC";

/// Longest accepted `X-PROFICIENT-USER-EXTERNAL-ID`, in characters (bytes: it is ASCII).
///
/// The vendor sets no bound; 256 is far above database ids, UUIDs, Firebase Auth ids (28) or
/// e-mail-shaped ids seen in practice, and keeps what reaches handlers and logs small.
pub const MAX_EXTERNAL_ID_LEN: usize = 256;

/// Whether a Proficient project requires the user HMAC. Attach it to the project's key with
/// [`Key::with_policy`]; a key without it is [`Required`](Self::Required).
///
/// ```
/// use tower_hmac::proficient::ProficientHmac;
/// use tower_hmac::{Key, Secret};
///
/// let secret = Secret::new("hsec_YOUR_HMAC_SECRET").unwrap();
/// let key = Key::new("pk_YOUR_KEY", secret).with_policy(ProficientHmac::Optional);
/// assert_eq!(key.policy::<ProficientHmac>(), Some(&ProficientHmac::Optional));
/// assert_eq!(ProficientHmac::default(), ProficientHmac::Required);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProficientHmac {
    /// Requests without `X-PROFICIENT-USER-HMAC` are refused with 401 `missing_credentials`.
    #[default]
    Required,
    /// Requests without `X-PROFICIENT-USER-HMAC` are let through, marked unverified in
    /// [`ProficientUser`]. A header that is present must still verify.
    Optional,
}

/// The Proficient scheme. It has no settings: the per-project choice is the key's
/// [`ProficientHmac`] policy.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct Proficient;

/// What a Proficient request signs with: the publishable key and the user's external id (the
/// HMAC, when present, is the request's [`Proof`]).
#[derive(Debug)]
pub struct ProficientCredentials {
    api_key: HeaderText,
    external_id: Arc<str>,
}

impl ProficientCredentials {
    /// The credentials of user `external_id` of the project `api_key`.
    pub fn new(api_key: &str, external_id: &str) -> Self {
        Self {
            api_key: api_key.into(),
            external_id: external_id.into(),
        }
    }
}

/// What a handler learns about a Proficient caller, besides the publishable key in
/// [`Verified::key_id`](crate::Verified::key_id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProficientUser {
    external_id: Arc<str>,
    hmac_verified: bool,
}

impl ProficientUser {
    /// The `X-PROFICIENT-USER-EXTERNAL-ID` the request carried. It is only a claim when
    /// [`hmac_verified`](Self::hmac_verified) is `false`.
    pub fn external_id(&self) -> &str {
        &self.external_id
    }

    /// Whether the request's HMAC was checked against the project's secret. `false` only for a
    /// request without `X-PROFICIENT-USER-HMAC` on a [`ProficientHmac::Optional`] key.
    pub fn hmac_verified(&self) -> bool {
        self.hmac_verified
    }

    /// The external id if the HMAC proved it, `None` if it is only claimed.
    pub fn verified_external_id(&self) -> Option<&str> {
        self.hmac_verified.then_some(&*self.external_id)
    }
}

impl ProficientVerifyLayer {
    /// A layer checking requests against the project keys in `keys`.
    pub fn new(keys: impl KeyStore) -> Self {
        VerifyLayer::with_scheme(Proficient, keys)
    }
}

impl Scheme for Proficient {
    type Credentials = ProficientCredentials;
    type Identity = ProficientUser;
    type Body = HeadersOnly;

    fn name(&self) -> &'static str {
        "proficient"
    }

    fn challenge(&self) -> Option<HeaderValue> {
        Some(HeaderValue::from_static("Proficient realm=\"proficient\""))
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<ProficientCredentials>, Rejection> {
        // The key is kept as the request holds it (only the check needs it); the external id,
        // which the handler gets, is copied.
        let api_key = single_kept(request, &X_API_KEY, API_KEY)?;
        parse_api_key(&api_key)?;
        let external_id = parse_external_id(single(request, &X_EXTERNAL_ID, EXTERNAL_ID)?)?;
        let credentials = ProficientCredentials {
            api_key,
            external_id: external_id.into(),
        };
        // Absent is allowed here (the key's policy decides later); present must be well-formed.
        Ok(match optional(request, &X_HMAC, HMAC)? {
            Some(hmac) => Presented::mac(credentials, parse_hmac(hmac)?),
            None => Presented {
                credentials,
                proof: Proof::Unsigned,
            },
        })
    }

    fn key_id<'c>(&self, credentials: &'c ProficientCredentials) -> Option<&'c str> {
        Some(credentials.api_key.as_str())
    }

    /// The external id, exactly as sent.
    fn message(
        &self,
        credentials: &ProficientCredentials,
        _body: &[u8],
        message: &mut Message<'_>,
    ) {
        message.write(credentials.external_id.as_bytes());
    }

    /// Only a project whose key is [`ProficientHmac::Optional`] takes requests without an HMAC.
    /// Unknown ids are checked against a placeholder key without policy: required.
    fn allow_unsigned(
        &self,
        _credentials: &ProficientCredentials,
        key: &Key,
    ) -> Result<(), Rejection> {
        match key.policy::<ProficientHmac>().copied().unwrap_or_default() {
            ProficientHmac::Optional => Ok(()),
            ProficientHmac::Required => Err(Rejection::missing(HMAC)),
        }
    }

    fn identity(
        &self,
        credentials: ProficientCredentials,
        matched: Option<&MatchedSecret>,
    ) -> ProficientUser {
        ProficientUser {
            external_id: credentials.external_id,
            hmac_verified: matched.is_some(),
        }
    }
}

/// The `X-PROFICIENT-USER-HMAC` for `external_id`: standard padded base64 of
/// HMAC-SHA256(`secret`, `external_id`), as the vendor's Node backend computes it.
///
/// This is the backend side of the vendor's flow: authenticate the user, then hand this value to
/// the frontend. The layer accepts it only for ids that can travel in a header (see
/// [`MAX_EXTERNAL_ID_LEN`] and the module's *Security* section).
///
/// ```
/// use tower_hmac::Secret;
/// use tower_hmac::proficient::user_hmac;
///
/// // The vendor's documented example.
/// let secret = Secret::new(
///     "hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA",
/// )
/// .unwrap();
/// assert_eq!(
///     user_hmac(&secret, "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3"),
///     "nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U=",
/// );
/// ```
pub fn user_hmac(secret: &Secret, external_id: &str) -> String {
    let credentials = ProficientCredentials::new("", external_id);
    sign_message(&Proficient, &credentials, b"", secret).to_base64()
}

/// A publishable key: `pk_` followed by at least one character, without spaces.
fn parse_api_key(value: &str) -> Result<&str, Rejection> {
    if value.starts_with("hsec_") {
        return Err(Rejection::malformed(
            "X-PROFICIENT-API-KEY header must be the publishable key (pk_...), \
             never the HMAC secret",
        ));
    }
    let valid = value
        .strip_prefix("pk_")
        .is_some_and(|rest| !rest.is_empty())
        && !value.contains(' ');
    if valid {
        Ok(value)
    } else {
        Err(Rejection::malformed(
            "X-PROFICIENT-API-KEY header must be a publishable key starting with pk_",
        ))
    }
}

/// 1 to [`MAX_EXTERNAL_ID_LEN`] printable ASCII characters, no space at either end.
///
/// [`single`] already guarantees all but the length; checking again keeps this function correct on
/// its own.
fn parse_external_id(value: &str) -> Result<&str, Rejection> {
    if value.len() > MAX_EXTERNAL_ID_LEN {
        return Err(Rejection::malformed(format!(
            "X-PROFICIENT-USER-EXTERNAL-ID header must be at most {MAX_EXTERNAL_ID_LEN} characters"
        )));
    }
    let printable = value.bytes().all(|b| (0x20..0x7f).contains(&b));
    let trimmed = !value.starts_with(' ') && !value.ends_with(' ');
    if value.is_empty() || !printable || !trimmed {
        return Err(Rejection::malformed(
            "X-PROFICIENT-USER-EXTERNAL-ID header must be printable ASCII",
        ));
    }
    Ok(value)
}

/// Standard padded base64 of 32 bytes, strictly. Hex gets a message saying what to send instead.
fn parse_hmac(value: &str) -> Result<Tag, Rejection> {
    Tag::from_base64(value.as_bytes()).map_err(|_| {
        let hex = value.len() == TAG_LEN * 2 && value.bytes().all(|b| b.is_ascii_hexdigit());
        Rejection::malformed(if hex {
            "X-PROFICIENT-USER-HMAC header looks like hex; send standard padded base64"
        } else {
            "X-PROFICIENT-USER-HMAC header must be standard padded base64 \
             of HMAC-SHA256 (44 characters)"
        })
    })
}

/// The three headers of a Proficient request: `X-PROFICIENT-API-KEY`,
/// `X-PROFICIENT-USER-EXTERNAL-ID` and, when `hmac` is given (see [`user_hmac`]),
/// `X-PROFICIENT-USER-HMAC`.
///
/// ```
/// use tower_hmac::Secret;
/// use tower_hmac::proficient::{sign_request, user_hmac};
///
/// let secret = Secret::new(
///     "hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA",
/// )
/// .unwrap();
/// let hmac = user_hmac(&secret, "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3");
/// let headers = sign_request("pk_YOUR_KEY", "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3", Some(&hmac)).unwrap();
/// assert_eq!(headers["x-proficient-user-hmac"], "nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U=");
/// ```
pub fn sign_request(
    api_key: &str,
    external_id: &str,
    hmac: Option<&str>,
) -> Result<http::HeaderMap, SignError> {
    let mut headers = http::HeaderMap::with_capacity(3);
    headers.insert(X_API_KEY, header_value(api_key.as_bytes(), API_KEY)?);
    headers.insert(
        X_EXTERNAL_ID,
        header_value(external_id.as_bytes(), EXTERNAL_ID)?,
    );
    if let Some(hmac) = hmac {
        headers.insert(X_HMAC, sensitive(hmac.as_bytes(), HMAC)?);
    }
    Ok(headers)
}

/// Signs outgoing requests as one Proficient user: the same three headers on every request, the
/// body untouched. Use it with a [`SignLayer`](crate::sign::SignLayer).
pub struct ProficientSigner {
    headers: http::HeaderMap,
}

impl ProficientSigner {
    /// A signer for the user `external_id` of the project with publishable key `api_key`,
    /// computing the user's HMAC with the project's `hsec_` secret (what your backend does).
    pub fn new(api_key: &str, secret: &Secret, external_id: &str) -> Result<Self, SignError> {
        Self::with_hmac(api_key, external_id, &user_hmac(secret, external_id))
    }

    /// A signer sending an HMAC your backend handed out (what a frontend does).
    pub fn with_hmac(api_key: &str, external_id: &str, hmac: &str) -> Result<Self, SignError> {
        Ok(Self {
            headers: sign_request(api_key, external_id, Some(hmac))?,
        })
    }

    /// A signer sending no HMAC, for projects where it is optional.
    pub fn without_hmac(api_key: &str, external_id: &str) -> Result<Self, SignError> {
        Ok(Self {
            headers: sign_request(api_key, external_id, None)?,
        })
    }
}

impl fmt::Debug for ProficientSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProficientSigner")
            .field("api_key", &self.headers.get(X_API_KEY))
            .field("external_id", &self.headers.get(X_EXTERNAL_ID))
            .field("hmac", &self.headers.get(X_HMAC).map(|_| "<redacted>"))
            .finish()
    }
}

impl Signer for ProficientSigner {
    fn signs_body(&self) -> bool {
        false
    }

    fn sign(&self, request: &mut Parts, _body: &[u8]) -> Result<(), SignError> {
        set_headers(request, self.headers.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use http::Request;

    use super::*;
    use crate::keys::{KeySecret, MemoryKeyStore};
    use crate::pipeline::Verifier;
    use crate::rejection::RejectionKind;
    use crate::{ManualClock, Verified};

    const DOC_SECRET: &str =
        "hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA";
    const DOC_USER: &str = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";
    const DOC_HMAC: &str = "nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U=";
    const REQUIRED: &str = "pk_required";
    const OPTIONAL: &str = "pk_optional";
    const DEFAULTED: &str = "pk_no_policy";
    const REVOKED: &str = "pk_revoked";
    const EXPIRED: &str = "pk_expired";

    fn secret(s: &str) -> Secret {
        Secret::new(s).unwrap()
    }

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn verifier() -> Verifier<Proficient> {
        let key = |id: &str| Key::new(id, secret(DOC_SECRET));
        let keys = MemoryKeyStore::new()
            .with(key(REQUIRED).with_policy(ProficientHmac::Required))
            .with(key(OPTIONAL).with_policy(ProficientHmac::Optional))
            .with(key(DEFAULTED))
            .with(key(REVOKED).with_policy(ProficientHmac::Optional).revoked())
            .with(
                key(EXPIRED)
                    .with_policy(ProficientHmac::Optional)
                    .expires_at(t0() - Duration::from_secs(1)),
            );
        ProficientVerifyLayer::new(keys)
            .clock(ManualClock::new(t0()))
            .verifier()
            .clone()
    }

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut req = Request::get("/interactions");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(()).unwrap().into_parts().0
    }

    async fn check(
        api_key: Option<&str>,
        user: Option<&str>,
        hmac: Option<&str>,
    ) -> Result<Verified<ProficientUser>, Rejection> {
        let mut headers = Vec::new();
        if let Some(v) = api_key {
            headers.push(("x-proficient-api-key", v));
        }
        if let Some(v) = user {
            headers.push(("x-proficient-user-external-id", v));
        }
        if let Some(v) = hmac {
            headers.push(("x-proficient-user-hmac", v));
        }
        verifier().verify(&parts(&headers), b"ignored").await
    }

    fn kind(result: Result<Verified<ProficientUser>, Rejection>) -> RejectionKind {
        result.unwrap_err().kind()
    }

    #[test]
    fn user_hmac_matches_the_doc() {
        assert_eq!(user_hmac(&secret(DOC_SECRET), DOC_USER), DOC_HMAC);
    }

    #[tokio::test]
    async fn required_key_accepts_the_right_hmac() {
        let verified = check(Some(REQUIRED), Some(DOC_USER), Some(DOC_HMAC))
            .await
            .unwrap();
        assert_eq!(verified.key_id(), REQUIRED);
        assert_eq!(verified.secret().unwrap().index(), 0);
        let user = verified.identity();
        assert_eq!(user.external_id(), DOC_USER);
        assert!(user.hmac_verified());
        assert_eq!(user.verified_external_id(), Some(DOC_USER));
    }

    #[tokio::test]
    async fn required_key_refuses_a_missing_hmac() {
        let rejection = check(Some(REQUIRED), Some(DOC_USER), None)
            .await
            .unwrap_err();
        assert_eq!(rejection.kind(), RejectionKind::MissingCredentials);
        assert_eq!(rejection.message(), "missing X-PROFICIENT-USER-HMAC header");
    }

    #[tokio::test]
    async fn a_key_without_policy_is_required() {
        assert!(
            check(Some(DEFAULTED), Some(DOC_USER), Some(DOC_HMAC))
                .await
                .unwrap()
                .identity()
                .hmac_verified()
        );
        assert_eq!(
            kind(check(Some(DEFAULTED), Some(DOC_USER), None).await),
            RejectionKind::MissingCredentials
        );
    }

    #[tokio::test]
    async fn optional_key_lets_a_missing_hmac_through_unverified() {
        let verified = check(Some(OPTIONAL), Some("anyone"), None).await.unwrap();
        assert_eq!(verified.key_id(), OPTIONAL);
        assert!(verified.secret().is_none());
        let user = verified.identity();
        assert_eq!(user.external_id(), "anyone");
        assert!(!user.hmac_verified());
        assert_eq!(user.verified_external_id(), None);
    }

    #[tokio::test]
    async fn optional_key_still_checks_a_present_hmac() {
        let verified = check(Some(OPTIONAL), Some(DOC_USER), Some(DOC_HMAC))
            .await
            .unwrap();
        assert!(verified.identity().hmac_verified());
        assert!(verified.secret().is_some());

        let other = user_hmac(&secret(DOC_SECRET), "someone-else");
        assert_eq!(
            kind(check(Some(OPTIONAL), Some(DOC_USER), Some(&other)).await),
            RejectionKind::InvalidSignature
        );
        for malformed in ["", "   ", "nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U"] {
            assert_eq!(
                kind(check(Some(OPTIONAL), Some(DOC_USER), Some(malformed)).await),
                RejectionKind::MalformedCredentials,
                "{malformed:?}"
            );
        }
    }

    #[tokio::test]
    async fn wrong_hmacs_are_refused() {
        let other_user = user_hmac(&secret(DOC_SECRET), "someone-else");
        let other_secret = user_hmac(&secret("hsec_other"), DOC_USER);
        for (key, hmac) in [
            (REQUIRED, other_user.as_str()),
            (REQUIRED, other_secret.as_str()),
            (OPTIONAL, other_secret.as_str()),
        ] {
            assert_eq!(
                kind(check(Some(key), Some(DOC_USER), Some(hmac)).await),
                RejectionKind::InvalidSignature,
                "{key} {hmac}"
            );
        }
        // The right HMAC for another user does not vouch for this one.
        assert_eq!(
            kind(check(Some(REQUIRED), Some("someone-else"), Some(DOC_HMAC)).await),
            RejectionKind::InvalidSignature
        );
    }

    #[tokio::test]
    async fn other_encodings_are_malformed() {
        let tag = Tag::from_base64(DOC_HMAC.as_bytes()).unwrap();
        let hex = tag.to_hex();
        let url_safe = DOC_HMAC.replace('+', "-").replace('/', "_");
        let url_unpadded = url_safe.trim_end_matches('=').to_owned();
        let unpadded = DOC_HMAC.trim_end_matches('=').to_owned();
        for bad in [&hex, &url_safe, &url_unpadded, &unpadded] {
            let rejection = check(Some(REQUIRED), Some(DOC_USER), Some(bad))
                .await
                .unwrap_err();
            assert_eq!(
                rejection.kind(),
                RejectionKind::MalformedCredentials,
                "{bad}"
            );
        }
        let rejection = check(Some(REQUIRED), Some(DOC_USER), Some(&hex))
            .await
            .unwrap_err();
        assert_eq!(
            rejection.message(),
            "X-PROFICIENT-USER-HMAC header looks like hex; send standard padded base64"
        );
    }

    #[tokio::test]
    async fn unknown_revoked_and_expired_keys_are_refused() {
        assert_eq!(
            kind(check(Some("pk_unknown"), Some(DOC_USER), Some(DOC_HMAC)).await),
            RejectionKind::UnknownKey
        );
        // Unknown ids get the placeholder key: no policy, so required.
        assert_eq!(
            kind(check(Some("pk_unknown"), Some(DOC_USER), None).await),
            RejectionKind::MissingCredentials
        );
        for (key, expected) in [
            (REVOKED, RejectionKind::KeyRevoked),
            (EXPIRED, RejectionKind::KeyExpired),
        ] {
            // With the right HMAC, and without one although the key is optional.
            assert_eq!(
                kind(check(Some(key), Some(DOC_USER), Some(DOC_HMAC)).await),
                expected
            );
            assert_eq!(kind(check(Some(key), Some(DOC_USER), None).await), expected);
        }
    }

    #[tokio::test]
    async fn rotated_secrets_both_verify() {
        let old = secret(DOC_SECRET);
        let new = secret("hsec_new");
        let keys = MemoryKeyStore::new().with(Key::new(REQUIRED, old.clone()));
        keys.rotate(
            REQUIRED,
            KeySecret::new(new.clone()).label("v2"),
            t0() + Duration::from_secs(60),
        )
        .unwrap();
        let clock = ManualClock::new(t0());
        let verifier = ProficientVerifyLayer::new(keys)
            .clock(clock.clone())
            .verifier()
            .clone();
        let request = |s: &Secret| {
            parts(&[
                ("x-proficient-api-key", REQUIRED),
                ("x-proficient-user-external-id", DOC_USER),
                ("x-proficient-user-hmac", &user_hmac(s, DOC_USER)),
            ])
        };
        let via_old = verifier.verify(&request(&old), b"").await.unwrap();
        assert_eq!(via_old.secret().unwrap().index(), 0);
        let via_new = verifier.verify(&request(&new), b"").await.unwrap();
        assert_eq!(via_new.secret().unwrap().label(), Some("v2"));

        clock.advance(Duration::from_secs(61));
        assert_eq!(
            verifier
                .verify(&request(&old), b"")
                .await
                .unwrap_err()
                .kind(),
            RejectionKind::InvalidSignature
        );
    }

    #[tokio::test]
    async fn each_missing_header_is_named() {
        for (api_key, user, hmac, header) in [
            (None, Some(DOC_USER), Some(DOC_HMAC), API_KEY),
            (Some(REQUIRED), None, Some(DOC_HMAC), EXTERNAL_ID),
            (Some(REQUIRED), Some(DOC_USER), None, HMAC),
        ] {
            let rejection = check(api_key, user, hmac).await.unwrap_err();
            assert_eq!(rejection.kind(), RejectionKind::MissingCredentials);
            assert_eq!(rejection.message(), format!("missing {header} header"));
        }
    }

    #[tokio::test]
    async fn repeated_headers_are_malformed() {
        for name in [
            "x-proficient-api-key",
            "x-proficient-user-external-id",
            "x-proficient-user-hmac",
        ] {
            let mut headers = vec![
                ("x-proficient-api-key", REQUIRED),
                ("x-proficient-user-external-id", DOC_USER),
                ("x-proficient-user-hmac", DOC_HMAC),
            ];
            let duplicate = headers.iter().find(|(n, _)| *n == name).copied().unwrap();
            headers.push(duplicate);
            let rejection = verifier().verify(&parts(&headers), b"").await.unwrap_err();
            assert_eq!(
                rejection.kind(),
                RejectionKind::MalformedCredentials,
                "{name}"
            );
        }
    }

    #[test]
    fn api_key_must_be_publishable() {
        assert_eq!(parse_api_key("pk_abc").unwrap(), "pk_abc");
        for bad in ["pk_", "sk_abc", "PK_abc", "abc", "pk_a b", "xpk_abc"] {
            assert_eq!(
                parse_api_key(bad).unwrap_err().kind(),
                RejectionKind::MalformedCredentials,
                "{bad}"
            );
        }
        let rejection = parse_api_key(DOC_SECRET).unwrap_err();
        assert!(rejection.message().contains("never the HMAC secret"));
        assert!(!rejection.message().contains(DOC_SECRET));
    }

    #[test]
    fn external_id_is_bounded_printable_ascii() {
        let longest = "a".repeat(MAX_EXTERNAL_ID_LEN);
        assert_eq!(parse_external_id(&longest).unwrap(), longest);
        for ok in [
            "x",
            "auth0|5f7c8ec7",
            "user-42_test.account@example.com",
            "a b",
        ] {
            assert_eq!(parse_external_id(ok).unwrap(), ok);
        }
        let too_long = "a".repeat(MAX_EXTERNAL_ID_LEN + 1);
        for bad in [
            "",
            " a",
            "a ",
            "a\tb",
            "a\u{7f}",
            "Jos\u{e9}",
            too_long.as_str(),
        ] {
            assert_eq!(
                parse_external_id(bad).unwrap_err().kind(),
                RejectionKind::MalformedCredentials,
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn external_id_over_the_bound_is_refused_through_the_pipeline() {
        let long = "u".repeat(MAX_EXTERNAL_ID_LEN + 1);
        let hmac = user_hmac(&secret(DOC_SECRET), &long);
        let rejection = check(Some(REQUIRED), Some(&long), Some(&hmac))
            .await
            .unwrap_err();
        assert_eq!(rejection.kind(), RejectionKind::MalformedCredentials);
        assert_eq!(
            rejection.message(),
            "X-PROFICIENT-USER-EXTERNAL-ID header must be at most 256 characters"
        );
        let longest = "u".repeat(MAX_EXTERNAL_ID_LEN);
        let hmac = user_hmac(&secret(DOC_SECRET), &longest);
        let verified = check(Some(REQUIRED), Some(&longest), Some(&hmac))
            .await
            .unwrap();
        assert_eq!(verified.identity().external_id(), longest);
    }

    #[test]
    fn debug_shows_no_hmac() {
        let presented = Presented::mac(
            ProficientCredentials::new(REQUIRED, DOC_USER),
            Tag::from_base64(DOC_HMAC.as_bytes()).unwrap(),
        );
        let printed = format!("{presented:?}");
        assert!(!printed.contains(DOC_HMAC), "{printed}");
        assert!(!printed.contains("9f2aca2b"), "{printed}");
    }
}

/// The mock's Proficient route (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use axum::Router;
    use axum::routing::get;
    use serde::Deserialize;
    use serde_json::{Value, json};

    use super::{ProficientHmac, ProficientUser, ProficientVerifyLayer};
    use crate::crypto::Secret;
    use crate::error::BoxError;
    use crate::keys::{Key, MemoryKeyStore};
    use crate::mock::{
        Examples, Provider, Section, Shared, debug_without_secret, demo_entry, quote,
    };
    use crate::pipeline::Verified;

    pub(crate) const PROVIDER: Provider = Provider {
        name: "proficient",
        config_keys: &["proficient"],
        demo_private_key: None,
        demo,
        router,
        examples,
        sign: None,
    };

    /// The vendor's documented example project key, HMAC secret and user.
    const API_KEY: &str =
        "pk_40NDqyJqjBe6DJyLn44HBEgi0loTunwLdjWHhcOUGONSkpomQx0qInkWLtu0ouwSr6qqE7HQ";
    const SECRET: &str =
        "hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA";
    const USER: &str = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";

    /// One `[[proficient]]` entry: a project's publishable key, its HMAC secret, and whether the
    /// HMAC is required (default `true`).
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        api_key: String,
        secret: String,
        #[serde(default = "required")]
        hmac_required: bool,
    }

    fn required() -> bool {
        true
    }

    debug_without_secret!(Entry, api_key, hmac_required);

    fn demo() -> toml::Table {
        demo_entry(
            "proficient",
            [
                ("api_key", API_KEY.into()),
                ("secret", SECRET.into()),
                ("hmac_required", true.into()),
            ],
        )
    }

    fn router(config: &Section<'_>, shared: &Shared) -> Result<Router, BoxError> {
        let keys = MemoryKeyStore::new();
        for entry in config.get::<Vec<Entry>>("proficient")? {
            let policy = if entry.hmac_required {
                ProficientHmac::Required
            } else {
                ProficientHmac::Optional
            };
            keys.try_insert(
                Key::new(entry.api_key, Secret::new(entry.secret)?).with_policy(policy),
            )?;
        }
        Ok(Router::new()
            .route("/interactions", get(interactions))
            .layer(shared.layer(
                "proficient",
                ProficientVerifyLayer::new(shared.keys("proficient", keys)),
            )))
    }

    fn examples(config: &Section<'_>, at: &Examples) -> Result<String, BoxError> {
        let Some(entry) = config.first::<Entry>("proficient")? else {
            return Ok(String::new());
        };
        Ok(format!(
            "# Proficient (project {key}, user {USER})\n\
             {sign} proficient --api-key {key_q} --secret {secret} --user {USER} \
             --curl {base}/interactions | sh; echo\n",
            key = entry.api_key,
            key_q = quote(&entry.api_key),
            secret = quote(&entry.secret),
            sign = at.sign,
            base = at.base,
        ))
    }

    async fn interactions(user: Verified<ProficientUser>) -> axum::Json<Value> {
        axum::Json(json!({
            "provider": "proficient",
            "api_key": user.key_id(),
            "external_id": user.identity().external_id(),
            "hmac_verified": user.identity().hmac_verified(),
            "interactions": [],
        }))
    }
}

//! `Authorization: Bearer <jwt>` on the calls that follow the exchange.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;
use http::request::Parts;

use super::token::{Claims, SpikeTokenKeys, unix_seconds};
use crate::BoxFuture;
use crate::error::{ConfigError, StoreError};
use crate::keys::{Key, KeyStore};
use crate::pipeline::headers::bearer;
use crate::pipeline::{
    HeadersOnly, MatchedSecret, Presented, Proof, Scheme, Verified, Verify, VerifyLayer,
};
use crate::rejection::{Rejection, RejectionKind};

/// The user a verified Spike access token names, inside [`Verified`]; its
/// [`key_id`](Verified::key_id) is the application id.
///
/// [`Verified::secret`] tells which token key matched: index 0 is the current key, 1 and up the
/// previous keys (most recently replaced first), with their labels. A token still matching a
/// previous key is a client that has not exchanged since the rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpikeUser {
    application_id: Arc<str>,
    user_id: Box<str>,
    expires_at: Option<u64>,
}

impl SpikeUser {
    /// The application the user belongs to (the token's `iss`).
    pub fn application_id(&self) -> &str {
        &self.application_id
    }

    /// The application's id for the user (the token's `sub`).
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// When the token expires, if it carries an `exp`.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
            .and_then(|exp| UNIX_EPOCH.checked_add(Duration::from_secs(exp)))
    }
}

/// A layer that lets a request through only with a valid Spike access token, and hands the inner
/// service its [`Verified<SpikeUser>`](SpikeUser). Header-only: the request body is not touched.
pub type SpikeBearerLayer = VerifyLayer<SpikeBearerScheme>;

/// The service built by [`SpikeBearerLayer`].
pub type SpikeBearer<S> = Verify<S, SpikeBearerScheme>;

/// The bearer calls as a [`Scheme`]: the token is the credential, verified by `jsonwebtoken`
/// against the server's token keys ([`Proof::Custom`]); the key looked up is the token's
/// application (`iss`), in the applications' store when the layer checks them.
#[derive(Debug, Clone)]
pub struct SpikeBearerScheme {
    tokens: SpikeTokenKeys,
    require_exp: bool,
    leeway: Duration,
}

/// A presented access token, and its claims once it verified (the application is then looked up
/// by `iss`; nothing is read from a token before it verified).
#[derive(Debug)]
pub struct SpikeToken {
    token: Box<str>,
    claims: Option<Claims>,
}

impl SpikeBearerLayer {
    /// A layer accepting tokens signed with the current or a previous key of `tokens`.
    pub fn new(tokens: SpikeTokenKeys) -> Self {
        let scheme = SpikeBearerScheme {
            tokens,
            require_exp: false,
            leeway: Duration::ZERO,
        };
        VerifyLayer::with_scheme(scheme, EveryApplication)
    }

    /// Refuses tokens without an `exp` claim (default: accepted, as the vendor's tokens have
    /// none). Turn it on once every token in circulation was issued with a
    /// [`token_lifetime`](super::SpikeExchange::token_lifetime).
    pub fn require_exp(self, require: bool) -> Self {
        self.map_scheme(|s| s.require_exp = require)
    }

    /// How long after its `exp` a token is still accepted, for clock skew between the server that
    /// issued it and this one (default 0).
    pub fn leeway(self, leeway: Duration) -> Self {
        self.map_scheme(|s| s.leeway = leeway)
    }

    /// Also requires the token's application to be live in `applications` (the store the
    /// [`SpikeExchange`](super::SpikeExchange) uses): a token of an application that was removed,
    /// revoked or has expired is refused, and a failing store means 503. Off by default, because it
    /// costs a key-store lookup per request; without it, tokens outlive their application's key.
    ///
    /// Like [`SpikeExchange::new`](super::SpikeExchange::new), it [reserves](KeyStore::reserve)
    /// the token keys in `applications`: an error if the store holds one as an application key.
    /// And a token whose application holds a token key is refused with 503 (a misconfiguration
    /// that a store unable to police its keys let through; that application could have signed it).
    pub fn applications(self, applications: impl KeyStore) -> Result<Self, ConfigError> {
        let applications: Arc<dyn KeyStore> = Arc::new(applications);
        self.verifier().scheme().tokens.reserve_in(&applications)?;
        Ok(self.key_store(applications))
    }

    /// Checks a request's `Authorization` header, without a server.
    pub async fn verify(&self, request: &Parts) -> Result<Verified<SpikeUser>, Rejection> {
        self.verifier().verify(request, b"").await
    }
}

impl Scheme for SpikeBearerScheme {
    type Credentials = SpikeToken;
    type Identity = SpikeUser;
    type Body = HeadersOnly;

    fn name(&self) -> &'static str {
        "spike"
    }

    fn challenge(&self) -> Option<HeaderValue> {
        Some(HeaderValue::from_static("Bearer realm=\"spike\""))
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<SpikeToken>, Rejection> {
        let token = bearer(request, "access token")?;
        Ok(Presented {
            credentials: SpikeToken {
                token: token.into(),
                claims: None,
            },
            proof: Proof::Custom,
        })
    }

    fn key_id<'c>(&self, token: &'c SpikeToken) -> Option<&'c str> {
        token.claims.as_ref().map(|c| c.iss.as_str())
    }

    /// A token's expiry, once [`verify_custom`](Scheme::verify_custom) read its claims (before,
    /// there is nothing to check).
    fn check_fresh(&self, token: &SpikeToken, now: SystemTime) -> Result<(), Rejection> {
        match token.claims.as_ref().and_then(|c| c.exp) {
            Some(exp) if unix_seconds(now) >= exp.saturating_add(self.leeway.as_secs()) => {
                Err(Rejection::with_message(
                    RejectionKind::StaleTimestamp,
                    "the access token has expired; exchange a new one",
                ))
            }
            None if self.require_exp && token.claims.is_some() => Err(Rejection::malformed(
                "the access token has no expiry (exp); exchange a new one",
            )),
            _ => Ok(()),
        }
    }

    /// The token's algorithm, signature and claims, by `jsonwebtoken`, against the current and
    /// the live previous token keys, before its application is looked up; then its expiry, on the
    /// claims just verified (decoded once).
    fn verify_custom(
        &self,
        token: &mut SpikeToken,
        now: SystemTime,
    ) -> Result<Option<MatchedSecret>, Rejection> {
        let (matched, claims) = self.tokens.verify(&token.token, now)?;
        token.claims = Some(claims);
        self.check_fresh(token, now)?;
        Ok(Some(matched))
    }

    /// A token whose application holds a token key could have been signed by that application:
    /// fail closed.
    fn authorize(&self, _token: &SpikeToken, application: &Key) -> Result<(), Rejection> {
        if self.tokens.held_by(application) {
            Err(Rejection::new(RejectionKind::StoreUnavailable))
        } else {
            Ok(())
        }
    }

    fn identity(&self, token: SpikeToken, _matched: Option<&MatchedSecret>) -> SpikeUser {
        // Only a token whose claims verified gets here.
        let claims = token.claims.unwrap_or(Claims {
            iss: String::new(),
            sub: String::new(),
            iat: None,
            exp: None,
        });
        SpikeUser {
            application_id: claims.iss.into(),
            user_id: claims.sub.into(),
            expires_at: claims.exp,
        }
    }
}

/// The applications' store of a layer that does not check them: every application is live.
#[derive(Debug, Clone, Copy)]
struct EveryApplication;

impl EveryApplication {
    fn key(key_id: &str) -> Key {
        // The same application calls again and again: each thread keeps the last key it made, so
        // that a request costs no allocation here (two, for a key made anew).
        thread_local! {
            static LAST: std::cell::RefCell<Option<Key>> = const { std::cell::RefCell::new(None) };
        }
        LAST.with_borrow_mut(|last| match last {
            Some(key) if key.id() == key_id => key.clone(),
            _ => last.insert(Key::from_secrets(key_id, [])).clone(),
        })
    }
}

impl KeyStore for EveryApplication {
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        Box::pin(std::future::ready(Ok(Some(Self::key(key_id)))))
    }

    fn get_now(&self, key_id: &str) -> Option<Result<Option<Key>, StoreError>> {
        Some(Ok(Some(Self::key(key_id))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use crate::crypto::Secret;
    use http::Request;

    fn keys() -> SpikeTokenKeys {
        SpikeTokenKeys::new(Secret::new([3u8; 32]).unwrap()).unwrap()
    }

    fn parts(authorization: Option<&str>) -> Parts {
        let mut builder = Request::get("/v3/userinfo");
        if let Some(value) = authorization {
            builder = builder.header(http::header::AUTHORIZATION, value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[tokio::test]
    async fn header_forms() {
        let layer = SpikeBearerLayer::new(keys());
        let missing = layer.verify(&parts(None)).await.unwrap_err();
        assert_eq!(missing.kind(), RejectionKind::MissingCredentials);
        for bad in ["Basic abc", "Bearer", "Bearer a b", "token"] {
            assert_eq!(
                layer.verify(&parts(Some(bad))).await.unwrap_err().kind(),
                RejectionKind::MalformedCredentials,
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn expiry_uses_the_layer_clock_and_leeway() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = ManualClock::new(t0);
        let tokens = keys();
        let token = tokens
            .issue("1", "u", t0, Some(Duration::from_secs(60)))
            .unwrap();
        let header = format!("Bearer {token}");
        let layer = SpikeBearerLayer::new(tokens.clone()).clock(clock.clone());
        let user = layer.verify(&parts(Some(&header))).await.unwrap();
        assert_eq!(
            user.identity().expires_at(),
            Some(t0 + Duration::from_secs(60))
        );
        clock.advance(Duration::from_secs(59));
        assert!(layer.verify(&parts(Some(&header))).await.is_ok());
        clock.advance(Duration::from_secs(1));
        let expired = layer.verify(&parts(Some(&header))).await.unwrap_err();
        assert_eq!(expired.kind(), RejectionKind::StaleTimestamp);
        let lenient = layer.clone().leeway(Duration::from_secs(5));
        assert!(lenient.verify(&parts(Some(&header))).await.is_ok());
    }

    #[tokio::test]
    async fn require_exp_refuses_tokens_without_one() {
        let tokens = keys();
        let token = tokens.issue("1", "u", SystemTime::now(), None).unwrap();
        let header = format!("Bearer {token}");
        let layer = SpikeBearerLayer::new(tokens);
        assert!(layer.verify(&parts(Some(&header))).await.is_ok());
        let strict = layer.require_exp(true);
        let refused = strict.verify(&parts(Some(&header))).await.unwrap_err();
        assert_eq!(refused.kind(), RejectionKind::MalformedCredentials);
    }
}

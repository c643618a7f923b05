//! `Authorization: Bearer <jwt>` on the calls that follow the exchange.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::token::{SpikeTokenKeys, unix_seconds};
use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::keys::{KeyStatus, KeyStore};
use crate::rejection::{DefaultResponder, Rejection, RejectionContext, RejectionKind, Responder};
use crate::verify::headers::{bearer_token, single};
use crate::verify::{ResponseBody, ResponseFuture, Verified};

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
#[derive(Clone)]
pub struct SpikeBearerLayer {
    config: Arc<BearerConfig>,
}

#[derive(Clone)]
struct BearerConfig {
    tokens: SpikeTokenKeys,
    applications: Option<Arc<dyn KeyStore>>,
    clock: Arc<dyn Clock>,
    responder: Arc<dyn Responder>,
    challenge: HeaderValue,
    require_exp: bool,
    leeway: Duration,
}

impl SpikeBearerLayer {
    /// A layer accepting tokens signed with the current or a previous key of `tokens`.
    pub fn new(tokens: SpikeTokenKeys) -> Self {
        Self {
            config: Arc::new(BearerConfig {
                tokens,
                applications: None,
                clock: Arc::new(SystemClock),
                responder: Arc::new(DefaultResponder),
                challenge: HeaderValue::from_static("Bearer realm=\"spike\""),
                require_exp: false,
                leeway: Duration::ZERO,
            }),
        }
    }

    fn configure(mut self, change: impl FnOnce(&mut BearerConfig)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// Refuses tokens without an `exp` claim (default: accepted, as the vendor's tokens have
    /// none). Turn it on once every token in circulation was issued with a
    /// [`token_lifetime`](super::SpikeExchange::token_lifetime).
    pub fn require_exp(self, require: bool) -> Self {
        self.configure(|c| c.require_exp = require)
    }

    /// How long after its `exp` a token is still accepted, for clock skew between the server that
    /// issued it and this one (default 0).
    pub fn leeway(self, leeway: Duration) -> Self {
        self.configure(|c| c.leeway = leeway)
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
        self.config.tokens.reserve_in(&applications)?;
        Ok(self.configure(|c| c.applications = Some(applications)))
    }

    /// Where "now" comes from, for `exp`, previous keys' end of life and application key expiry
    /// (default: the system clock).
    pub fn clock(self, clock: impl Clock) -> Self {
        self.configure(|c| c.clock = Arc::new(clock))
    }

    /// Replaces the default rejection responses.
    pub fn responder(self, responder: impl Responder) -> Self {
        self.configure(|c| c.responder = Arc::new(responder))
    }

    /// Checks a request's `Authorization` header, without a server.
    pub async fn verify(&self, request: &Parts) -> Result<Verified<SpikeUser>, Rejection> {
        self.config.check(request).await
    }
}

impl BearerConfig {
    /// Checks the request; every refusal is logged here, once, with the application id (the key
    /// id) when the token verified and only its application was refused.
    async fn check(&self, request: &Parts) -> Result<Verified<SpikeUser>, Rejection> {
        let now = self.clock.now();
        let verified = match self.check_token(request, now) {
            Ok(verified) => verified,
            Err(rejection) => {
                rejection.log("spike", None);
                return Err(rejection);
            }
        };
        self.check_application(verified, now)
            .await
            .inspect_err(|(rejection, key_id)| rejection.log("spike", Some(key_id)))
            .map_err(|(rejection, _)| rejection)
    }

    /// With [`applications`](SpikeBearerLayer::applications), whether the token's application is
    /// still live.
    async fn check_application(
        &self,
        verified: Verified<SpikeUser>,
        now: SystemTime,
    ) -> Result<Verified<SpikeUser>, (Rejection, Arc<str>)> {
        let key_id = || Arc::clone(&verified.key_id);
        if let Some(applications) = &self.applications {
            let key = applications
                .get(verified.key_id())
                .await
                .map_err(|error| (Rejection::store_failed(error), key_id()))?;
            let refusal = match key.as_deref().map(|k| (k.status_at(now), k)) {
                None => Some(RejectionKind::UnknownKey),
                Some((KeyStatus::Live, key)) if self.tokens.held_by(key) => {
                    Some(RejectionKind::StoreUnavailable)
                }
                Some((KeyStatus::Live, _)) => None,
                Some((KeyStatus::Expired, _)) => Some(RejectionKind::KeyExpired),
                Some((KeyStatus::Revoked, _)) => Some(RejectionKind::KeyRevoked),
            };
            if let Some(kind) = refusal {
                return Err((Rejection::new(kind), key_id()));
            }
        }
        Ok(verified)
    }

    /// The token checks, which need no I/O.
    fn check_token(
        &self,
        request: &Parts,
        now: SystemTime,
    ) -> Result<Verified<SpikeUser>, Rejection> {
        let authorization = single(request, &AUTHORIZATION, "Authorization")?;
        let token = bearer_token(authorization).ok_or_else(|| {
            Rejection::malformed("Authorization header must be `Bearer <access token>`")
        })?;
        let verified = self.tokens.verify(token, now)?;
        match verified.exp {
            Some(exp) if unix_seconds(now) >= exp.saturating_add(self.leeway.as_secs()) => {
                return Err(Rejection::with_message(
                    RejectionKind::StaleTimestamp,
                    "the access token has expired; exchange a new one",
                ));
            }
            None if self.require_exp => {
                return Err(Rejection::malformed(
                    "the access token has no expiry (exp); exchange a new one",
                ));
            }
            _ => {}
        }
        Ok(Verified {
            key_id: Arc::clone(&verified.application_id),
            secret: Some(verified.matched),
            identity: SpikeUser {
                application_id: verified.application_id,
                user_id: verified.user_id,
                expires_at: verified.exp,
            },
        })
    }

    fn respond<B>(&self, rejection: &Rejection, parts: &Parts) -> Response<ResponseBody<B>> {
        let context = RejectionContext {
            request: parts,
            challenge: &self.challenge,
        };
        self.responder
            .respond(rejection, &context)
            .map(ResponseBody::rejection)
    }
}

impl fmt::Debug for SpikeBearerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpikeBearerLayer")
            .field("tokens", &self.config.tokens)
            .field("require_exp", &self.config.require_exp)
            .field("leeway", &self.config.leeway)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for SpikeBearerLayer {
    type Service = SpikeBearer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SpikeBearer {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service built by [`SpikeBearerLayer`].
#[derive(Clone)]
pub struct SpikeBearer<S> {
    inner: S,
    config: Arc<BearerConfig>,
}

impl<S: fmt::Debug> fmt::Debug for SpikeBearer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpikeBearer")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SpikeBearer<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        ResponseFuture::new(async move {
            let (mut parts, body) = request.into_parts();
            match config.check(&parts).await {
                Ok(verified) => {
                    parts.extensions.insert(verified);
                    let request = Request::from_parts(parts, body);
                    Ok(inner.call(request).await?.map(ResponseBody::inner))
                }
                Err(rejection) => Ok(config.respond(&rejection, &parts)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use crate::secret::Secret;

    fn keys() -> SpikeTokenKeys {
        SpikeTokenKeys::new(Secret::new([3u8; 32]).unwrap()).unwrap()
    }

    fn parts(authorization: Option<&str>) -> Parts {
        let mut builder = Request::get("/v3/userinfo");
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
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

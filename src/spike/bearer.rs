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
use crate::humanos::bearer_token;
use crate::rejection::{DefaultResponder, Rejection, RejectionContext, RejectionKind, Responder};
use crate::verify::headers::single;
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

    /// Where "now" comes from, for `exp` and for previous keys' end of life (default: the system
    /// clock).
    pub fn clock(self, clock: impl Clock) -> Self {
        self.configure(|c| c.clock = Arc::new(clock))
    }

    /// Replaces the default rejection responses.
    pub fn responder(self, responder: impl Responder) -> Self {
        self.configure(|c| c.responder = Arc::new(responder))
    }

    /// Checks a request's `Authorization` header, without a server.
    pub fn verify(&self, request: &Parts) -> Result<Verified<SpikeUser>, Rejection> {
        self.config.check(request)
    }
}

impl BearerConfig {
    fn check(&self, request: &Parts) -> Result<Verified<SpikeUser>, Rejection> {
        let authorization = single(request, &AUTHORIZATION, "Authorization")?;
        let token = bearer_token(authorization).ok_or_else(|| {
            Rejection::malformed("Authorization header must be `Bearer <access token>`")
        })?;
        let now = self.clock.now();
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
        tracing::debug!(scheme = "spike", kind = ?rejection.kind(), "request rejected");
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
        let (mut parts, body) = request.into_parts();
        match self.config.check(&parts) {
            Ok(verified) => {
                parts.extensions.insert(verified);
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let future = inner.call(Request::from_parts(parts, body));
                ResponseFuture::new(async move { Ok(future.await?.map(ResponseBody::inner)) })
            }
            Err(rejection) => {
                let response = self.config.respond(&rejection, &parts);
                ResponseFuture::new(std::future::ready(Ok(response)))
            }
        }
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

    #[test]
    fn header_forms() {
        let layer = SpikeBearerLayer::new(keys());
        let missing = layer.verify(&parts(None)).unwrap_err();
        assert_eq!(missing.kind(), RejectionKind::MissingCredentials);
        for bad in ["Basic abc", "Bearer", "Bearer a b", "token"] {
            assert_eq!(
                layer.verify(&parts(Some(bad))).unwrap_err().kind(),
                RejectionKind::MalformedCredentials,
                "{bad}"
            );
        }
    }

    #[test]
    fn expiry_uses_the_layer_clock_and_leeway() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = ManualClock::new(t0);
        let tokens = keys();
        let token = tokens
            .issue("1", "u", t0, Some(Duration::from_secs(60)))
            .unwrap();
        let header = format!("Bearer {token}");
        let layer = SpikeBearerLayer::new(tokens.clone()).clock(clock.clone());
        let user = layer.verify(&parts(Some(&header))).unwrap();
        assert_eq!(
            user.identity().expires_at(),
            Some(t0 + Duration::from_secs(60))
        );
        clock.advance(Duration::from_secs(59));
        assert!(layer.verify(&parts(Some(&header))).is_ok());
        clock.advance(Duration::from_secs(1));
        let expired = layer.verify(&parts(Some(&header))).unwrap_err();
        assert_eq!(expired.kind(), RejectionKind::StaleTimestamp);
        let lenient = layer.clone().leeway(Duration::from_secs(5));
        assert!(lenient.verify(&parts(Some(&header))).is_ok());
    }

    #[test]
    fn require_exp_refuses_tokens_without_one() {
        let tokens = keys();
        let token = tokens.issue("1", "u", SystemTime::now(), None).unwrap();
        let header = format!("Bearer {token}");
        let layer = SpikeBearerLayer::new(tokens);
        assert!(layer.verify(&parts(Some(&header))).is_ok());
        let strict = layer.require_exp(true);
        let refused = strict.verify(&parts(Some(&header))).unwrap_err();
        assert_eq!(refused.kind(), RejectionKind::MalformedCredentials);
    }
}

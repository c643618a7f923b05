use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::CONTENT_LENGTH;
use http::{Request, Response};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::body::{ResponseBody, VerifiedBody};
use super::scheme::Scheme;
use super::verifier::{NoBody, Streamed, Verifier};
use crate::clock::Clock;
use crate::error::BoxError;
use crate::keys::KeyStore;
use crate::rejection::Responder;
use crate::replay::ReplayStore;

/// How a layer treats the request body: [`BodySigned`] or [`HeadersOnly`].
pub trait BodyMode: sealed::Sealed + Send + Sync + 'static {
    /// Whether the scheme's signed message includes the body.
    const SIGNS_BODY: bool;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::BodySigned {}
    impl Sealed for super::HeadersOnly {}
}

impl BodyMode for BodySigned {
    const SIGNS_BODY: bool = true;
}

impl BodyMode for HeadersOnly {
    const SIGNS_BODY: bool = false;
}

/// Body handling of a layer whose scheme signs the body: the body is read (up to the limit) before
/// the signature is checked, and the inner service receives it as a [`VerifiedBody`].
#[derive(Debug, Clone, Copy)]
pub enum BodySigned {}

/// Body handling of a layer whose scheme signs headers only: the body is never touched and
/// reaches the inner service as it came, so streaming requests and gRPC streams work.
#[derive(Debug, Clone, Copy)]
pub enum HeadersOnly {}

/// A layer that verifies requests with scheme `Sch`; `M` is [`BodySigned`] or [`HeadersOnly`].
///
/// Each scheme module names its own pair, e.g.
/// [`HumanosVerifyLayer`](crate::humanos::HumanosVerifyLayer).
pub struct VerifyLayer<Sch, M> {
    verifier: Arc<Verifier<Sch>>,
    _mode: PhantomData<fn() -> M>,
}

impl<Sch: Scheme, M: BodyMode> VerifyLayer<Sch, M> {
    /// A layer for `scheme` looking keys up in `keys`.
    pub fn with_scheme(scheme: Sch, keys: impl KeyStore) -> Self {
        let mut verifier = Verifier::new(scheme, keys);
        verifier.signs_body = M::SIGNS_BODY;
        Self {
            verifier: Arc::new(verifier),
            _mode: PhantomData,
        }
    }

    /// The shared verification pipeline, for checking requests without a server.
    pub fn verifier(&self) -> &Verifier<Sch> {
        &self.verifier
    }
}

impl<Sch: Scheme + Clone, M> VerifyLayer<Sch, M> {
    fn configure(mut self, change: impl FnOnce(&mut Verifier<Sch>)) -> Self {
        change(Arc::make_mut(&mut self.verifier));
        self
    }

    pub(crate) fn map_scheme(self, change: impl FnOnce(&mut Sch)) -> Self {
        self.configure(|v| change(&mut v.scheme))
    }

    /// Where "now" comes from (default: the system clock).
    pub fn clock(self, clock: impl Clock) -> Self {
        self.configure(|v| v.set_clock(clock))
    }

    /// Remembers each accepted request's nonce in `store` and refuses a second use.
    pub fn replay_store(self, store: impl ReplayStore) -> Self {
        self.configure(|v| v.set_replay_store(store))
    }

    /// Replaces the default rejection responses.
    pub fn responder(self, responder: impl Responder) -> Self {
        self.configure(|v| v.set_responder(responder))
    }
}

impl<Sch: Scheme + Clone> VerifyLayer<Sch, BodySigned> {
    /// The largest body read, in bytes (default 1 MiB). A larger body is refused with 413 and is
    /// not buffered past the limit.
    pub fn body_limit(self, bytes: usize) -> Self {
        self.configure(|v| v.body_limit = bytes)
    }

    /// How long reading the body may take, from its first byte to its last (default: 5 s per
    /// started MiB of the [`body_limit`](Self::body_limit), see [`default_body_timeout`]). A body
    /// not complete by then is refused with 408 and nothing of the request is recorded.
    ///
    /// The deadline matters beyond freeing the connection: the request is decided when its body
    /// is complete (timestamp window, key status), so a client holding its body back gains nothing,
    /// but it holds a buffer of up to the limit meanwhile.
    ///
    /// [`default_body_timeout`]: super::default_body_timeout
    pub fn body_timeout(self, timeout: Duration) -> Self {
        self.configure(|v| v.body_timeout = Some(timeout))
    }
}

impl<Sch, M> Clone for VerifyLayer<Sch, M> {
    fn clone(&self) -> Self {
        Self {
            verifier: Arc::clone(&self.verifier),
            _mode: PhantomData,
        }
    }
}

impl<Sch: fmt::Debug, M> fmt::Debug for VerifyLayer<Sch, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyLayer")
            .field("verifier", &self.verifier)
            .finish()
    }
}

impl<S, Sch, M> Layer<S> for VerifyLayer<Sch, M> {
    type Service = Verify<S, Sch, M>;

    fn layer(&self, inner: S) -> Self::Service {
        Verify {
            inner,
            verifier: Arc::clone(&self.verifier),
            _mode: PhantomData,
        }
    }
}

/// The service built by [`VerifyLayer`].
pub struct Verify<S, Sch, M> {
    inner: S,
    verifier: Arc<Verifier<Sch>>,
    _mode: PhantomData<fn() -> M>,
}

impl<S: Clone, Sch, M> Clone for Verify<S, Sch, M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            verifier: Arc::clone(&self.verifier),
            _mode: PhantomData,
        }
    }
}

impl<S: fmt::Debug, Sch: fmt::Debug, M> fmt::Debug for Verify<S, Sch, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verify")
            .field("inner", &self.inner)
            .field("verifier", &self.verifier)
            .finish()
    }
}

impl<S, Sch, M> Verify<S, Sch, M> {
    /// Takes the readied inner service, leaving a fresh clone in its place.
    fn take_inner(&mut self) -> S
    where
        S: Clone,
    {
        let clone = self.inner.clone();
        std::mem::replace(&mut self.inner, clone)
    }
}

impl<S, Sch, ReqBody, ResBody> Service<Request<ReqBody>> for Verify<S, Sch, BodySigned>
where
    Sch: Scheme,
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let mut inner = self.take_inner();
        let verifier = Arc::clone(&self.verifier);
        ResponseFuture::new(async move {
            let (mut parts, body) = request.into_parts();
            let declared = parts
                .headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let body = Streamed {
                declared_len: declared,
                body,
                limit: verifier.body_limit,
                timeout: verifier.body_timeout(),
            };
            let checked = verifier.check(&parts, body).await;
            match checked {
                Ok((verified, bytes)) => {
                    parts.extensions.insert(verified);
                    let request = Request::from_parts(parts, VerifiedBody::new(bytes));
                    Ok(inner.call(request).await?.map(ResponseBody::inner))
                }
                Err(rejection) => Ok(verifier.respond(&rejection, &parts)),
            }
        })
    }
}

impl<S, Sch, ReqBody, ResBody> Service<Request<ReqBody>> for Verify<S, Sch, HeadersOnly>
where
    Sch: Scheme,
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
        let mut inner = self.take_inner();
        let verifier = Arc::clone(&self.verifier);
        ResponseFuture::new(async move {
            let (mut parts, body) = request.into_parts();
            let checked = verifier.check(&parts, NoBody).await;
            match checked {
                Ok((verified, _)) => {
                    parts.extensions.insert(verified);
                    let request = Request::from_parts(parts, body);
                    Ok(inner.call(request).await?.map(ResponseBody::inner))
                }
                Err(rejection) => Ok(verifier.respond(&rejection, &parts)),
            }
        })
    }
}

type BoxResponseFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send + 'static>>;

/// Response future of [`Verify`].
pub struct ResponseFuture<B, E> {
    inner: BoxResponseFuture<B, E>,
}

impl<B, E> ResponseFuture<B, E> {
    pub(crate) fn new(
        future: impl Future<Output = Result<Response<ResponseBody<B>>, E>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Box::pin(future),
        }
    }
}

impl<B, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<B, E> fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture(..)")
    }
}

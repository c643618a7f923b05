use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use pin_project_lite::pin_project;

use http::{Request, Response};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::body::ResponseBody;
use super::counters::Counters;
use super::read::declared_len;
use super::scheme::{BodyMode, BodySigned, Scheme};
use super::verified::Unverified;
use super::verifier::{Accepted, Delivery, Refused, Source, Verifier, read_refusal};
use crate::BoxFuture;
use crate::clock::Clock;
use crate::error::BoxError;
use crate::keys::KeyStore;
use crate::rejection::{Rejection, RejectionKind, Responder};
use crate::replay::{ReplayStore, Reservation, Ticket};

/// A layer that verifies requests with scheme `S`.
///
/// Every scheme's layer is this type: each scheme module names its own alias
/// ([`HumanosVerifyLayer`](crate::humanos::HumanosVerifyLayer) is `VerifyLayer<Humanos>`), and a
/// scheme written outside the crate gets the same layer with [`VerifyLayer::with_scheme`] or
/// [`Scheme::layer`]. Its options
/// are the builder methods below, and [`map_scheme`](Self::map_scheme) for the scheme's own.
pub struct VerifyLayer<S> {
    verifier: Arc<Verifier<S>>,
}

impl<S: Scheme> VerifyLayer<S> {
    /// A layer verifying requests with `scheme`, looking keys up in `keys` (also
    /// [`Scheme::layer`]).
    ///
    /// For a scheme that names no key (a webhook endpoint), `keys` may be a [`Key`](crate::Key)
    /// itself: it answers every lookup with itself.
    pub fn with_scheme(scheme: S, keys: impl KeyStore) -> Self {
        Self {
            verifier: Arc::new(Verifier::new(scheme, keys)),
        }
    }

    /// The shared verification pipeline, for checking requests without a server.
    pub fn verifier(&self) -> &Verifier<S> {
        &self.verifier
    }
}

impl<S: Scheme + Clone> VerifyLayer<S> {
    fn configure(mut self, change: impl FnOnce(&mut Verifier<S>)) -> Self {
        change(Arc::make_mut(&mut self.verifier));
        self
    }

    /// Changes the scheme's own settings, for options of a scheme this crate does not ship (the
    /// crate's schemes offer theirs as methods of their layer).
    pub fn map_scheme(self, change: impl FnOnce(&mut S)) -> Self {
        self.configure(|v| change(&mut v.scheme))
    }

    /// Where "now" comes from (default: the system clock).
    pub fn clock(self, clock: impl Clock) -> Self {
        self.configure(|v| v.set_clock(clock))
    }

    /// Looks keys up in `keys` instead of the store the layer was built with.
    pub fn key_store(self, keys: impl KeyStore) -> Self {
        self.configure(|v| v.set_key_store(keys))
    }

    /// Remembers each accepted request's nonce in `store` and refuses a second use.
    pub fn replay_store(self, store: impl ReplayStore) -> Self {
        self.configure(|v| v.set_replay_store(store))
    }

    /// Replaces the default rejection responses.
    pub fn responder(self, responder: impl Responder) -> Self {
        self.configure(|v| v.set_responder(responder))
    }

    /// For a scheme that delivers events (a webhook), how long a delivery stays reserved for the
    /// copy being handled (default 60 s): other copies get 409 meanwhile. Set it above the
    /// longest time your handler takes; a reservation whose handling never ends (the process
    /// stopped, the connection was dropped mid-way) lapses after it, and the sender's retry is
    /// then handled.
    pub fn delivery_hold(self, hold: Duration) -> Self {
        self.configure(|v| v.delivery_hold = hold)
    }

    /// Report-only mode, to watch what would be refused before enforcing (off by default).
    ///
    /// Requests are checked, and refusals logged and [counted](Self::counters), as usual; but a
    /// refused request is handed to the inner service instead of answered, with an
    /// [`Unverified`](crate::pipeline::Unverified) extension (the scheme, the refusal, the key id
    /// it claimed) and no [`Verified`](crate::Verified). With axum, the `Verified<T>` extractor
    /// answers such a request as the layer would have (the refusal's status and `error` code),
    /// and `Option<Verified<T>>` is `None` for it, so a handler can serve both.
    ///
    /// Some refusals still answer: an unavailable key or replay store (503: a request is never
    /// let through because a store failed), and for body-signing schemes a body over the limit,
    /// late or unreadable (413, 408, 400: there is no body to hand on). A body-signing layer reads
    /// the body before the check in this mode, to hand it on whatever the verdict. A verified
    /// webhook delivery is handled as usual: a copy of a handled one is acknowledged, a copy of
    /// one in flight gets 409.
    pub fn report_only(self) -> Self {
        self.configure(|v| v.report_only = true)
    }

    /// Counts accepted, duplicate and refused requests (by kind) of this layer's scheme into
    /// `counters`, which may be shared with other layers (see [`Counters`]). Layers of one scheme
    /// count together, under its [name](crate::pipeline::Scheme::name); see
    /// [`counters_as`](Self::counters_as) to count one apart.
    pub fn counters(self, counters: Counters) -> Self {
        self.configure(|v| v.set_counters(&counters, None))
    }

    /// [`counters`](Self::counters), under `name` instead of the scheme's name: two layers of one
    /// scheme (two GitHub organisations' receivers, or Standard Webhooks' HMAC and Ed25519
    /// endpoints) then have a row each, and `name` is their `scheme` label with the `metrics`
    /// feature. Layers given the same name count together.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use tower_hmac::github::GitHubVerifyLayer;
    /// use tower_hmac::pipeline::Counters;
    /// use tower_hmac::{Key, RejectionKind, Secret};
    ///
    /// let counters = Counters::new();
    /// let key = |secret| Key::new("github", Secret::new(secret).unwrap());
    /// let acme = GitHubVerifyLayer::new(key("acme's secret"))
    ///     .counters_as(counters.clone(), "github-acme");
    /// let other = GitHubVerifyLayer::new(key("other secret"))
    ///     .counters_as(counters.clone(), "github-other");
    ///
    /// let (forged, ()) = http::Request::post("/hook")
    ///     .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
    ///     .body(())
    ///     .unwrap()
    ///     .into_parts();
    /// assert!(acme.verifier().verify(&forged, b"{}").await.is_err());
    ///
    /// let acme_counts = counters.get("github-acme").unwrap();
    /// assert_eq!(acme_counts.refused(RejectionKind::InvalidSignature), 1);
    /// assert_eq!(counters.get("github-other").unwrap().refused_total(), 0);
    /// assert!(counters.get("github").is_none());
    /// # }
    /// ```
    pub fn counters_as(self, counters: Counters, name: &'static str) -> Self {
        self.configure(|v| v.set_counters(&counters, Some(name)))
    }

    /// **Test use only** (feature `mock`): every response carries an
    /// [`Outcome`](crate::pipeline::Outcome) in its extensions, and with
    /// [`Explain::with_messages`](crate::pipeline::Explain::with_messages) a refusal's also says
    /// what the server signed. This is how the mock server logs its requests and, behind its
    /// `--explain` flag, tells why one was refused; see [`Explain`](crate::pipeline::Explain)
    /// for what it reveals. With messages, a body-signing layer reads the body before the check.
    #[cfg(feature = "mock")]
    pub fn explain(self, explain: super::explain::Explain) -> Self {
        self.configure(|v| v.explain = Some(explain))
    }
}

impl<S: Scheme<Body = BodySigned> + Clone> VerifyLayer<S> {
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

impl<S> Clone for VerifyLayer<S> {
    fn clone(&self) -> Self {
        Self {
            verifier: Arc::clone(&self.verifier),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for VerifyLayer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyLayer")
            .field("verifier", &self.verifier)
            .finish()
    }
}

impl<Inner, S> Layer<Inner> for VerifyLayer<S> {
    type Service = Verify<Inner, S>;

    fn layer(&self, inner: Inner) -> Self::Service {
        Verify {
            inner,
            verifier: Arc::clone(&self.verifier),
        }
    }
}

/// The service built by [`VerifyLayer`].
pub struct Verify<Inner, S> {
    inner: Inner,
    verifier: Arc<Verifier<S>>,
}

impl<Inner, S> Verify<Inner, S> {
    /// The inner service.
    pub fn get_ref(&self) -> &Inner {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut Inner {
        &mut self.inner
    }

    /// Takes the inner service back.
    pub fn into_inner(self) -> Inner {
        self.inner
    }

    /// Takes the readied inner service, leaving a fresh clone in its place.
    fn take_inner(&mut self) -> Inner
    where
        Inner: Clone,
    {
        let clone = self.inner.clone();
        std::mem::replace(&mut self.inner, clone)
    }
}

impl<Inner: Clone, S> Clone for Verify<Inner, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            verifier: Arc::clone(&self.verifier),
        }
    }
}

impl<Inner: fmt::Debug, S: fmt::Debug> fmt::Debug for Verify<Inner, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verify")
            .field("inner", &self.inner)
            .field("verifier", &self.verifier)
            .finish()
    }
}

/// The request body type the inner service of a `Verify<_, S>` receives for a request body `B`.
pub type InnerBody<S, B> = <<S as Scheme>::Body as BodyMode>::Inner<B>;

impl<Inner, S, ReqBody, ResBody> Service<Request<ReqBody>> for Verify<Inner, S>
where
    S: Scheme,
    Inner: Service<Request<InnerBody<S, ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    Inner::Future: Send + 'static,
    Inner::Error: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = Inner::Error;
    type Future = ResponseFuture<Inner::Future, ResBody, Inner::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        // A header-only request whose stores answer at once is checked here, and an accepted one
        // handed to the readied inner service now: no future of the check is kept. So is a
        // request with nothing to read to a body-signing layer: a GET or `Content-Length: 0`,
        // whose body hyper hands on already at its end. One that declares another length is read
        // as before (and refused as too large when it declares more than the limit).
        let empty_body = S::Body::READS_BODY
            && body.is_end_stream()
            && declared_len(&parts.headers).is_none_or(|len| len == 0);
        if let Some(checked) = self.verifier.check_now(&parts, empty_body) {
            return self.checked_now(parts, body, checked);
        }
        let mut inner = self.take_inner();
        let verifier = Arc::clone(&self.verifier);
        // The parts and the body are taken apart out here: a request taken apart in the future
        // would keep its room there as well as theirs.
        ResponseFuture::boxed(Box::pin(async move {
            let (read, kept) = S::Body::split(body);
            // Report-only mode and explanations keep the body whatever the verdict: it is read
            // first, within the same limit and deadline.
            let mut held = None;
            let source = match read {
                Some(body) if verifier.holds_body() => {
                    let declared = declared_len(&parts.headers);
                    let timeout = Some(verifier.body_timeout());
                    match super::read(body, declared, verifier.body_limit, timeout, None).await {
                        Ok(read) => {
                            held = Some(read.bytes.clone());
                            Source::Held(read.bytes)
                        }
                        Err(error) => {
                            let rejection = read_refusal(error);
                            rejection.log(verifier.scheme().name(), None);
                            verifier.count_refusal(&rejection);
                            let refused = Refused {
                                rejection,
                                key_id: None,
                            };
                            return Ok(verifier.refuse(refused, &parts, None).await);
                        }
                    }
                }
                Some(body) => Source::Streamed {
                    declared: declared_len(&parts.headers),
                    body,
                },
                None => Source::Untouched,
            };
            let accepted = match verifier.check(&parts, source).await {
                Ok(accepted) => accepted,
                Err(refused) => {
                    let store_failed = refused.rejection.kind() == RejectionKind::StoreUnavailable;
                    if !verifier.report_only || store_failed {
                        return Ok(verifier.refuse(refused, &parts, held).await);
                    }
                    // Report-only: handed on, marked unverified.
                    let outcome = verifier.outcome_of(&refused);
                    parts.extensions.insert(Unverified {
                        scheme: verifier.scheme().name(),
                        rejection: refused.rejection,
                        key_id: refused.key_id,
                    });
                    let body = S::Body::hand_on(kept, held.unwrap_or_default());
                    let response = inner.call(Request::from_parts(parts, body)).await?;
                    return Ok(with_outcome(response.map(ResponseBody::inner), outcome));
                }
            };
            if let Some(answer) = accepted.answer {
                let outcome = verifier.accepted(&accepted.verified.key_id);
                return Ok(with_outcome(
                    (*answer).map(ResponseBody::rejection),
                    outcome,
                ));
            }
            let reserved = match accepted.delivery {
                None => None,
                Some(delivery) => match verifier.reserve(&delivery).await {
                    Ok(Reservation::New(ticket)) => Some(Reserved {
                        verifier: Arc::clone(&verifier),
                        delivery,
                        ticket,
                        settled: false,
                    }),
                    Ok(Reservation::Done) => {
                        if let Some(counters) = verifier.counters() {
                            counters.duplicate();
                        }
                        let outcome = verifier.duplicate_outcome(&accepted.verified.key_id);
                        return Ok(with_outcome(already_handled(), outcome));
                    }
                    Ok(Reservation::InFlight) => {
                        let rejection = Rejection::new(RejectionKind::DeliveryInFlight);
                        rejection.log(verifier.scheme().name(), Some(&accepted.verified.key_id));
                        verifier.count_refusal(&rejection);
                        let refused = Refused {
                            rejection,
                            key_id: Some(Arc::clone(&accepted.verified.key_id)),
                        };
                        return Ok(verifier.refuse(refused, &parts, None).await);
                    }
                    Err(rejection) => {
                        verifier.count_refusal(&rejection);
                        let refused = Refused {
                            rejection,
                            key_id: Some(Arc::clone(&accepted.verified.key_id)),
                        };
                        return Ok(verifier.refuse(refused, &parts, None).await);
                    }
                },
            };
            let outcome = verifier.accepted(&accepted.verified.key_id);
            parts.extensions.insert(accepted.verified);
            let body = S::Body::hand_on(kept, accepted.body);
            let response = inner.call(Request::from_parts(parts, body)).await;
            if let Some(reserved) = reserved {
                // A failure is never remembered as done: the sender's retry is handled.
                let handled = matches!(&response, Ok(r) if r.status().is_success());
                reserved.settle(handled).await;
            }
            inner_response(response, outcome)
        }))
    }
}

impl<Inner, S: Scheme> Verify<Inner, S> {
    /// The answer to a request checked in `call`: the readied inner service's, or the layer's.
    fn checked_now<ReqBody, ResBody>(
        &mut self,
        mut parts: http::request::Parts,
        body: ReqBody,
        checked: Result<Accepted<S::Identity>, Refused>,
    ) -> ResponseFuture<Inner::Future, ResBody, Inner::Error>
    where
        Inner: Service<Request<InnerBody<S, ReqBody>>, Response = Response<ResBody>>,
        ReqBody: Send,
    {
        let accepted = match checked {
            Ok(accepted) => accepted,
            Err(refused) => {
                let response = self.verifier.respond(&refused.rejection, &parts);
                return ResponseFuture::answered(response);
            }
        };
        let outcome = self.verifier.accepted(&accepted.verified.key_id);
        if let Some(answer) = accepted.answer {
            return ResponseFuture::answer(*answer, outcome);
        }
        parts.extensions.insert(accepted.verified);
        let (_, kept) = S::Body::split(body);
        let body = S::Body::hand_on(kept, accepted.body);
        ResponseFuture::calling(self.inner.call(Request::from_parts(parts, body)), outcome)
    }
}

/// What a response tells a test tool (feature `mock`); nothing without it.
#[cfg(feature = "mock")]
type MaybeOutcome = Option<super::explain::Outcome>;
#[cfg(not(feature = "mock"))]
type MaybeOutcome = NoOutcome;

/// Without the `mock` feature, responses carry no outcome.
#[cfg(not(feature = "mock"))]
#[derive(Default)]
struct NoOutcome;

#[cfg(feature = "mock")]
fn with_outcome<B>(mut response: Response<B>, outcome: MaybeOutcome) -> Response<B> {
    if let Some(outcome) = outcome {
        response.extensions_mut().insert(outcome);
    }
    response
}

#[cfg(not(feature = "mock"))]
fn with_outcome<B>(response: Response<B>, _: MaybeOutcome) -> Response<B> {
    response
}

impl<S: Scheme> Verifier<S> {
    /// The response for a refusal the layer answers, with its outcome for a test tool.
    async fn refuse<B>(
        &self,
        refused: Refused,
        request: &http::request::Parts,
        held: Option<Bytes>,
    ) -> Response<ResponseBody<B>> {
        let response = self.respond(&refused.rejection, request);
        let response = response.map(ResponseBody::rejection);
        #[cfg(feature = "mock")]
        if let Some(explain) = self.explain {
            let body = match held.filter(|_| explain.messages) {
                Some(body) => Some(body),
                // Header-only schemes: the message has no body.
                None if explain.messages && !S::Body::READS_BODY => Some(Bytes::new()),
                None => None,
            };
            // Boxed: only a test tool's refusals take this way, and every request's future would
            // otherwise have room for it.
            let explanation = match body {
                Some(body) => Box::pin(self.explanation(request, body))
                    .await
                    .map(Arc::new),
                None => None,
            };
            let outcome = super::explain::Outcome {
                scheme: self.scheme().name(),
                verdict: super::explain::Verdict::Refused(refused.rejection),
                key_id: refused.key_id,
                explanation,
            };
            return with_outcome(response, Some(outcome));
        }
        let _ = (refused, held);
        response
    }

    #[cfg(feature = "mock")]
    fn outcome_of(&self, refused: &Refused) -> MaybeOutcome {
        self.explain.map(|_| super::explain::Outcome {
            scheme: self.scheme().name(),
            verdict: super::explain::Verdict::Refused(refused.rejection.clone()),
            key_id: refused.key_id.clone(),
            explanation: None,
        })
    }

    #[cfg(not(feature = "mock"))]
    fn outcome_of(&self, _: &Refused) -> MaybeOutcome {
        NoOutcome
    }

    /// Counts an accepted request; its outcome, for a test tool.
    fn accepted(&self, key_id: &Arc<str>) -> MaybeOutcome {
        if let Some(counters) = self.counters() {
            counters.accepted();
        }
        self.accepted_outcome(key_id)
    }

    #[cfg(feature = "mock")]
    fn accepted_outcome(&self, key_id: &Arc<str>) -> MaybeOutcome {
        self.explain.map(|_| super::explain::Outcome {
            scheme: self.scheme().name(),
            verdict: super::explain::Verdict::Accepted,
            key_id: Some(Arc::clone(key_id)),
            explanation: None,
        })
    }

    #[cfg(not(feature = "mock"))]
    fn accepted_outcome(&self, _: &Arc<str>) -> MaybeOutcome {
        NoOutcome
    }

    #[cfg(feature = "mock")]
    fn duplicate_outcome(&self, key_id: &Arc<str>) -> MaybeOutcome {
        self.explain.map(|_| super::explain::Outcome {
            scheme: self.scheme().name(),
            verdict: super::explain::Verdict::Duplicate,
            key_id: Some(Arc::clone(key_id)),
            explanation: None,
        })
    }

    #[cfg(not(feature = "mock"))]
    fn duplicate_outcome(&self, _: &Arc<str>) -> MaybeOutcome {
        NoOutcome
    }
}

/// A delivery reserved for the copy being handled. Settled by the inner service's answer; if the
/// handling is dropped first (the sender hung up, the server is shutting down), the handler did
/// not finish, so the reservation is released as failed on the runtime: the sender's retry is
/// then handled at once rather than refused as in flight until the hold lapses.
struct Reserved<S: Scheme> {
    verifier: Arc<Verifier<S>>,
    delivery: Delivery,
    ticket: Ticket,
    settled: bool,
}

impl<S: Scheme> Reserved<S> {
    /// Settles the reservation, at once when the store answers at once.
    async fn settle(mut self, handled: bool) {
        self.settled = true;
        let (verifier, delivery, ticket) = (&self.verifier, &self.delivery, self.ticket);
        if !verifier.settle_now(delivery, ticket, handled) {
            verifier.settle(delivery, ticket, handled).await;
        }
    }
}

impl<S: Scheme> Drop for Reserved<S> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // Without a runtime (it is shutting down) the reservation lapses after its hold.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (verifier, delivery, ticket) =
                (Arc::clone(&self.verifier), self.delivery, self.ticket);
            runtime.spawn(async move { verifier.settle(&delivery, ticket, false).await });
        }
    }
}

/// The answer to a copy of a delivery an earlier copy of which was handled: 200, without the inner
/// service.
fn already_handled<B>() -> Response<ResponseBody<B>> {
    let body = serde_json::json!({
        "status": "duplicate",
        "message": "this delivery was already handled",
    });
    let mut response = Response::new(ResponseBody::rejection(body.to_string().into()));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

pin_project! {
    /// Response future of [`Verify`].
    ///
    /// A header-only request whose stores answer at once (keys in memory, an in-process replay
    /// store) is checked in `call`, and so is one with no body to read (a GET, `Content-Length:
    /// 0`) to a body-signing layer: its future is the inner service's, kept in place, or the
    /// layer's answer. Any other request is checked and handled in one boxed future: it waits on
    /// its body or a store.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B, E> {
        /// The check and the inner service, in one future.
        Boxed {
            future: BoxFuture<'static, Result<Response<ResponseBody<B>>, E>>,
        },
        /// The inner service's answer to a request accepted in `call`.
        Calling {
            #[pin]
            future: F,
            outcome: MaybeOutcome,
        },
        /// The layer's own answer.
        Answered {
            response: Option<(Response<Bytes>, MaybeOutcome)>,
        },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    fn boxed(future: BoxFuture<'static, Result<Response<ResponseBody<B>>, E>>) -> Self {
        let state = State::Boxed { future };
        Self { state }
    }

    fn calling(future: F, outcome: MaybeOutcome) -> Self {
        let state = State::Calling { future, outcome };
        Self { state }
    }

    /// A future answering `response` (a `ResponseBody::rejection`) at once.
    pub(crate) fn answered(response: Response<Bytes>) -> Self {
        Self::answer(response, MaybeOutcome::default())
    }

    fn answer(response: Response<Bytes>, outcome: MaybeOutcome) -> Self {
        let response = Some((response, outcome));
        let state = State::Answered { response };
        Self { state }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Boxed { future } => future.as_mut().poll(cx),
            StateProj::Calling { future, outcome } => {
                let response = ready!(future.poll(cx));
                Poll::Ready(inner_response(response, std::mem::take(outcome)))
            }
            StateProj::Answered { response } => match response.take() {
                Some((response, outcome)) => {
                    let response = with_outcome(response.map(ResponseBody::rejection), outcome);
                    Poll::Ready(Ok(response))
                }
                // Polled again after it answered (a caller's error): pending, as a fused future
                // is, rather than a panic as from an `async` block.
                None => Poll::Pending,
            },
        }
    }
}

/// The inner service's answer, as the layer gives it.
fn inner_response<B, E>(
    response: Result<Response<B>, E>,
    outcome: MaybeOutcome,
) -> Result<Response<ResponseBody<B>>, E> {
    Ok(with_outcome(response?.map(ResponseBody::inner), outcome))
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture(..)")
    }
}

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Buf, Bytes, BytesMut};
use http::request::Parts;
use http::{HeaderValue, Response};
use http_body::Body;
use http_body_util::{LengthLimitError, Limited};

use super::body::ResponseBody;
use super::scheme::{Proof, Scheme};
use super::verified::{MatchedSecret, Verified};
use crate::clock::{Clock, SystemClock};
use crate::error::BoxError;
use crate::keys::{Key, KeyStore};
use crate::mac::{MacInput, MacStates, ct_eq_secret};
use crate::rejection::{DefaultResponder, Rejection, RejectionContext, RejectionKind, Responder};
use crate::replay::{ReplayKey, ReplayStore};

/// Default body limit of body-signing layers: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The default body deadline, per started MiB of the body limit (and at least this): 5 s, so a
/// client must send at least about 1.6 Mbit/s. Set another with `body_timeout` on the layer.
pub const DEFAULT_BODY_TIMEOUT_PER_MIB: Duration = Duration::from_secs(5);

/// The default body deadline for a body limit of `limit` bytes.
pub fn default_body_timeout(limit: usize) -> Duration {
    let mibs = limit.div_ceil(1024 * 1024).max(1);
    DEFAULT_BODY_TIMEOUT_PER_MIB.saturating_mul(u32::try_from(mibs).unwrap_or(u32::MAX))
}

/// The verification pipeline of one scheme with its stores, clock and responder.
///
/// Layers share one `Verifier` between all their services. [`Verifier::verify`] runs the whole
/// check on a request's parts and body without any server, which is how the schemes are
/// unit-tested.
pub struct Verifier<Sch> {
    pub(crate) scheme: Sch,
    keys: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    replay: Option<Arc<dyn ReplayStore>>,
    responder: Arc<dyn Responder>,
    challenge: HeaderValue,
    pub(crate) body_limit: usize,
    /// `None`: derived from the limit ([`default_body_timeout`]).
    pub(crate) body_timeout: Option<Duration>,
    pub(crate) signs_body: bool,
}

impl<Sch: Scheme> Verifier<Sch> {
    /// A verifier with the system clock, no replay store, the default responder and a 1 MiB body
    /// limit. Layers build it, because they know whether the scheme signs the body.
    pub(crate) fn new(scheme: Sch, keys: impl KeyStore) -> Self {
        Self {
            challenge: scheme.challenge(),
            scheme,
            keys: Arc::new(keys),
            clock: Arc::new(SystemClock),
            replay: None,
            responder: Arc::new(DefaultResponder),
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: None,
            signs_body: true,
        }
    }

    /// How long reading the body may take: the configured deadline, or the default for the limit.
    pub(crate) fn body_timeout(&self) -> Duration {
        self.body_timeout
            .unwrap_or_else(|| default_body_timeout(self.body_limit))
    }

    pub(crate) fn set_clock(&mut self, clock: impl Clock) {
        self.clock = Arc::new(clock);
    }

    pub(crate) fn set_replay_store(&mut self, store: impl ReplayStore) {
        self.replay = Some(Arc::new(store));
    }

    pub(crate) fn set_responder(&mut self, responder: impl Responder) {
        self.responder = Arc::new(responder);
    }

    /// The scheme this verifier runs.
    pub fn scheme(&self) -> &Sch {
        &self.scheme
    }

    /// Checks a request whose body is already in memory. Header-only layers ignore `body`.
    pub async fn verify(
        &self,
        request: &Parts,
        body: &[u8],
    ) -> Result<Verified<Sch::Identity>, Rejection> {
        let checked = if self.signs_body {
            self.check(request, InMemory(body)).await
        } else {
            self.check(request, NoBody).await
        };
        checked.map(|(verified, ())| verified)
    }

    /// Runs the pipeline; `body` is read (and fed to the MACs) once the headers and the key were
    /// accepted.
    pub(crate) async fn check<R: ReadBody>(
        &self,
        request: &Parts,
        body: R,
    ) -> Result<(Verified<Sch::Identity>, R::Output), Rejection> {
        let credentials = match self.scheme.credentials(request) {
            Ok(credentials) => credentials,
            Err(rejection) => {
                rejection.log(self.scheme.name(), None);
                return Err(rejection);
            }
        };
        match self.check_credentials(&credentials, body).await {
            Ok((key, secret, body)) => {
                let checked = secret.is_some();
                let verified = Verified {
                    key_id: key,
                    secret,
                    identity: self.scheme.identity(credentials, checked),
                };
                Ok((verified, body))
            }
            Err(rejection) => {
                rejection.log(self.scheme.name(), Some(self.scheme.key_id(&credentials)));
                Err(rejection)
            }
        }
    }

    async fn check_credentials<R: ReadBody>(
        &self,
        credentials: &Sch::Credentials,
        body: R,
    ) -> Result<(Arc<str>, Option<MatchedSecret>, R::Output), Rejection> {
        // Everything decided here, before the body, is only a first check that spares the body
        // read; what decides is taken again as of acceptance, below.
        let now = self.clock.now();
        self.scheme.check_fresh(credentials, now)?;

        let key_id = self.scheme.key_id(credentials);
        let found = self
            .keys
            .get(key_id)
            .await
            .map_err(Rejection::store_failed)?;
        let (key, refusal) = Key::for_check(found.as_deref(), now);
        let proof = self.scheme.proof(credentials, key)?;

        let candidates = key.candidates(now);
        let mut macs = MacStates::new(self.scheme.body_separator());
        if let Proof::Mac(_) = proof {
            for &(index, secret) in &candidates {
                macs.push(index, secret.expose(), |mac: &mut MacInput<'_>| {
                    self.scheme.message_prefix(credentials, mac)
                });
            }
        }

        // A request already known to be refused is read only for the MAC work (an unknown key
        // must cost what a known one does); its bytes are not kept.
        let read = body.read(&mut macs, refusal.is_none()).await?;

        let matched = match proof {
            Proof::Mac(tag) => macs.finish(
                |mac: &mut MacInput<'_>| self.scheme.message_suffix(credentials, mac),
                tag,
            ),
            Proof::Secret(given) => candidates
                .iter()
                .find(|(_, secret)| ct_eq_secret(given, secret.expose()))
                .and_then(|&(index, _)| index),
            Proof::Unsigned => None,
        };
        if let Some(kind) = refusal {
            return Err(Rejection::new(kind));
        }
        let matched = match (proof, matched) {
            (Proof::Unsigned, _) => None,
            (_, Some(index)) => Some(index),
            (_, None) => return Err(Rejection::new(RejectionKind::InvalidSignature)),
        };

        // The request is accepted now, not when its headers arrived: a client that held its body
        // back must not carry a timestamp, a key or a secret past the end of its validity.
        let now = if read.waited {
            let now = self.clock.now();
            self.scheme.check_fresh(credentials, now)?;
            self.recheck_key(key, matched, now).await?;
            now
        } else {
            now
        };

        if let (Some(store), Some(nonce)) = (&self.replay, self.scheme.replay_nonce(credentials)) {
            let name = self.scheme.name();
            let ttl = self.scheme.replay_ttl(credentials, now);
            let nonce_record = ReplayKey::new(name, key_id, nonce);
            // The verified MAC is recorded too, unless it is the nonce already: a signed message
            // is then accepted once, even where the scheme's encoding lets the same message be
            // sent with another nonce (Inqud signs `body ++ salt` with nothing between, so bytes
            // moved across that boundary give a new salt under the same signature).
            let mac_record = match proof {
                Proof::Mac(tag) if nonce != tag.as_bytes() => {
                    Some(ReplayKey::for_mac(name, key_id, tag.as_bytes()))
                }
                _ => None,
            };
            for record in std::iter::once(&nonce_record).chain(mac_record.as_ref()) {
                let first_use = store
                    .insert_if_absent(record, ttl)
                    .await
                    .map_err(Rejection::store_failed)?;
                if !first_use {
                    return Err(Rejection::new(RejectionKind::Replayed));
                }
            }
        }
        // Only a live key whose proof matched gets here (a refusal returned above), so a policy
        // refusal is never an answer to a caller without the secret.
        self.scheme.authorize(credentials, key)?;
        let matched = matched.map(|index| MatchedSecret {
            index,
            label: key.secrets().get(index).and_then(|s| s.label_arc()),
        });
        Ok((key.id_arc(), matched, read.output))
    }

    /// After a body read that had to wait: the key is looked up again, and it must still be live
    /// at `now` and still hold, live, the secret that matched (`matched`, its position in `key`,
    /// the key as found before the read). Revoking a key, ending its life or retiring a secret
    /// while a client holds its body back thus refuses the request.
    async fn recheck_key(
        &self,
        key: &Key,
        matched: Option<usize>,
        now: SystemTime,
    ) -> Result<(), Rejection> {
        let current = self
            .keys
            .get(key.id())
            .await
            .map_err(Rejection::store_failed)?;
        let (current, refusal) = Key::for_check(current.as_deref(), now);
        if let Some(kind) = refusal {
            return Err(Rejection::new(kind));
        }
        let Some(index) = matched else {
            return Ok(());
        };
        let secret = key.secrets().get(index).map(|s| s.secret().expose());
        let still_live = secret.is_some_and(|secret| {
            current
                .secrets()
                .iter()
                .any(|s| s.is_live_at(now) && ct_eq_secret(secret, s.secret().expose()))
        });
        if still_live {
            Ok(())
        } else {
            Err(Rejection::new(RejectionKind::InvalidSignature))
        }
    }

    /// The response for `rejection`, built by the configured responder.
    pub(crate) fn respond<B>(
        &self,
        rejection: &Rejection,
        request: &Parts,
    ) -> Response<ResponseBody<B>> {
        let context = RejectionContext {
            request,
            challenge: &self.challenge,
        };
        self.responder
            .respond(rejection, &context)
            .map(ResponseBody::rejection)
    }
}

/// What reading a body gave: the output for the inner service, and whether the read had to wait
/// for the client (after which the request is decided again, as of the end of the read).
pub(crate) struct Read<T> {
    pub(crate) output: T,
    pub(crate) waited: bool,
}

/// Where the verifier gets the body from. The reader feeds every chunk to the MACs as it arrives.
pub(crate) trait ReadBody: Send {
    /// What the inner service gets afterwards.
    type Output: Send;

    /// Reads the body into the MACs; keeps its bytes only if `keep`.
    fn read(
        self,
        macs: &mut MacStates,
        keep: bool,
    ) -> impl Future<Output = Result<Read<Self::Output>, Rejection>> + Send;
}

/// A body already in memory ([`Verifier::verify`]).
pub(crate) struct InMemory<'a>(pub(crate) &'a [u8]);

impl ReadBody for InMemory<'_> {
    type Output = ();

    async fn read(self, macs: &mut MacStates, _keep: bool) -> Result<Read<()>, Rejection> {
        macs.update_body(self.0);
        Ok(Read {
            output: (),
            waited: false,
        })
    }
}

/// No body: header-only layers, whose request body is left alone.
pub(crate) struct NoBody;

impl ReadBody for NoBody {
    type Output = ();

    async fn read(self, _macs: &mut MacStates, _keep: bool) -> Result<Read<()>, Rejection> {
        Ok(Read {
            output: (),
            waited: false,
        })
    }
}

/// A request body read frame by frame: at most `limit` bytes of it, within `timeout`.
pub(crate) struct Streamed<B> {
    pub(crate) declared_len: Option<u64>,
    pub(crate) body: B,
    pub(crate) limit: usize,
    pub(crate) timeout: Duration,
}

impl<B> ReadBody for Streamed<B>
where
    B: Body + Send,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// The body in one buffer.
    type Output = Bytes;

    async fn read(self, macs: &mut MacStates, keep: bool) -> Result<Read<Bytes>, Rejection> {
        if self.declared_len.is_some_and(|len| len > self.limit as u64) {
            return Err(Rejection::new(RejectionKind::BodyTooLarge));
        }
        let mut body = pin!(Limited::new(self.body, self.limit));
        let mut held = Coalesced::new(self.declared_len, keep);
        let mut deadline = Deadline::new(self.timeout);
        let mut waited = false;
        loop {
            let frame = poll_fn(|cx| match body.as_mut().poll_frame(cx) {
                Poll::Ready(frame) => Poll::Ready(Ok(frame)),
                Poll::Pending => {
                    waited = true;
                    deadline.poll_expired(cx).map(Err)
                }
            })
            .await?;
            let Some(frame) = frame else { break };
            if deadline.is_past() {
                return Err(deadline.rejection());
            }
            if let Ok(mut data) = frame.map_err(body_error)?.into_data() {
                let chunk = data.copy_to_bytes(data.remaining());
                macs.update_body(&chunk);
                held.push(chunk);
            }
        }
        Ok(Read {
            output: held.finish(),
            waited,
        })
    }
}

/// The deadline of one body read. It starts with the read; the timer behind it is only set up
/// the first time the body is not ready, so a body that is already in memory costs no timer.
///
/// It runs on Tokio's timer when the read runs inside a Tokio runtime (every server this crate is
/// tested with). Elsewhere it is still checked each time a frame arrives, so a late body is
/// refused; a body that never arrives is then left to the server's own timeouts.
struct Deadline {
    timeout: Duration,
    started: Instant,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Deadline {
    fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            started: Instant::now(),
            timer: None,
        }
    }

    fn is_past(&self) -> bool {
        self.started.elapsed() > self.timeout
    }

    fn rejection(&self) -> Rejection {
        Rejection::with_message(
            RejectionKind::BodyTimeout,
            format!(
                "the request body did not arrive within {} ms",
                self.timeout.as_millis()
            ),
        )
    }

    /// Ready with the refusal once the deadline has passed; pending (and woken then) before.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<Rejection> {
        if self.is_past() {
            return Poll::Ready(self.rejection());
        }
        if self.timer.is_none() && tokio::runtime::Handle::try_current().is_ok() {
            let at = self.started.checked_add(self.timeout);
            self.timer = at.map(|at| Box::pin(tokio::time::sleep_until(at.into())));
        }
        let fired = self
            .timer
            .as_mut()
            .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
        if fired {
            Poll::Ready(self.rejection())
        } else {
            Poll::Pending
        }
    }
}

/// The bytes of a body as it is read, in one buffer whatever the framing.
///
/// Each frame a server hands on is a slice of its read buffer and keeps that whole buffer alive,
/// so a body sent as many small frames would hold many buffers if its frames were kept. A body
/// that arrives as one frame is kept as it is (one buffer, no copy); from the second frame on,
/// every byte is copied into one buffer, sized from `Content-Length` when the request declares
/// one. A request whose bytes are not kept (`keep` false) holds nothing.
struct Coalesced {
    keep: bool,
    declared_len: Option<u64>,
    first: Option<Bytes>,
    joined: BytesMut,
}

impl Coalesced {
    fn new(declared_len: Option<u64>, keep: bool) -> Self {
        Self {
            keep,
            declared_len,
            first: None,
            joined: BytesMut::new(),
        }
    }

    fn push(&mut self, chunk: Bytes) {
        if !self.keep || chunk.is_empty() {
            return;
        }
        if self.first.is_none() && self.joined.is_empty() {
            self.first = Some(chunk);
            return;
        }
        if let Some(first) = self.first.take() {
            // The limit was checked against the declared length before the read.
            let declared = self.declared_len.and_then(|len| usize::try_from(len).ok());
            let wanted = first.len().saturating_add(chunk.len());
            self.joined.reserve(declared.unwrap_or(0).max(wanted));
            self.joined.extend_from_slice(&first);
        }
        self.joined.extend_from_slice(&chunk);
    }

    fn finish(self) -> Bytes {
        match self.first {
            Some(first) => first,
            None => self.joined.freeze(),
        }
    }
}

fn body_error(error: BoxError) -> Rejection {
    if error.is::<LengthLimitError>() {
        Rejection::new(RejectionKind::BodyTooLarge)
    } else {
        Rejection::new(RejectionKind::BodyUnreadable)
    }
}

/// Reads at most `limit` bytes of `body` into one buffer. A declared or actual length over the
/// limit is 413; the rest of an oversized body is never buffered. Only the Spike exchange, whose
/// credentials are in the body itself, needs the whole body at once.
#[cfg(feature = "spike")]
pub(crate) async fn read_limited<B>(
    declared_len: Option<u64>,
    body: B,
    limit: usize,
) -> Result<Bytes, Rejection>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    if declared_len.is_some_and(|len| len > limit as u64) {
        return Err(Rejection::new(RejectionKind::BodyTooLarge));
    }
    match http_body_util::BodyExt::collect(Limited::new(body, limit)).await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => Err(body_error(error)),
    }
}

impl<Sch: Clone> Clone for Verifier<Sch> {
    fn clone(&self) -> Self {
        Self {
            scheme: self.scheme.clone(),
            keys: Arc::clone(&self.keys),
            clock: Arc::clone(&self.clock),
            replay: self.replay.clone(),
            responder: Arc::clone(&self.responder),
            challenge: self.challenge.clone(),
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
            signs_body: self.signs_body,
        }
    }
}

impl<Sch: fmt::Debug> fmt::Debug for Verifier<Sch> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme)
            .field("replay_store", &self.replay.is_some())
            .field("body_limit", &self.body_limit)
            .field("body_timeout", &self.body_timeout)
            .finish_non_exhaustive()
    }
}

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http::request::Parts;
use http::{HeaderValue, Response};
use http_body::Body;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

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
            signs_body: true,
        }
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

        let body = body.read(&mut macs).await?;

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
            (_, Some(index)) => Some(MatchedSecret {
                index,
                label: key.secrets().get(index).and_then(|s| s.label_arc()),
            }),
            (_, None) => return Err(Rejection::new(RejectionKind::InvalidSignature)),
        };

        if let (Some(store), Some(nonce)) = (&self.replay, self.scheme.replay_nonce(credentials)) {
            let name = self.scheme.name();
            let ttl = self.scheme.replay_ttl();
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
        Ok((key.id_arc(), matched, body))
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

/// Where the verifier gets the body from. The reader feeds every chunk to the MACs as it arrives.
pub(crate) trait ReadBody: Send {
    /// What the inner service gets afterwards.
    type Output: Send;

    fn read(
        self,
        macs: &mut MacStates,
    ) -> impl Future<Output = Result<Self::Output, Rejection>> + Send;
}

/// A body already in memory ([`Verifier::verify`]).
pub(crate) struct InMemory<'a>(pub(crate) &'a [u8]);

impl ReadBody for InMemory<'_> {
    type Output = ();

    async fn read(self, macs: &mut MacStates) -> Result<(), Rejection> {
        macs.update_body(self.0);
        Ok(())
    }
}

/// No body: header-only layers, whose request body is left alone.
pub(crate) struct NoBody;

impl ReadBody for NoBody {
    type Output = ();

    async fn read(self, _macs: &mut MacStates) -> Result<(), Rejection> {
        Ok(())
    }
}

/// A request body read frame by frame, at most `limit` bytes of it.
pub(crate) struct Streamed<B> {
    pub(crate) declared_len: Option<u64>,
    pub(crate) body: B,
    pub(crate) limit: usize,
}

impl<B> ReadBody for Streamed<B>
where
    B: Body + Send,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// The chunks as they arrived: the one buffer of the body, handed on without concatenation.
    type Output = Vec<Bytes>;

    async fn read(self, macs: &mut MacStates) -> Result<Vec<Bytes>, Rejection> {
        if self.declared_len.is_some_and(|len| len > self.limit as u64) {
            return Err(Rejection::new(RejectionKind::BodyTooLarge));
        }
        let mut body = std::pin::pin!(Limited::new(self.body, self.limit));
        let mut chunks = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(body_error)?;
            if let Ok(mut data) = frame.into_data() {
                let chunk = data.copy_to_bytes(data.remaining());
                macs.update_body(&chunk);
                if !chunk.is_empty() {
                    chunks.push(chunk);
                }
            }
        }
        Ok(chunks)
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
    match Limited::new(body, limit).collect().await {
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
            .finish_non_exhaustive()
    }
}

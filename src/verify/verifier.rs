use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Response};
use http_body::Body;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use super::body::ResponseBody;
use super::scheme::{Proof, Scheme};
use super::verified::{MatchedSecret, Verified};
use crate::clock::{Clock, SystemClock};
use crate::error::{BoxError, StoreError};
use crate::keys::{Key, KeyStatus, KeyStore};
use crate::mac::{ct_eq_bytes, hmac_sha256};
use crate::rejection::{DefaultResponder, Rejection, RejectionContext, RejectionKind, Responder};
use crate::replay::{ReplayKey, ReplayStore};
use crate::secret::Secret;

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
    placeholder: Arc<Key>,
}

impl<Sch: Scheme> Verifier<Sch> {
    /// A verifier with the system clock, no replay store, the default responder and a 1 MiB body
    /// limit.
    pub fn new(scheme: Sch, keys: impl KeyStore) -> Self {
        Self {
            challenge: scheme.challenge(),
            scheme,
            keys: Arc::new(keys),
            clock: Arc::new(SystemClock),
            replay: None,
            responder: Arc::new(DefaultResponder),
            body_limit: DEFAULT_BODY_LIMIT,
            placeholder: Arc::new(Key::new("", Secret::placeholder())),
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

    /// Checks a request whose body is already in memory. Header-only schemes ignore `body`.
    pub async fn verify(
        &self,
        request: &Parts,
        body: &[u8],
    ) -> Result<Verified<Sch::Identity>, Rejection> {
        self.check(request, move || std::future::ready(Ok(body)))
            .await
            .map(|(verified, _)| verified)
    }

    /// Runs the pipeline; `read_body` is called once the headers and the key were accepted.
    pub(crate) async fn check<F, Fut, D>(
        &self,
        request: &Parts,
        read_body: F,
    ) -> Result<(Verified<Sch::Identity>, D), Rejection>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<D, Rejection>>,
        D: AsRef<[u8]>,
    {
        let credentials = match self.scheme.credentials(request) {
            Ok(credentials) => credentials,
            Err(rejection) => {
                self.log(&rejection, None);
                return Err(rejection);
            }
        };
        match self.check_credentials(&credentials, read_body).await {
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
                self.log(&rejection, Some(self.scheme.key_id(&credentials)));
                Err(rejection)
            }
        }
    }

    async fn check_credentials<F, Fut, D>(
        &self,
        credentials: &Sch::Credentials,
        read_body: F,
    ) -> Result<(Arc<str>, Option<MatchedSecret>, D), Rejection>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<D, Rejection>>,
        D: AsRef<[u8]>,
    {
        let now = self.clock.now();
        self.scheme.check_fresh(credentials, now)?;

        let key_id = self.scheme.key_id(credentials);
        let found = self.keys.get(key_id).await.map_err(unavailable)?;
        // An unknown key is checked against a placeholder secret, so it costs the same MAC work
        // as a known one; the refusal is decided after that work.
        let (key, refusal) = match &found {
            None => (&self.placeholder, Some(RejectionKind::UnknownKey)),
            Some(key) => match key.status_at(now) {
                KeyStatus::Live => (key, None),
                KeyStatus::Expired => (key, Some(RejectionKind::KeyExpired)),
                KeyStatus::Revoked => (key, Some(RejectionKind::KeyRevoked)),
            },
        };

        let proof = self.scheme.proof(credentials, key)?;
        let body = read_body().await?;

        let matched = self.match_secret(credentials, key, now, &proof, body.as_ref(), refusal)?;

        if let (Some(store), Some(nonce)) = (&self.replay, self.scheme.replay_nonce(credentials)) {
            let replay_key = ReplayKey::new(self.scheme.name(), key_id, nonce);
            let first_use = store
                .insert_if_absent(&replay_key, self.scheme.replay_ttl())
                .await
                .map_err(unavailable)?;
            if !first_use {
                return Err(Rejection::new(RejectionKind::Replayed));
            }
        }
        // Only a live key whose proof matched gets here (a refusal returned above), so a policy
        // refusal is never an answer to a caller without the secret.
        self.scheme.authorize(credentials, key)?;
        Ok((key.id_arc(), matched, body))
    }

    /// Which live secret of `key` the proof matches. Kept synchronous so that no iterator over the
    /// key lives across an await point.
    fn match_secret(
        &self,
        credentials: &Sch::Credentials,
        key: &Key,
        now: std::time::SystemTime,
        proof: &Proof<'_>,
        body: &[u8],
        refusal: Option<RejectionKind>,
    ) -> Result<Option<MatchedSecret>, Rejection> {
        if matches!(proof, Proof::Unsigned) {
            return match refusal {
                Some(kind) => Err(Rejection::new(kind)),
                None => Ok(None),
            };
        }
        let mut live = key
            .secrets()
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_live_at(now))
            .peekable();
        let matched = if live.peek().is_none() {
            // No live secret left: spend the work on the placeholder all the same.
            let _ = self.proof_matches(proof, credentials, body, &Secret::placeholder());
            None
        } else {
            live.find(|(_, s)| self.proof_matches(proof, credentials, body, s.secret()))
        };
        if let Some(kind) = refusal {
            return Err(Rejection::new(kind));
        }
        match matched {
            Some((index, secret)) => Ok(Some(MatchedSecret {
                index,
                label: secret.label_arc(),
            })),
            None => Err(Rejection::new(RejectionKind::InvalidSignature)),
        }
    }

    fn proof_matches(
        &self,
        proof: &Proof<'_>,
        credentials: &Sch::Credentials,
        body: &[u8],
        secret: &Secret,
    ) -> bool {
        match proof {
            Proof::Mac(tag) => {
                hmac_sha256(secret, |mac| self.scheme.message(credentials, body, mac))
                    .ct_matches(tag)
            }
            Proof::Secret(given) => ct_eq_bytes(secret.expose(), given),
            Proof::Unsigned => false,
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

    fn log(&self, rejection: &Rejection, key_id: Option<&str>) {
        let scheme = self.scheme.name();
        let kind = rejection.kind();
        if kind == RejectionKind::StoreUnavailable {
            tracing::warn!(
                scheme,
                ?kind,
                key_id,
                reason = rejection.message(),
                "request refused: store unavailable"
            );
        } else {
            tracing::debug!(scheme, ?kind, key_id, "request rejected");
        }
    }
}

fn unavailable(error: StoreError) -> Rejection {
    tracing::warn!(%error, "store failed; failing closed");
    Rejection::new(RejectionKind::StoreUnavailable)
}

/// Reads at most `limit` bytes of `body`. A declared or actual length over the limit is 413; the
/// rest of an oversized body is never buffered.
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
        Err(error) if error.is::<LengthLimitError>() => {
            Err(Rejection::new(RejectionKind::BodyTooLarge))
        }
        Err(_) => Err(Rejection::new(RejectionKind::BodyUnreadable)),
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
            placeholder: Arc::clone(&self.placeholder),
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

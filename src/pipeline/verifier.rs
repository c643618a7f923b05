use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::Response;
use http::request::Parts;
use http_body::Body;

use super::counters::{Counters, SchemeCounters};
use super::read::{self, DEFAULT_BODY_LIMIT, ReadError, default_body_timeout};
use super::scheme::{BodyMode as _, Presented, Proof, Scheme};
use super::verified::{MatchedSecret, Verified};
use crate::clock::{Clock, SystemClock};
use crate::crypto::{Discarded, Message, Tag, hmac};
use crate::error::BoxError;
use crate::keys::{Key, KeyStore};
use crate::rejection::{DefaultResponder, Rejection, RejectionContext, RejectionKind, Responder};
use crate::replay::{ReplayKey, ReplayStore, Reservation, Settle, Ticket};

/// The verification pipeline of one scheme with its stores, clock and responder.
///
/// Layers share one `Verifier` between all their services. [`Verifier::verify`] runs the whole
/// check on a request's parts and body without any server, which is how the schemes are
/// unit-tested.
pub struct Verifier<S> {
    pub(crate) scheme: S,
    keys: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    replay: Option<Arc<dyn ReplayStore>>,
    responder: Arc<dyn Responder>,
    pub(crate) body_limit: usize,
    /// `None`: derived from the limit ([`default_body_timeout`]).
    pub(crate) body_timeout: Option<Duration>,
    /// How long a webhook delivery stays reserved for the copy being handled.
    pub(crate) delivery_hold: Duration,
    /// Refused requests are handed on, marked unverified (see `VerifyLayer::report_only`).
    pub(crate) report_only: bool,
    counters: Option<Arc<SchemeCounters>>,
    /// Set once a check without waiting found a store that must be waited for: later requests
    /// go to the waiting check at once (see `check_now`).
    stores_wait: AtomicBool,
    /// What responses tell a test tool (feature `mock`, see `VerifyLayer::explain`).
    #[cfg(feature = "mock")]
    pub(crate) explain: Option<super::explain::Explain>,
}

/// Default [`delivery_hold`](super::VerifyLayer::delivery_hold): 60 s.
pub const DEFAULT_DELIVERY_HOLD: Duration = Duration::from_secs(60);

/// The secret that matched and, for signatures, which presented one did.
struct Matched {
    secret: MatchedSecret,
    entry: Option<Entry>,
}

/// A presented signature that matched: its position among the proof's MACs, or among its
/// Ed25519 signatures.
#[derive(Clone, Copy)]
enum Entry {
    Mac(usize),
    Ed25519(usize),
}

impl Entry {
    /// The bytes of the presented signature `self` names in `proof`.
    fn bytes(self, proof: &Proof) -> Option<&[u8]> {
        match (proof, self) {
            (Proof::Mac(tags) | Proof::Ed25519 { macs: tags, .. }, Self::Mac(position)) => {
                tags.as_slice().get(position).map(Tag::as_bytes)
            }
            (Proof::Ed25519 { signatures, .. }, Self::Ed25519(position)) => signatures
                .as_slice()
                .get(position)
                .map(|s| s.as_bytes().as_slice()),
            _ => None,
        }
    }
}

/// What a request that passed every check carries on.
pub(crate) struct Accepted<T> {
    pub(crate) verified: Verified<T>,
    /// The body as read (empty for header-only schemes).
    pub(crate) body: Bytes,
    /// For a scheme that delivers, with a replay store: the delivery to reserve around the inner
    /// service.
    pub(crate) delivery: Option<Delivery>,
    /// A handshake the layer answers itself. Boxed: handshakes are rare, and an accepted
    /// request is moved several times on its way (a `Response` inline was half its size).
    pub(crate) answer: Option<Box<Response<Bytes>>>,
}

/// A webhook delivery, as the replay store knows it.
#[derive(Clone, Copy)]
pub(crate) struct Delivery {
    pub(crate) key: ReplayKey,
    /// How long it is remembered once handled.
    pub(crate) ttl: Duration,
}

/// What `run` found of a request that passed.
struct Passed {
    key_id: Arc<str>,
    matched: Option<MatchedSecret>,
    body: Bytes,
    delivery: Option<Delivery>,
    answer: Option<Box<Response<Bytes>>>,
}

/// A refused request: why, and the key id it named when the layer needs it (report-only mode,
/// explanations).
pub(crate) struct Refused {
    pub(crate) rejection: Rejection,
    pub(crate) key_id: Option<Arc<str>>,
}

/// Whether a check may wait for its stores.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    Allowed,
    /// Only answers at hand: a store that must be waited for stops the check before anything is
    /// recorded (see [`Verifier::check_now`]).
    Never,
}

/// Why `run` stopped short of accepting.
enum Halt {
    Refused(Rejection),
    /// With [`Wait::Never`]: a store cannot answer at once. Nothing was recorded.
    MustWait,
}

impl From<Rejection> for Halt {
    fn from(rejection: Rejection) -> Self {
        Self::Refused(rejection)
    }
}

/// Where the body comes from.
pub(crate) enum Source<'a, B> {
    /// Header-only schemes: never read.
    Untouched,
    /// Already in memory ([`Verifier::verify`]), which hands back the identity only: the body
    /// is checked where it is, not copied, and no delivery is derived for a store to reserve.
    InMemory(&'a [u8]),
    /// Read by the layer before the check, and kept by it whatever the verdict (report-only
    /// mode, explanations).
    Held(Bytes),
    /// Read from the request, within the limit and deadline.
    Streamed { body: B, declared: Option<u64> },
}

impl<S: Scheme> Verifier<S> {
    /// A verifier with the system clock, no replay store, the default responder and a 1 MiB body
    /// limit.
    pub(crate) fn new(scheme: S, keys: impl KeyStore) -> Self {
        Self {
            scheme,
            keys: Arc::new(keys),
            clock: Arc::new(SystemClock),
            replay: None,
            responder: Arc::new(DefaultResponder),
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: None,
            delivery_hold: DEFAULT_DELIVERY_HOLD,
            report_only: false,
            counters: None,
            stores_wait: AtomicBool::new(false),
            #[cfg(feature = "mock")]
            explain: None,
        }
    }

    /// Counts into `counters`, under `name` or else the scheme's name.
    pub(crate) fn set_counters(&mut self, counters: &Counters, name: Option<&'static str>) {
        self.counters = Some(counters.for_scheme(name.unwrap_or(self.scheme.name())));
    }

    /// The counters of this verifier's scheme, when the layer was given [`Counters`].
    pub(crate) fn counters(&self) -> Option<&SchemeCounters> {
        self.counters.as_deref()
    }

    /// Whether the layer reads the body before the check and keeps it whatever the verdict.
    pub(crate) fn holds_body(&self) -> bool {
        #[cfg(feature = "mock")]
        if self.explain.is_some_and(|e| e.messages) {
            return true;
        }
        self.report_only
    }

    /// Whether a refusal must carry the key id the request named.
    fn names_refusals(&self) -> bool {
        #[cfg(feature = "mock")]
        if self.explain.is_some() {
            return true;
        }
        self.report_only
    }

    pub(crate) fn set_clock(&mut self, clock: impl Clock) {
        self.clock = Arc::new(clock);
    }

    pub(crate) fn set_key_store(&mut self, keys: impl KeyStore) {
        self.keys = Arc::new(keys);
    }

    pub(crate) fn set_replay_store(&mut self, store: impl ReplayStore) {
        self.replay = Some(Arc::new(store));
    }

    pub(crate) fn set_responder(&mut self, responder: impl Responder) {
        self.responder = Arc::new(responder);
    }

    /// The scheme this verifier runs.
    pub fn scheme(&self) -> &S {
        &self.scheme
    }

    /// How long reading the body may take: the configured deadline, or the default for the limit.
    pub(crate) fn body_timeout(&self) -> Duration {
        self.body_timeout
            .unwrap_or_else(|| default_body_timeout(self.body_limit))
    }

    /// Checks a request whose body is already in memory. Header-only schemes ignore `body`.
    pub async fn verify(
        &self,
        request: &Parts,
        body: &[u8],
    ) -> Result<Verified<S::Identity>, Rejection> {
        let source = if S::Body::READS_BODY {
            Source::InMemory(body)
        } else {
            Source::Untouched
        };
        let verified = self
            .check::<http_body_util::Empty<Bytes>>(request, source)
            .await
            .map(|accepted| accepted.verified)
            .map_err(|refused| refused.rejection)?;
        if let Some(counters) = self.counters() {
            counters.accepted();
        }
        Ok(verified)
    }

    /// Runs the pipeline on a request, logging and counting its refusal (once, with the key id
    /// once known).
    pub(crate) fn check<'a, B>(
        &'a self,
        request: &'a Parts,
        body: Source<'a, B>,
    ) -> impl Future<Output = Result<Accepted<S::Identity>, Refused>> + 'a
    where
        B: Body + 'a,
        B::Error: Into<BoxError>,
    {
        self.check_with(request, body, None)
    }

    /// The check of a header-only request, or of one whose body is known to be empty
    /// (`empty_body`: a body-signing scheme then signs no body bytes), when every store it needs
    /// answers at once (keys in memory, an in-process replay store): nothing is awaited, so the
    /// layer answers, or calls its inner service, without keeping (boxing) a future of the check.
    ///
    /// `None` for a scheme that reads a body not known to be empty or delivers (a delivery is
    /// reserved around the inner service), in report-only mode and when refusals are explained,
    /// and when a store must be waited for: nothing of the request was recorded, logged or
    /// counted then, and the layer runs [`check`] on it.
    ///
    /// Once a store had to be waited for, later requests go to `check` at once (a store answers
    /// at once always or never: the in-memory ones always, those over a network never), so the
    /// work done before that store was asked (the credentials parsed, a token verified) is done
    /// twice only for that first request.
    ///
    /// [`check`]: Self::check
    pub(crate) fn check_now(
        &self,
        request: &Parts,
        empty_body: bool,
    ) -> Option<Result<Accepted<S::Identity>, Refused>> {
        if !self.checks_now(empty_body) {
            return None;
        }
        let source = if S::Body::READS_BODY {
            Source::InMemory(&[])
        } else {
            Source::Untouched
        };
        let stopped = AtomicBool::new(false);
        let check = std::pin::pin!(self.check_with::<http_body_util::Empty<Bytes>>(
            request,
            source,
            Some(&stopped),
        ));
        // Not allowed to wait, the check awaits no store future and reads no body: it finishes
        // in one poll.
        let checked = match check.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(checked) if !stopped.load(Ordering::Relaxed) => Some(checked),
            _ => None,
        };
        if checked.is_none() {
            self.stores_wait.store(true, Ordering::Relaxed);
        }
        checked
    }

    /// Whether [`check_now`](Self::check_now) may answer. Reading a body, explaining a refusal,
    /// handing a refused request on and reserving a delivery all wait: such a layer checks every
    /// request in its future; and so does one whose stores had to be waited for.
    fn checks_now(&self, empty_body: bool) -> bool {
        let waits = (S::Body::READS_BODY && !empty_body)
            || self.holds_body()
            || self.names_refusals()
            || self.scheme.delivers();
        !waits && !self.stores_wait.load(Ordering::Relaxed)
    }

    /// [`check`](Self::check), and without waiting when given `stopped`: a store that must be
    /// waited for then stops it, sets `stopped` and refuses the request (503, failing closed,
    /// neither logged nor counted), which the caller does not answer.
    async fn check_with<B>(
        &self,
        request: &Parts,
        body: Source<'_, B>,
        stopped: Option<&AtomicBool>,
    ) -> Result<Accepted<S::Identity>, Refused>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let mut presented = match self.scheme.credentials(request) {
            Ok(presented) => presented,
            Err(rejection) => {
                rejection.log(self.scheme.name(), None);
                self.count_refusal(&rejection);
                return Err(Refused {
                    rejection,
                    key_id: None,
                });
            }
        };
        // The key id is logged with a refusal once it is worth naming: always when the request
        // names its key beside its proof; only once the proof verified when the key id comes from
        // inside the credential itself (a token's claim), not trusted before.
        let mut named = !matches!(presented.proof, Proof::Custom);
        let wait = match stopped {
            Some(_) => Wait::Never,
            None => Wait::Allowed,
        };
        match self.run(&mut presented, body, &mut named, wait).await {
            Ok(passed) => {
                let identity = self
                    .scheme
                    .identity(presented.credentials, passed.matched.as_ref());
                let verified = Verified {
                    key_id: passed.key_id,
                    secret: passed.matched,
                    identity,
                };
                Ok(Accepted {
                    verified,
                    body: passed.body,
                    delivery: passed.delivery,
                    answer: passed.answer,
                })
            }
            Err(Halt::Refused(rejection)) => {
                let key_id = self.scheme.key_id(&presented.credentials).filter(|_| named);
                rejection.log(self.scheme.name(), key_id);
                self.count_refusal(&rejection);
                let key_id = key_id.filter(|_| self.names_refusals()).map(Arc::from);
                Err(Refused { rejection, key_id })
            }
            Err(Halt::MustWait) => {
                if let Some(stopped) = stopped {
                    stopped.store(true, Ordering::Relaxed);
                }
                let waits = crate::StoreError::new("a store must be waited for");
                Err(Refused {
                    rejection: Rejection::store_failed(waits),
                    key_id: None,
                })
            }
        }
    }

    /// What the server signed for a refused request (feature `mock`, with
    /// `Explain::with_messages`): the message rebuilt from the request's credentials and `body`
    /// (parsed again: this runs only for refusals of a layer built to explain them) and, with
    /// `Explain::with_expected_signatures`, its MAC under the first live secret of the key (none
    /// for Ed25519 signatures: the server holds public keys only).
    #[cfg(feature = "mock")]
    pub(crate) async fn explanation(
        &self,
        request: &Parts,
        body: Bytes,
    ) -> Option<super::explain::Explanation> {
        let explain = self.explain.filter(|e| e.messages)?;
        let now = self.clock.now();
        let mut explanation = super::explain::Explanation {
            messages: Vec::new(),
            algorithm: crate::crypto::MacAlgorithm::default(),
            ed25519: false,
            expected: Vec::new(),
            body,
            now,
        };
        let Ok(mut presented) = self.scheme.credentials(request) else {
            return Some(explanation);
        };
        if S::Body::READS_BODY
            && self
                .scheme
                .body_credentials(&mut presented, &explanation.body)
                .is_err()
        {
            return Some(explanation);
        }
        if !matches!(
            presented.proof,
            Proof::Mac(_) | Proof::Ed25519 { .. } | Proof::Unsigned
        ) {
            return Some(explanation);
        }
        explanation.ed25519 = matches!(presented.proof, Proof::Ed25519 { .. });
        let credentials = &presented.credentials;
        let body = &explanation.body;
        // As many forms as the verifier computes (a small number fixed by the scheme).
        let forms = self.scheme.message_forms(credentials).clamp(1, 8);
        explanation.messages = (0..forms)
            .map(|form| {
                let mut message = Vec::new();
                crate::crypto::message_bytes(&mut message, |m| {
                    self.scheme.message_form(credentials, form, body, m)
                });
                Bytes::from(message)
            })
            .collect();
        explanation.algorithm = self.scheme.mac_algorithm(credentials);
        if explain.expected && matches!(presented.proof, Proof::Mac(_)) {
            let id = self
                .scheme
                .key_id(credentials)
                .unwrap_or(self.scheme.name());
            if let Ok(Some(key)) = self.lookup(id, Wait::Allowed).await {
                let (key, refusal) = Key::for_check(Some(&key), now);
                let first = key.candidates(now).find(|(index, _)| index.is_some());
                if let (None, Some((_, secret))) = (refusal, first) {
                    explanation.expected = (0..forms)
                        .map(|form| {
                            hmac(explanation.algorithm, secret, |m| {
                                self.scheme.message_form(credentials, form, body, m)
                            })
                        })
                        .collect();
                }
            }
        }
        Some(explanation)
    }

    /// Counts a refusal, when the layer has counters.
    pub(crate) fn count_refusal(&self, rejection: &Rejection) {
        if let Some(counters) = self.counters() {
            counters.refused(rejection.kind());
        }
    }

    async fn run<B>(
        &self,
        presented: &mut Presented<S::Credentials>,
        body: Source<'_, B>,
        named: &mut bool,
        wait: Wait,
    ) -> Result<Passed, Halt>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        // Everything decided before the body is only a first check that spares the read; what
        // decides is taken again as of acceptance, below.
        let now = self.clock.now();
        self.scheme.check_fresh(&presented.credentials, now)?;

        // A credential the scheme verifies with its own material is checked first: its key id
        // comes from inside it, and is not looked up (nor named) before it verified.
        let custom = match presented.proof {
            Proof::Custom => {
                let matched = self
                    .scheme
                    .verify_custom(&mut presented.credentials, now)?
                    .ok_or_else(|| Rejection::new(RejectionKind::InvalidSignature))?;
                *named = true;
                Some(matched)
            }
            _ => None,
        };

        // The key, when the headers name it: before the body, so that a request already known to
        // be refused keeps none of its body.
        let early = match self.scheme.key_id(&presented.credentials) {
            Some(id) => Some(self.lookup(id, wait).await?),
            None => None,
        };
        let mut discard = match (&early, &presented.proof) {
            (Some(found), Proof::Mac(_)) => {
                let (key, refusal) = Key::for_check(found.as_ref(), now);
                let keys = key.candidates(now).map(|(_, s)| s);
                let algorithm = self.scheme.mac_algorithm(&presented.credentials);
                refusal.map(|_| Discarded::new(algorithm, keys))
            }
            (Some(found), Proof::Ed25519 { signatures, macs }) => {
                let (key, refusal) = Key::for_check(found.as_ref(), now);
                let secrets = key.candidates(now).map(|(_, s)| s);
                let algorithm = self.scheme.mac_algorithm(&presented.credentials);
                refusal.map(|_| {
                    // MACs are worked on only when some were presented, as `prove` does.
                    let secrets = secrets.filter(|_| !macs.is_empty());
                    Discarded::new(algorithm, secrets)
                        .with_ed25519(key.public_keys(now).map(|(_, k)| k), signatures.as_slice())
                })
            }
            _ => None,
        };

        // What is checked (`body`), and what the accepted request hands on (`kept`).
        let mut in_memory = None;
        let (kept, waited) = match body {
            Source::Untouched => (Bytes::new(), false),
            Source::InMemory(bytes) => {
                match &mut discard {
                    Some(discard) => discard.update(bytes),
                    None => in_memory = Some(bytes),
                }
                (Bytes::new(), false)
            }
            Source::Held(bytes) => match &mut discard {
                Some(discard) => {
                    discard.update(&bytes);
                    (Bytes::new(), false)
                }
                None => (bytes, false),
            },
            Source::Streamed { body, declared } => {
                let timeout = Some(self.body_timeout());
                let read = read::read(body, declared, self.body_limit, timeout, discard.as_mut())
                    .await
                    .map_err(read_refusal)?;
                (read.bytes, read.waited)
            }
        };
        let body: &[u8] = in_memory.unwrap_or(&kept);
        if let Some(discard) = discard {
            // The request was refused by its key; its body went to the MAC work only.
            let credentials = &presented.credentials;
            discard.finish(|m| self.scheme.message(credentials, &[], m));
            let found = early.as_ref().and_then(Option::as_ref);
            let (_, refusal) = Key::for_check(found, now);
            return Err(Rejection::new(refusal.unwrap_or(RejectionKind::InvalidSignature)).into());
        }
        if S::Body::READS_BODY {
            self.scheme.body_credentials(presented, body)?;
        }

        let found = match early {
            Some(found) => found,
            None => {
                let id = self
                    .scheme
                    .key_id(&presented.credentials)
                    .unwrap_or(self.scheme.name());
                self.lookup(id, wait).await?
            }
        };
        let (key, refusal) = Key::for_check(found.as_ref(), now);
        let matched = match custom {
            Some(secret) => Some(Matched {
                secret,
                entry: None,
            }),
            None => self.prove(presented, key, body, now)?,
        };
        if let Some(kind) = refusal {
            return Err(Rejection::new(kind).into());
        }
        let matched = match (&presented.proof, matched) {
            (Proof::Unsigned, _) => None,
            (_, Some(matched)) => Some(matched),
            (_, None) => return Err(Rejection::new(RejectionKind::InvalidSignature).into()),
        };

        // The request is accepted now, not when its headers arrived: a client that held its body
        // back must not carry a timestamp, a key or a secret past the end of its validity. And
        // what the body carried (a timestamp inside it, taken by `body_credentials`) is checked
        // here, once the proof covers it, whether or not the read had to wait.
        let now = if waited { self.clock.now() } else { now };
        if waited || S::Body::READS_BODY {
            self.scheme.check_fresh(&presented.credentials, now)?;
        }
        if waited {
            // A custom proof's secret is the scheme's own business; the key's status is ours.
            let secret = match presented.proof {
                Proof::Mac(_) | Proof::Secret(_) | Proof::Ed25519 { .. } => {
                    matched.as_ref().map(|m| m.secret.index)
                }
                _ => None,
            };
            self.recheck_key(key, secret, now, wait).await?;
        }

        let entry = matched.as_ref().and_then(|m| m.entry);
        let delivery = if self.scheme.delivers() {
            in_memory
                .is_none()
                .then(|| self.delivery(presented, entry, key.id(), now))
                .flatten()
        } else {
            self.record(presented, entry, key.id(), now, wait).await?;
            None
        };
        // Only a live key whose proof matched gets here, so a policy refusal is never an answer
        // to a caller without the secret.
        self.scheme.authorize(&presented.credentials, key)?;
        let answer = match (&presented.proof, &matched) {
            (Proof::Mac(_) | Proof::Secret(_) | Proof::Ed25519 { .. }, Some(m)) => {
                key.secrets().get(m.secret.index).and_then(|s| {
                    self.scheme
                        .handshake(&presented.credentials, body, s.material())
                        .map(Box::new)
                })
            }
            _ => None,
        };
        Ok(Passed {
            key_id: key.id_arc(),
            matched: matched.map(|m| m.secret),
            body: kept,
            delivery,
            answer,
        })
    }

    /// The delivery of a request of a scheme that delivers, when the layer has a replay store:
    /// identified by the id the sender signed, else by the verified signature.
    fn delivery(
        &self,
        presented: &Presented<S::Credentials>,
        matched: Option<Entry>,
        key_id: &str,
        now: SystemTime,
    ) -> Option<Delivery> {
        self.replay.as_ref()?;
        let signed_id = self.scheme.delivery_id(presented);
        let id = signed_id.or_else(|| matched?.bytes(&presented.proof))?;
        Some(Delivery {
            key: ReplayKey::new(self.scheme.name(), key_id, id),
            ttl: self.scheme.nonce_ttl(&presented.credentials, now),
        })
    }

    /// Reserves `delivery` for the copy at hand.
    pub(crate) async fn reserve(&self, delivery: &Delivery) -> Result<Reservation, Rejection> {
        if let Some(reserved) = self.reserve_now(delivery) {
            return reserved;
        }
        let store = self.replay.as_ref().ok_or_else(no_delivery_store)?;
        let reserved = store.reserve(&delivery.key, self.delivery_hold).await;
        reserved.map_err(Rejection::store_failed)
    }

    /// [`reserve`](Self::reserve), when the store answers at once; `None`, with nothing done,
    /// when it must be waited for.
    pub(crate) fn reserve_now(
        &self,
        delivery: &Delivery,
    ) -> Option<Result<Reservation, Rejection>> {
        let Some(store) = &self.replay else {
            return Some(Err(no_delivery_store()));
        };
        let reserved = store.reserve_now(&delivery.key, self.delivery_hold)?;
        Some(reserved.map_err(Rejection::store_failed))
    }

    /// Settles the reservation of `delivery` by how the inner service answered. A store failing
    /// now cannot change the answer, which is given already: it is logged, and the reservation
    /// lapses after its hold (a retry is then handled).
    pub(crate) async fn settle(&self, delivery: &Delivery, ticket: Ticket, handled: bool) {
        let Some(store) = &self.replay else { return };
        let outcome = settlement(delivery, handled);
        let settled = store.settle(&delivery.key, ticket, outcome).await;
        self.settled(settled);
    }

    /// [`settle`](Self::settle), when the store answers at once; `false`, with nothing done, when
    /// it must be waited for.
    pub(crate) fn settle_now(&self, delivery: &Delivery, ticket: Ticket, handled: bool) -> bool {
        let Some(store) = &self.replay else {
            return true;
        };
        let outcome = settlement(delivery, handled);
        let Some(settled) = store.settle_now(&delivery.key, ticket, outcome) else {
            return false;
        };
        self.settled(settled);
        true
    }

    fn settled(&self, settled: Result<(), crate::StoreError>) {
        if let Err(error) = settled {
            tracing::warn!(
                scheme = self.scheme.name(),
                %error,
                "delivery state not saved; the reservation lapses after its hold"
            );
        }
    }

    async fn lookup(&self, key_id: &str, wait: Wait) -> Result<Option<Key>, Halt> {
        let found = match self.keys.get_now(key_id) {
            Some(found) => found,
            None if wait == Wait::Never => return Err(Halt::MustWait),
            None => self.keys.get(key_id).await,
        };
        Ok(found.map_err(Rejection::store_failed)?)
    }

    /// Checks the proof against every candidate secret of `key` (the placeholder's for an
    /// unknown id), each with the same work, matched or not: the position of the first secret
    /// that matched, and for signatures which presented one did.
    fn prove(
        &self,
        presented: &Presented<S::Credentials>,
        key: &Key,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Option<Matched>, Rejection> {
        let credentials = &presented.credentials;
        let mut matched = None;
        let mut found = |index: Option<usize>, entry: Option<Entry>| {
            if matched.is_none() {
                matched = index.map(|index| Matched {
                    secret: MatchedSecret {
                        index,
                        label: key.secrets().get(index).and_then(|s| s.label_arc()),
                    },
                    entry,
                });
            }
        };
        match &presented.proof {
            Proof::Mac(tags) => self.prove_macs(credentials, tags, key, body, now, &mut found),
            Proof::Ed25519 { signatures, macs } => {
                if !macs.is_empty() {
                    self.prove_macs(credentials, macs, key, body, now, &mut found);
                }
                // Every form of the message, hashed as written, verified with every live public
                // key and every presented signature, whichever matches.
                let forms = self.scheme.message_forms(credentials).max(1);
                for form in 0..forms {
                    for (index, public) in key.public_keys(now) {
                        let mut hit = None;
                        for (position, signature) in signatures.as_slice().iter().enumerate() {
                            // A signature refused before hashing costs no more here than for
                            // an unknown key (`Discarded`).
                            let verified = public.start(signature).is_some_and(|verification| {
                                #[cfg(any(test, feature = "__count-work"))]
                                crate::crypto::work::body_bytes(body.len());
                                verification.finish(|m| {
                                    self.scheme.message_form(credentials, form, body, m)
                                })
                            });
                            if verified && hit.is_none() {
                                hit = Some(Entry::Ed25519(position));
                            }
                        }
                        if hit.is_some() {
                            found(index, hit);
                        }
                    }
                }
            }
            Proof::Secret(given) => {
                for (index, secret) in key.candidates(now) {
                    if crate::crypto::ct_eq_secret(given.expose(), secret.expose()) {
                        found(index, None);
                    }
                }
            }
            // Verified before the key lookup (see `run`).
            Proof::Custom => {}
            Proof::Unsigned => self.scheme.allow_unsigned(credentials, key)?,
        }
        Ok(matched)
    }

    /// The MAC part of [`prove`](Self::prove): every form of the message under every candidate
    /// secret, each compared with every presented tag, whichever matches.
    fn prove_macs(
        &self,
        credentials: &S::Credentials,
        tags: &super::Signatures,
        key: &Key,
        body: &[u8],
        now: SystemTime,
        found: &mut impl FnMut(Option<usize>, Option<Entry>),
    ) {
        let algorithm = self.scheme.mac_algorithm(credentials);
        let forms = self.scheme.message_forms(credentials).max(1);
        for (index, secret) in key.candidates(now) {
            let mut hit = None;
            for form in 0..forms {
                let computed = hmac(algorithm, secret, |m: &mut Message<'_>| {
                    self.scheme.message_form(credentials, form, body, m)
                });
                #[cfg(any(test, feature = "__count-work"))]
                crate::crypto::work::body_bytes(body.len());
                for (position, tag) in tags.as_slice().iter().enumerate() {
                    if computed.ct_matches(tag) && hit.is_none() {
                        hit = Some(Entry::Mac(position));
                    }
                }
            }
            if hit.is_some() {
                found(index, hit);
            }
        }
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
        wait: Wait,
    ) -> Result<(), Halt> {
        let current = self.lookup(key.id(), wait).await?;
        let (current, refusal) = Key::for_check(current.as_ref(), now);
        if let Some(kind) = refusal {
            return Err(Rejection::new(kind).into());
        }
        let Some(index) = matched else {
            return Ok(());
        };
        let material = key.secrets().get(index).map(|s| s.material());
        let still_live = material.is_some_and(|material| {
            current
                .secrets()
                .iter()
                .any(|s| s.is_live_at(now) && material.same_as(s.material()))
        });
        if still_live {
            Ok(())
        } else {
            Err(Rejection::new(RejectionKind::InvalidSignature).into())
        }
    }

    /// Records the request's nonce, and with it the verified MAC when it is not the nonce
    /// already: a signed message is then accepted once, even where the scheme's encoding lets the
    /// same message travel with another nonce (Inqud signs `body ++ salt` with nothing between,
    /// so bytes moved across that boundary give a new salt under the same signature).
    async fn record(
        &self,
        presented: &Presented<S::Credentials>,
        matched: Option<Entry>,
        key_id: &str,
        now: SystemTime,
        wait: Wait,
    ) -> Result<(), Halt> {
        let credentials = &presented.credentials;
        let (Some(store), Some(nonce)) = (&self.replay, self.scheme.nonce(presented)) else {
            return Ok(());
        };
        let name = self.scheme.name();
        let ttl = self.scheme.nonce_ttl(credentials, now);
        let mac = matched
            .and_then(|entry| entry.bytes(&presented.proof))
            .filter(|signature| nonce != *signature);
        // One check for both: a store that can records them atomically (in one round trip), so
        // that a failure cannot leave the nonce burned without its MAC.
        let both;
        let alone;
        let records: &[ReplayKey] = match mac {
            Some(signature) => {
                both = ReplayKey::nonce_and_mac(name, key_id, nonce, signature);
                &both
            }
            None => {
                alone = ReplayKey::new(name, key_id, nonce);
                std::slice::from_ref(&alone)
            }
        };
        let first_use = match store.insert_all_now(records, ttl) {
            Some(first_use) => first_use,
            None if wait == Wait::Never => return Err(Halt::MustWait),
            None => store.insert_all_if_absent(records, ttl).await,
        };
        if !first_use.map_err(Rejection::store_failed)? {
            return Err(Rejection::new(RejectionKind::Replayed).into());
        }
        Ok(())
    }

    /// The response for `rejection`, built by the configured responder.
    pub(crate) fn respond(&self, rejection: &Rejection, request: &Parts) -> Response<Bytes> {
        let challenge = self.scheme.challenge();
        let context = RejectionContext {
            request,
            challenge: challenge.as_ref(),
        };
        self.responder.respond(rejection, &context)
    }
}

fn no_delivery_store() -> Rejection {
    Rejection::store_failed(crate::StoreError::new("no replay store for deliveries"))
}

/// What a delivery's reservation becomes: remembered as done when `handled`, else forgotten.
fn settlement(delivery: &Delivery, handled: bool) -> Settle {
    if handled {
        Settle::Done(delivery.ttl)
    } else {
        Settle::Failed
    }
}

/// The refusal for a body that could not be read.
pub(crate) fn read_refusal(error: ReadError) -> Rejection {
    match error {
        ReadError::TooLarge => Rejection::new(RejectionKind::BodyTooLarge),
        ReadError::Timeout(timeout) => Rejection::with_message(
            RejectionKind::BodyTimeout,
            format!(
                "the request body did not arrive within {} ms",
                timeout.as_millis()
            ),
        ),
        ReadError::Unreadable(_) => Rejection::new(RejectionKind::BodyUnreadable),
    }
}

impl<S: Clone> Clone for Verifier<S> {
    fn clone(&self) -> Self {
        Self {
            scheme: self.scheme.clone(),
            keys: Arc::clone(&self.keys),
            clock: Arc::clone(&self.clock),
            replay: self.replay.clone(),
            responder: Arc::clone(&self.responder),
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
            delivery_hold: self.delivery_hold,
            report_only: self.report_only,
            counters: self.counters.clone(),
            stores_wait: AtomicBool::new(self.stores_wait.load(Ordering::Relaxed)),
            #[cfg(feature = "mock")]
            explain: self.explain,
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Verifier<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme)
            .field("replay_store", &self.replay.is_some())
            .field("body_limit", &self.body_limit)
            .field("body_timeout", &self.body_timeout)
            .field("report_only", &self.report_only)
            .finish_non_exhaustive()
    }
}

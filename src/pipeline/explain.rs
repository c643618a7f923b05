//! What a layer tells a test tool about each request it decided (feature `mock`): see
//! [`Explain`].

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::crypto::{MacAlgorithm, Tag};
use crate::rejection::Rejection;

/// What a layer built with [`VerifyLayer::explain`](super::VerifyLayer::explain) tells about the
/// requests it decides (feature `mock`, **test use only**).
///
/// The layer puts an [`Outcome`] in the extensions of every response it gives or passes on: the
/// verdict, the kind of a refusal, the key id the request named. With
/// [`with_messages`](Self::with_messages), a refusal's outcome also holds an [`Explanation`]:
/// the signed message the server rebuilt from the request and, with
/// [`with_expected_signatures`](Self::with_expected_signatures), the signature it expected.
///
/// # Security
///
/// This exists for the mock server (`tower_hmac::mock`), to tell a developer why a test request
/// was refused. It is compiled only with the `mock` feature, and nothing of it is computed unless
/// a layer is built with it. Response extensions never leave the process by themselves; what the
/// mock shows of them is its own choice, behind its `--explain` flag. The expected signature is a
/// MAC under the key's secret: turn it on only for a layer whose keys are published demo
/// credentials, as the mock does, never for keys that protect anything. The rebuilt message is
/// what the client sent, arranged as the scheme signs it; it holds no secret. A plain secret
/// (Inqud's simple mode) or a token is never explained: only MACs of a message are.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explain {
    pub(crate) messages: bool,
    pub(crate) expected: bool,
}

impl Explain {
    /// Each response carries an [`Outcome`]: the verdict and the key id, nothing of what was
    /// signed.
    pub fn verdicts() -> Self {
        Self::default()
    }

    /// A refusal's [`Outcome`] also carries an [`Explanation`]: the signed message rebuilt from
    /// the request (and the request's body).
    pub fn with_messages(mut self) -> Self {
        self.messages = true;
        self
    }

    /// The [`Explanation`] also carries the signature the server expected, a MAC under the key's
    /// first live secret: only for layers whose keys are published demo credentials.
    pub fn with_expected_signatures(mut self) -> Self {
        self.messages = true;
        self.expected = true;
        self
    }
}

/// What a layer decided about one request, in its response's extensions (see [`Explain`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Outcome {
    /// The scheme's name.
    pub scheme: &'static str,
    /// What was decided.
    pub verdict: Verdict,
    /// The key the request named (not verified, for a refusal), once the credentials parsed.
    pub key_id: Option<Arc<str>>,
    /// For a refusal, with [`Explain::with_messages`]: what the server signed.
    pub explanation: Option<Arc<Explanation>>,
}

/// The verdict of an [`Outcome`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Verdict {
    /// Verified; the inner service answered (or the layer answered a handshake).
    Accepted,
    /// A copy of a delivery already handled, acknowledged without the inner service.
    Duplicate,
    /// Refused (in report-only mode: handed on unverified).
    Refused(Rejection),
}

/// What the server signed for a refused request (see [`Explain::with_messages`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Explanation {
    /// The signed message rebuilt from the request, each form the scheme accepts (one for most
    /// schemes; Twilio's URL with and without its port); empty when the credentials did not
    /// parse, or when the proof is not a signature of a message (a plain secret, a token).
    pub messages: Vec<Bytes>,
    /// The MAC the messages are signed with.
    pub algorithm: MacAlgorithm,
    /// Whether the proof is Ed25519 signatures of the messages (Discord, Standard Webhooks'
    /// `v1a`), checked with the key's public keys: there is then no `expected` signature, the
    /// server holding no private key.
    pub ed25519: bool,
    /// With [`Explain::with_expected_signatures`], for a live key: the MAC of each message under
    /// the key's first live secret.
    pub expected: Vec<Tag>,
    /// The request's body, as read.
    pub body: Bytes,
    /// The server's time when it explained.
    pub now: SystemTime,
}

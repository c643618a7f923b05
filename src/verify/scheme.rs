use std::time::{Duration, SystemTime};

use http::HeaderValue;
use http::request::Parts;

use crate::keys::Key;
use crate::mac::{MacInput, Tag};
use crate::rejection::Rejection;

/// What a request offers as proof that it holds the key's secret.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'c> {
    /// A MAC over the scheme's message ([`Scheme::message_prefix`], body, [`Scheme::message_suffix`]),
    /// keyed by the secret.
    Mac(&'c Tag),
    /// The secret itself (Inqud's simple mode), compared in constant time.
    Secret(&'c [u8]),
    /// No proof, and the key's policy allows that (Proficient with HMAC optional). The request is
    /// let through as the key's caller, marked unverified in its identity.
    Unsigned,
}

/// One request-signing protocol: which headers carry the credentials, what message is signed,
/// which freshness rule applies and what identity a verified request yields.
///
/// The generic [`VerifyLayer`](super::VerifyLayer) drives the pipeline; a scheme only answers
/// these questions. Implement it for a protocol this crate does not ship.
///
/// The pipeline calls, in order: [`credentials`](Self::credentials) and
/// [`check_fresh`](Self::check_fresh) (headers only, before any I/O), then the key lookup, then
/// [`proof`](Self::proof) with the key found (or a dummy key for an unknown id, so that an unknown
/// id costs the same work), the signed message fed to one MAC per live secret
/// ([`message_prefix`](Self::message_prefix), the body as it is read by body-signing layers,
/// [`message_suffix`](Self::message_suffix)), the replay check on [`replay_nonce`](Self::replay_nonce),
/// [`authorize`](Self::authorize) with the live key whose secret matched, and finally
/// [`identity`](Self::identity).
///
/// Freshness and the key's status are decided as of the moment the request is accepted: when
/// reading the body had to wait for the client, [`check_fresh`](Self::check_fresh) runs again
/// with the time at the end of the read, and the key is looked up again (it must still be live
/// and hold the secret that matched).
pub trait Scheme: Send + Sync + 'static {
    /// The parsed credential headers.
    type Credentials: Send + Sync + 'static;
    /// What handlers learn about the caller, inside [`Verified`](crate::Verified).
    type Identity: Clone + Send + Sync + 'static;

    /// A short lower-case name, used in logs and to separate replay-store keys of schemes.
    fn name(&self) -> &'static str;

    /// The `WWW-Authenticate` challenge sent with 401 responses.
    fn challenge(&self) -> HeaderValue;

    /// Parses the credential headers. Missing or malformed headers are rejections, never panics.
    fn credentials(&self, request: &Parts) -> Result<Self::Credentials, Rejection>;

    /// Checks timestamp windows and the like. Runs before the key lookup, and again at the end
    /// of a body read that had to wait.
    fn check_fresh(
        &self,
        credentials: &Self::Credentials,
        now: SystemTime,
    ) -> Result<(), Rejection> {
        let _ = (credentials, now);
        Ok(())
    }

    /// The key id the request names.
    fn key_id<'c>(&self, credentials: &'c Self::Credentials) -> &'c str;

    /// The proof the request offers, given the key's policies.
    ///
    /// `key` is a placeholder when the id is unknown, and may be expired or revoked. A refusal
    /// that depends on the key is answered before the proof is checked, so it tells any caller
    /// that the key exists and costs less work than a wrong signature; refuse on key policies in
    /// [`authorize`](Self::authorize) instead.
    fn proof<'c>(
        &self,
        credentials: &'c Self::Credentials,
        key: &Key,
    ) -> Result<Proof<'c>, Rejection>;

    /// Feeds what is signed before the body (for a header-only scheme, usually the whole
    /// message). Called only for [`Proof::Mac`], once per candidate secret.
    ///
    /// The signed message is, in order: this prefix; then, only when the body is not empty,
    /// [`body_separator`](Self::body_separator) and the body bytes as they arrive; then
    /// [`message_suffix`](Self::message_suffix). The body is fed to the MAC chunk by chunk while
    /// it is read, so no copy of the message is ever assembled.
    fn message_prefix(&self, credentials: &Self::Credentials, mac: &mut MacInput<'_>) {
        let _ = (credentials, mac);
    }

    /// Signed between the prefix and a non-empty body (Humanos' `"."`). Empty by default.
    fn body_separator(&self) -> &'static [u8] {
        b""
    }

    /// Feeds what is signed after the body (Inqud's salt). Called only for [`Proof::Mac`].
    fn message_suffix(&self, credentials: &Self::Credentials, mac: &mut MacInput<'_>) {
        let _ = (credentials, mac);
    }

    /// The value that must not be accepted twice, if the scheme has one. Recorded in the replay
    /// store (when the layer has one) after the proof verified, together with the verified MAC
    /// when it is not the nonce itself, so that one signed message is accepted once even if the
    /// scheme's encoding lets it travel with another nonce.
    fn replay_nonce<'c>(&self, credentials: &'c Self::Credentials) -> Option<&'c [u8]> {
        let _ = credentials;
        None
    }

    /// How long a nonce recorded at `now` (when the request is accepted) must be remembered: as
    /// long as the same request could still be accepted. A scheme with a timestamp window counts
    /// it from the timestamp (until it leaves the window), not from `now`.
    fn replay_ttl(&self, credentials: &Self::Credentials, now: SystemTime) -> Duration {
        let _ = (credentials, now);
        Duration::from_secs(24 * 60 * 60)
    }

    /// Checks the key's policies once the request is known to come from the key's holder: the key
    /// is live, the proof matched one of its live secrets (or was [`Proof::Unsigned`] and allowed),
    /// and the nonce, if any, was recorded, so a request refused here cannot be replayed
    /// successfully later if the policy changes.
    ///
    /// For example a mode turned off for this key ([`RejectionKind::NotAllowed`]). Because it runs
    /// after the proof, a caller without the secret gets the same answer for a key it may not use
    /// as for an unknown one.
    ///
    /// [`RejectionKind::NotAllowed`]: crate::RejectionKind::NotAllowed
    fn authorize(&self, credentials: &Self::Credentials, key: &Key) -> Result<(), Rejection> {
        let _ = (credentials, key);
        Ok(())
    }

    /// The identity of a verified request.
    fn identity(&self, credentials: Self::Credentials, proof_checked: bool) -> Self::Identity;
}

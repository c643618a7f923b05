//! A key and its secrets.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use crate::crypto::Secret;
use crate::rejection::RejectionKind;

/// What an unknown key id is checked against, so that it costs the same MAC work as a known one.
static PLACEHOLDER: LazyLock<Key> = LazyLock::new(|| Key::new("", Secret::placeholder()));

/// One secret of a key, with an optional label and end of life.
#[derive(Clone)]
pub struct KeySecret {
    secret: Secret,
    label: Option<Arc<str>>,
    pub(super) not_after: Option<SystemTime>,
}

impl KeySecret {
    /// A secret without label or end of life.
    pub fn new(secret: Secret) -> Self {
        Self {
            secret,
            label: None,
            not_after: None,
        }
    }

    /// A name for this secret, reported in [`Verified`](crate::Verified) when it matches.
    pub fn label(mut self, label: impl Into<Arc<str>>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The last instant at which the secret is accepted.
    pub fn not_after(mut self, at: SystemTime) -> Self {
        self.not_after = Some(at);
        self
    }

    /// The secret bytes.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The label, if one was set.
    pub fn label_str(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The end of life, if one was set.
    pub fn expiry(&self) -> Option<SystemTime> {
        self.not_after
    }

    /// Whether the secret is accepted at `now`.
    pub fn is_live_at(&self, now: SystemTime) -> bool {
        self.not_after.is_none_or(|end| now <= end)
    }

    pub(crate) fn label_arc(&self) -> Option<Arc<str>> {
        self.label.clone()
    }
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySecret")
            .field("secret", &self.secret)
            .field("label", &self.label)
            .field("not_after", &self.not_after)
            .finish()
    }
}

/// Whether a key may be used at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// The key is usable.
    Live,
    /// The key's expiry has passed.
    Expired,
    /// The key was revoked.
    Revoked,
}

/// A key id with its secrets, lifetime and per-scheme policies.
///
/// Cloning a key is cheap (its contents are shared), so stores hand out clones. A key is also a
/// [`KeyStore`](super::KeyStore) answering every lookup with itself: the store of a scheme that
/// names no key, such as a webhook endpoint signing with one secret set.
#[derive(Clone)]
pub struct Key {
    inner: Arc<KeyInner>,
}

#[derive(Clone)]
pub(super) struct KeyInner {
    pub(super) id: Arc<str>,
    pub(super) secrets: Vec<KeySecret>,
    pub(super) expires_at: Option<SystemTime>,
    pub(super) revoked: bool,
    policies: http::Extensions,
}

impl Key {
    /// A key with one secret that never expires.
    pub fn new(id: impl Into<Arc<str>>, secret: Secret) -> Self {
        Self::from_secrets(id, [KeySecret::new(secret)])
    }

    /// A key with the given secrets (all of them live unless they carry a `not_after`).
    pub fn from_secrets(
        id: impl Into<Arc<str>>,
        secrets: impl IntoIterator<Item = KeySecret>,
    ) -> Self {
        Self {
            inner: Arc::new(KeyInner {
                id: id.into(),
                secrets: secrets.into_iter().collect(),
                expires_at: None,
                revoked: false,
                policies: http::Extensions::new(),
            }),
        }
    }

    /// The contents, to change: copied first if another clone shares them.
    pub(super) fn inner_mut(&mut self) -> &mut KeyInner {
        Arc::make_mut(&mut self.inner)
    }

    /// Adds another secret, for example the new one of a rotation.
    pub fn with_secret(mut self, secret: KeySecret) -> Self {
        self.inner_mut().secrets.push(secret);
        self
    }

    /// The key stops working after `at`, whatever its secrets say.
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.inner_mut().expires_at = Some(at);
        self
    }

    /// Marks the key revoked: every request naming it is refused.
    pub fn revoked(mut self) -> Self {
        self.inner_mut().revoked = true;
        self
    }

    /// Attaches a scheme policy (for example which Inqud modes a token may use). One value per type.
    pub fn with_policy<T: Clone + Send + Sync + 'static>(mut self, policy: T) -> Self {
        self.inner_mut().policies.insert(policy);
        self
    }

    /// The policy of type `T`, if one was attached.
    pub fn policy<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.policies.get::<T>()
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// All secrets, live or not, in the order they were added.
    pub fn secrets(&self) -> &[KeySecret] {
        &self.inner.secrets
    }

    /// Whether the key may be used at `now`.
    pub fn status_at(&self, now: SystemTime) -> KeyStatus {
        if self.inner.revoked {
            KeyStatus::Revoked
        } else if self.inner.expires_at.is_some_and(|end| now > end) {
            KeyStatus::Expired
        } else {
            KeyStatus::Live
        }
    }

    pub(crate) fn id_arc(&self) -> Arc<str> {
        Arc::clone(&self.inner.id)
    }

    /// The key a credential is checked against, and the refusal already decided: an unknown id
    /// is checked against a placeholder key, an expired or revoked key against its own secrets,
    /// so that every case costs the same work and the refusal comes only after it.
    pub(crate) fn for_check(found: Option<&Key>, now: SystemTime) -> (&Key, Option<RejectionKind>) {
        match found {
            None => (&PLACEHOLDER, Some(RejectionKind::UnknownKey)),
            Some(key) => match key.status_at(now) {
                KeyStatus::Live => (key, None),
                KeyStatus::Expired => (key, Some(RejectionKind::KeyExpired)),
                KeyStatus::Revoked => (key, Some(RejectionKind::KeyRevoked)),
            },
        }
    }

    /// The secrets to try, with their positions: the live ones, or, when none is live, the
    /// placeholder's secret (position `None`, never a match) so that the work is the same.
    pub(crate) fn candidates(
        &self,
        now: SystemTime,
    ) -> impl Iterator<Item = (Option<usize>, &Secret)> + '_ {
        let live = move |s: &&KeySecret| s.is_live_at(now);
        let none_live = !self.inner.secrets.iter().any(|s| live(&s));
        let placeholder = none_live
            .then(|| PLACEHOLDER.inner.secrets.first().map(|s| (None, &s.secret)))
            .flatten();
        self.inner
            .secrets
            .iter()
            .enumerate()
            .filter(move |(_, s)| live(s))
            .map(|(index, s)| (Some(index), &s.secret))
            .chain(placeholder)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.inner.id)
            .field("secrets", &self.inner.secrets)
            .field("expires_at", &self.inner.expires_at)
            .field("revoked", &self.inner.revoked)
            .finish_non_exhaustive()
    }
}

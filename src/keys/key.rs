//! A key and its secrets.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use crate::crypto::{Ed25519PublicKey, Secret, ct_eq_secret};
use crate::rejection::RejectionKind;

/// What an unknown key id is checked against, so that it costs the same work as a known one: one
/// HMAC secret and one Ed25519 public key, each tried in place of a key's when it has no live
/// material of that kind.
static PLACEHOLDER: LazyLock<Key> = LazyLock::new(|| {
    Key::new("", Secret::placeholder()).with_secret(KeySecret::new(Ed25519PublicKey::placeholder()))
});

/// What a key's secret is: a secret shared with the sender, or the public key of a sender that
/// signs with its private key.
///
/// The two never stand in for each other: a MAC is computed with secrets only and a plain
/// secret compared with secrets only (a public key is public: as an HMAC key it would let anyone
/// sign), and an Ed25519 signature is verified with public keys only. A request whose proof is
/// of a kind the key holds no live material of is refused, after the same work as for an unknown
/// key.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum KeyMaterial {
    /// A shared secret: HMACs ([`Proof::Mac`](crate::Proof::Mac)) and plain secrets
    /// ([`Proof::Secret`](crate::Proof::Secret)) are checked with it.
    Secret(Secret),
    /// An Ed25519 public key: signatures ([`Proof::Ed25519`](crate::Proof::Ed25519)) are
    /// verified with it.
    Ed25519(Ed25519PublicKey),
}

impl KeyMaterial {
    /// The shared secret, if this is one.
    pub fn secret(&self) -> Option<&Secret> {
        match self {
            Self::Secret(secret) => Some(secret),
            Self::Ed25519(_) => None,
        }
    }

    /// The Ed25519 public key, if this is one.
    pub fn ed25519(&self) -> Option<&Ed25519PublicKey> {
        match self {
            Self::Ed25519(key) => Some(key),
            Self::Secret(_) => None,
        }
    }

    /// Whether `self` and `other` are the same material (secrets compared in constant time).
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Secret(a), Self::Secret(b)) => ct_eq_secret(a.expose(), b.expose()),
            (Self::Ed25519(a), Self::Ed25519(b)) => a == b,
            _ => false,
        }
    }
}

impl From<Secret> for KeyMaterial {
    fn from(secret: Secret) -> Self {
        Self::Secret(secret)
    }
}

impl From<Ed25519PublicKey> for KeyMaterial {
    fn from(key: Ed25519PublicKey) -> Self {
        Self::Ed25519(key)
    }
}

/// One secret of a key (an HMAC secret or an Ed25519 public key, see [`KeyMaterial`]), with an
/// optional label and end of life. Rotation, expiry and revocation work the same for both kinds.
#[derive(Clone)]
pub struct KeySecret {
    material: KeyMaterial,
    label: Option<Arc<str>>,
    pub(super) not_after: Option<SystemTime>,
}

impl KeySecret {
    /// A secret (a [`Secret`], or an [`Ed25519PublicKey`]) without label or end of life.
    ///
    /// ```
    /// use tower_hmac::crypto::Ed25519PublicKey;
    /// use tower_hmac::{KeySecret, Secret};
    ///
    /// let shared = KeySecret::new(Secret::new("whsec-bytes").unwrap());
    /// assert!(shared.secret().is_some());
    /// let public = Ed25519PublicKey::from_hex(
    ///     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    /// )
    /// .unwrap();
    /// let public = KeySecret::new(public).label("2026");
    /// assert!(public.secret().is_none() && public.public_key().is_some());
    /// ```
    pub fn new(material: impl Into<KeyMaterial>) -> Self {
        Self {
            material: material.into(),
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

    /// The shared secret, when this is one (`None` for an Ed25519 public key).
    pub fn secret(&self) -> Option<&Secret> {
        self.material.secret()
    }

    /// The Ed25519 public key, when this is one.
    pub fn public_key(&self) -> Option<&Ed25519PublicKey> {
        self.material.ed25519()
    }

    /// What it is: a secret or a public key.
    pub fn material(&self) -> &KeyMaterial {
        &self.material
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
            .field("material", &self.material)
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

impl From<Secret> for KeySecret {
    fn from(secret: Secret) -> Self {
        Self::new(secret)
    }
}

impl From<Ed25519PublicKey> for KeySecret {
    fn from(key: Ed25519PublicKey) -> Self {
        Self::new(key)
    }
}

impl From<KeyMaterial> for KeySecret {
    fn from(material: KeyMaterial) -> Self {
        Self::new(material)
    }
}

impl Key {
    /// A key with one secret that never expires: a [`Secret`], or an [`Ed25519PublicKey`] for a
    /// sender that signs with its private key.
    pub fn new(id: impl Into<Arc<str>>, secret: impl Into<KeyMaterial>) -> Self {
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

    /// The shared secrets to try (MACs, plain secrets), with their positions: the live ones, or,
    /// when none is live, the placeholder's secret (position `None`, never a match) so that the
    /// work is the same. A key's public keys are never among them.
    pub(crate) fn candidates(
        &self,
        now: SystemTime,
    ) -> impl Iterator<Item = (Option<usize>, &Secret)> + '_ {
        self.live(now, KeyMaterial::secret)
    }

    /// The Ed25519 public keys to verify signatures with, as [`candidates`](Self::candidates)
    /// gives secrets: the live ones, or the placeholder's.
    pub(crate) fn public_keys(
        &self,
        now: SystemTime,
    ) -> impl Iterator<Item = (Option<usize>, &Ed25519PublicKey)> + '_ {
        self.live(now, KeyMaterial::ed25519)
    }

    /// The live material of one kind (`pick`), or the placeholder's of that kind.
    fn live<'a, T: ?Sized + 'a>(
        &'a self,
        now: SystemTime,
        pick: fn(&KeyMaterial) -> Option<&T>,
    ) -> impl Iterator<Item = (Option<usize>, &'a T)> + 'a {
        let found = move |(index, s): (usize, &'a KeySecret)| -> Option<(Option<usize>, &'a T)> {
            s.is_live_at(now)
                .then(|| pick(&s.material).map(|m| (Some(index), m)))
                .flatten()
        };
        let none_live = !self
            .inner
            .secrets
            .iter()
            .enumerate()
            .any(|s| found(s).is_some());
        let placeholder = none_live
            .then(|| {
                PLACEHOLDER
                    .inner
                    .secrets
                    .iter()
                    .find_map(|s| pick(&s.material))
                    .map(|m| (None, m))
            })
            .flatten();
        self.inner
            .secrets
            .iter()
            .enumerate()
            .filter_map(found)
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

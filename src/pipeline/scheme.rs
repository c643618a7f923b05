use std::fmt;
use std::time::{Duration, SystemTime};

use http::HeaderValue;
use http::request::Parts;

use super::verified::MatchedSecret;
use crate::crypto::{Ed25519Signature, MacAlgorithm, Message, Secret, Tag};
use crate::keys::{Key, KeyMaterial};
use crate::rejection::Rejection;

/// One request-signing protocol: where its credentials are, what message is signed, which
/// freshness rule applies and what identity a verified request yields.
///
/// The generic [`VerifyLayer`](super::VerifyLayer) runs the pipeline; a scheme answers its
/// questions, and everything a scheme needs to answer them is public (header readers in
/// [`headers`](super::headers), tag decoders on [`Tag`], the [`Window`](super::Window) check,
/// [`Rejection`] constructors), so a scheme written outside this crate is built exactly like the
/// ones inside it. Only [`name`](Self::name), [`credentials`](Self::credentials) and
/// [`identity`](Self::identity) are required; a MAC scheme also writes its
/// [`message`](Self::message).
///
/// The pipeline, in order:
///
/// 1. [`credentials`](Self::credentials) reads the headers into the [`Presented`] credentials and
///    proof; [`check_fresh`](Self::check_fresh) checks the timestamp window.
/// 2. The key: looked up as soon as [`key_id`](Self::key_id) names it (from the headers, before
///    the body is read, so a request for an unknown key keeps none of its body). A scheme that
///    names no key (a webhook endpoint signing with one secret set) is checked against the key the
///    store holds under the scheme's [`name`](Self::name); a [`Key`] given as the store answers
///    every lookup with itself.
/// 3. For [`BodySigned`] schemes, the body is read (bounded, within a deadline), then
///    [`body_credentials`](Self::body_credentials) may take more from it (credentials carried in a
///    JSON body, a timestamp inside it, form parameters that are signed).
/// 4. The proof is checked against every live secret of the key, in constant time, with the same
///    work for an unknown key: a MAC is the HMAC-SHA256 of [`message`](Self::message), the one
///    rule the signers use too; an Ed25519 signature is verified over the same message with the
///    key's live public keys ([`Proof::Ed25519`]).
/// 5. [`check_fresh`](Self::check_fresh) runs again: for [`BodySigned`] schemes always, so that
///    what [`body_credentials`](Self::body_credentials) took from the body (a timestamp inside
///    it) is checked, and only once the proof covers it; when the body read had to wait, as of
///    that moment, and the key is looked up again: the request is decided as of its acceptance.
/// 6. The [`nonce`](Self::nonce), if any, is recorded in the replay store (and with it the
///    verified MAC); [`authorize`](Self::authorize) applies the key's policies; the inner service
///    gets [`identity`](Self::identity) inside [`Verified`](crate::Verified).
pub trait Scheme: Send + Sync + 'static {
    /// What the signed message is built from: the parsed credential headers (and what
    /// [`body_credentials`](Self::body_credentials) adds), without the signature itself. A
    /// signer builds the same type for the request it signs.
    type Credentials: Send + Sync + 'static;
    /// What handlers learn about the caller, inside [`Verified`](crate::Verified).
    type Identity: Clone + Send + Sync + 'static;
    /// [`BodySigned`] (the body is read, and may be signed or carry credentials) or
    /// [`HeadersOnly`] (the body is never touched). Decided here, once: it also decides the body
    /// type the inner service receives.
    type Body: BodyMode;

    /// A short lower-case name, used in logs, to separate replay-store keys of schemes, and as
    /// the key looked up for a scheme that names none.
    fn name(&self) -> &'static str;

    /// The `WWW-Authenticate` challenge sent with 401 responses, if any (default: none).
    fn challenge(&self) -> Option<HeaderValue> {
        None
    }

    /// Parses the credential headers. Missing or malformed headers are rejections
    /// ([`Rejection::missing`], [`Rejection::malformed`]), never panics.
    fn credentials(&self, request: &Parts) -> Result<Presented<Self::Credentials>, Rejection>;

    /// Takes more credentials from the body, once it is read ([`BodySigned`] schemes only).
    /// Default: nothing.
    fn body_credentials(
        &self,
        presented: &mut Presented<Self::Credentials>,
        body: &[u8],
    ) -> Result<(), Rejection> {
        let _ = (presented, body);
        Ok(())
    }

    /// The key the request names, if it names one (default: none, see the trait docs).
    fn key_id<'c>(&self, credentials: &'c Self::Credentials) -> Option<&'c str> {
        let _ = credentials;
        None
    }

    /// Checks timestamp windows and the like ([`Window`](super::Window)). Runs before the key
    /// lookup (before the body: what the body carries is not there yet), and again once the
    /// proof verified, for [`BodySigned`] schemes or when the body read had to wait (then as of
    /// acceptance).
    fn check_fresh(
        &self,
        credentials: &Self::Credentials,
        now: SystemTime,
    ) -> Result<(), Rejection> {
        let _ = (credentials, now);
        Ok(())
    }

    /// Writes the signed message: what the verifier MACs under each candidate secret and what a
    /// signer MACs under its own. `body` is the request body for [`BodySigned`] schemes (empty
    /// for [`HeadersOnly`] ones). Written once, here, for both sides.
    fn message(&self, credentials: &Self::Credentials, body: &[u8], message: &mut Message<'_>) {
        let _ = (credentials, body, message);
    }

    /// How many spellings of the signed message the sender may have signed (default 1): a
    /// scheme whose sender signs one of several equivalent forms of a request (Twilio's URL with
    /// and without its port, as the vendor's SDKs try it) returns more, and writes each with
    /// [`message_form`](Self::message_form). The request verifies when the MAC of one of them
    /// matches; every form is computed under every candidate secret, matched or not. Return a
    /// small number fixed by the scheme, never one the request chooses: each form is a MAC of
    /// the whole message.
    fn message_forms(&self, credentials: &Self::Credentials) -> usize {
        let _ = credentials;
        1
    }

    /// Writes spelling `form` (below [`message_forms`](Self::message_forms)) of the signed
    /// message. Default: [`message`](Self::message), whatever the form. Signers sign
    /// [`message`](Self::message).
    fn message_form(
        &self,
        credentials: &Self::Credentials,
        form: usize,
        body: &[u8],
        message: &mut Message<'_>,
    ) {
        let _ = form;
        self.message(credentials, body, message);
    }

    /// The MAC the message is signed with (default HMAC-SHA256): the verifier computes it, and
    /// so does every signer; presented tags of another length never match.
    fn mac_algorithm(&self, credentials: &Self::Credentials) -> MacAlgorithm {
        let _ = credentials;
        MacAlgorithm::HmacSha256
    }

    /// For [`Proof::Custom`]: checks the request's credential with material of the scheme's own
    /// (a token signed by the server, verified by a JWT library, say) and returns which secret
    /// verified it, `None` if none did, or a refusal of its own. It runs before the key lookup, so
    /// it costs the same whatever key the credential names; the key found then decides only the
    /// caller's status and policies. It may complete `credentials` with what the check read
    /// (a token's verified claims), so that nothing is decoded twice. Default: nothing verifies.
    fn verify_custom(
        &self,
        credentials: &mut Self::Credentials,
        now: SystemTime,
    ) -> Result<Option<MatchedSecret>, Rejection> {
        let _ = (credentials, now);
        Ok(None)
    }

    /// A request without proof ([`Proof::Unsigned`]) is refused unless this allows it for
    /// `key` (an optional-authentication policy of the key). It is then let through as the key's
    /// caller, unverified: [`Verified::secret`](crate::Verified::secret) is `None`. `key` may be
    /// the placeholder of an unknown id. Default: refused as missing credentials.
    fn allow_unsigned(&self, credentials: &Self::Credentials, key: &Key) -> Result<(), Rejection> {
        let _ = (credentials, key);
        Err(Rejection::new(
            crate::rejection::RejectionKind::MissingCredentials,
        ))
    }

    /// The value that must not be accepted twice, if the scheme has one. Recorded in the replay
    /// store (when the layer has one) after the proof verified, together with the verified MAC
    /// when it is not the nonce itself, so that one signed message is accepted once even if the
    /// scheme's encoding lets it travel with another nonce.
    fn nonce<'p>(&self, presented: &'p Presented<Self::Credentials>) -> Option<&'p [u8]> {
        let _ = presented;
        None
    }

    /// How long a nonce (or a handled delivery) recorded at `now` (when the request is accepted)
    /// must be remembered: as long as the same request could still be accepted. A scheme with a
    /// timestamp window counts it from the timestamp (until it leaves the window), not from
    /// `now`. Default: 24 hours.
    fn nonce_ttl(&self, credentials: &Self::Credentials, now: SystemTime) -> Duration {
        let _ = (credentials, now);
        Duration::from_secs(24 * 60 * 60)
    }

    /// Whether the scheme delivers events (a webhook) rather than calls. With a replay store, a
    /// copy of a delivery is then handled as the same delivery: acknowledged with 200 when an
    /// earlier copy was answered 2xx, refused with 409 while another copy is being handled, and
    /// handled again when an earlier copy failed (see [`VerifyLayer`](super::VerifyLayer)'s
    /// *Deliveries*). Without, a scheme's [`nonce`](Self::nonce) is refused the second time.
    /// Default: calls.
    fn delivers(&self) -> bool {
        false
    }

    /// For a scheme that [delivers](Self::delivers): the delivery id the sender signed, if the
    /// scheme signs one (Standard Webhooks' `webhook-id`). Otherwise a delivery is identified by
    /// its verified signature; an id header the sender does not sign is never used for this.
    fn delivery_id<'p>(&self, presented: &'p Presented<Self::Credentials>) -> Option<&'p [u8]> {
        let _ = presented;
        None
    }

    /// A verified request the layer answers itself instead of calling the inner service: a
    /// sender's handshake (Slack's `url_verification`, Zoom's `endpoint.url_validation`,
    /// Discord's PING). `material` is what verified the request: the secret that matched (Zoom
    /// answers with a MAC under it: [`KeyMaterial::secret`]), or the public key that verified
    /// an Ed25519 signature. Default: none.
    fn handshake(
        &self,
        credentials: &Self::Credentials,
        body: &[u8],
        material: &KeyMaterial,
    ) -> Option<http::Response<bytes::Bytes>> {
        let _ = (credentials, body, material);
        None
    }

    /// Checks the key's policies once the request is known to come from the key's holder (the
    /// key is live, the proof matched, the nonce was recorded), for example a mode turned off for
    /// this key ([`RejectionKind::NotAllowed`]). Because it runs after the proof, a caller without
    /// the secret gets the same answer for a key it may not use as for an unknown one.
    ///
    /// [`RejectionKind::NotAllowed`]: crate::RejectionKind::NotAllowed
    fn authorize(&self, credentials: &Self::Credentials, key: &Key) -> Result<(), Rejection> {
        let _ = (credentials, key);
        Ok(())
    }

    /// The layer verifying requests with this scheme, looking keys up in `keys`: the same as
    /// [`VerifyLayer::with_scheme`](super::VerifyLayer::with_scheme), for any scheme, this crate's or
    /// yours.
    fn layer(self, keys: impl crate::KeyStore) -> super::VerifyLayer<Self>
    where
        Self: Sized,
    {
        super::VerifyLayer::with_scheme(self, keys)
    }

    /// The identity of an accepted request; `matched` is the secret that verified it, `None` for
    /// a request let through unsigned.
    fn identity(
        &self,
        credentials: Self::Credentials,
        matched: Option<&MatchedSecret>,
    ) -> Self::Identity;
}

/// What a request presents: the credentials the message is built from, and the proof.
#[derive(Debug)]
pub struct Presented<C> {
    /// The parsed credentials.
    pub credentials: C,
    /// The signature, secret or token offered as proof.
    pub proof: Proof,
}

impl<C> Presented<C> {
    /// Credentials proven by one MAC over [`Scheme::message`].
    pub fn mac(credentials: C, tag: Tag) -> Self {
        Self {
            credentials,
            proof: Proof::Mac(Signatures::one(tag)),
        }
    }

    /// Credentials proven by one Ed25519 signature of [`Scheme::message`].
    pub fn ed25519(credentials: C, signature: Ed25519Signature) -> Self {
        Self {
            credentials,
            proof: Proof::Ed25519 {
                signatures: Ed25519Signatures::one(signature),
                macs: Signatures::new(),
            },
        }
    }
}

/// The forms a proof takes. Which one a request may use, for which key, is the scheme's
/// decision ([`Scheme::allow_unsigned`], [`Scheme::authorize`]); how each is checked (constant
/// time, the same work for unknown keys) is the pipeline's, once for every scheme.
#[derive(Debug)]
#[non_exhaustive]
// The tags are held inline (a few hundred bytes, once per request) rather than boxed: no
// allocation on the verification path.
#[allow(clippy::large_enum_variant)]
pub enum Proof {
    /// HMACs of [`Scheme::message`]; the request verifies if one of them is the MAC under a live
    /// secret of the key (a sender may list several during a rotation). Only the key's shared
    /// secrets are tried, never its public keys.
    Mac(Signatures),
    /// Ed25519 signatures of [`Scheme::message`], each verified (strictly) with every live
    /// public key of the key, and HMACs beside them (Standard Webhooks lets one header list
    /// `v1` and `v1a` entries), checked as [`Proof::Mac`]'s with the key's shared secrets. The
    /// request verifies if one signature or one MAC matches; a kind the key holds no live
    /// material of never matches (a `v1a` signature for a key of secrets only, a `v1` MAC for a
    /// key of public keys only), after the same work as for an unknown key.
    ///
    /// Each signature costs one verification (a SHA-512 of the whole message, and the curve
    /// work) per live public key, so a request presents at most [`Ed25519Signatures::MAX`].
    /// Each verification hashes the message as [`Scheme::message`] writes it, without gathering
    /// it into a copy.
    Ed25519 {
        /// The Ed25519 signatures.
        signatures: Ed25519Signatures,
        /// MACs presented beside them, often none.
        macs: Signatures,
    },
    /// The shared secret itself (a static API secret), compared in constant time with each live
    /// secret.
    Secret(Secret),
    /// A credential the scheme verifies itself, with material of its own
    /// ([`Scheme::verify_custom`]), such as a JWT the server signed, checked by a JWT library.
    Custom,
    /// No proof; see [`Scheme::allow_unsigned`].
    Unsigned,
}

/// Up to [`Signatures::MAX`] presented tags. One is kept inline; a list of several (a sender
/// rotating its secret) goes on the heap, so that every [`Proof`] stays small: presented
/// credentials are moved a few times on their way through the check, and eight tags inline made
/// them 300 bytes larger.
#[derive(Clone)]
pub struct Signatures(Tags);

#[derive(Clone)]
enum Tags {
    None,
    One(Tag),
    Several(Vec<Tag>),
}

/// A header listed more signatures than [`Signatures::MAX`] (or, of Ed25519 signatures, than
/// [`Ed25519Signatures::MAX`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManySignatures;

impl fmt::Display for TooManySignatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("more signatures than a request may present")
    }
}

impl std::error::Error for TooManySignatures {}

impl Signatures {
    /// The most signatures one request may present. Senders list two during a rotation; a
    /// longer list only multiplies the work of a refused request.
    pub const MAX: usize = 8;

    /// No signature yet.
    pub const fn new() -> Self {
        Self(Tags::None)
    }

    /// One signature.
    pub const fn one(tag: Tag) -> Self {
        Self(Tags::One(tag))
    }

    /// Adds a signature, or fails if [`MAX`](Self::MAX) are already held.
    pub fn push(&mut self, tag: Tag) -> Result<(), TooManySignatures> {
        match &mut self.0 {
            Tags::None => self.0 = Tags::One(tag),
            Tags::One(first) => self.0 = Tags::Several(vec![*first, tag]),
            Tags::Several(tags) if tags.len() < Self::MAX => tags.push(tag),
            Tags::Several(_) => return Err(TooManySignatures),
        }
        Ok(())
    }

    /// The signatures, in the order presented.
    pub fn as_slice(&self) -> &[Tag] {
        match &self.0 {
            Tags::None => &[],
            Tags::One(tag) => std::slice::from_ref(tag),
            Tags::Several(tags) => tags,
        }
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

impl Default for Signatures {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Signatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signatures({} tags)", self.len())
    }
}

/// Up to [`Ed25519Signatures::MAX`] presented Ed25519 signatures.
///
/// Held on the heap (64 bytes each): kept inline, they would grow every [`Proof`], the MAC
/// schemes' included, and the Ed25519 path allocates its message anyway.
#[derive(Clone, Default)]
pub struct Ed25519Signatures {
    signatures: Vec<Ed25519Signature>,
}

impl Ed25519Signatures {
    /// The most signatures one request may present: each one is a whole verification per live
    /// public key, so the limit is lower than [`Signatures::MAX`]. Senders list two during a
    /// rotation.
    pub const MAX: usize = 4;

    /// No signature yet.
    pub const fn new() -> Self {
        Self {
            signatures: Vec::new(),
        }
    }

    /// One signature.
    pub fn one(signature: Ed25519Signature) -> Self {
        Self {
            signatures: vec![signature],
        }
    }

    /// Adds a signature, or fails if [`MAX`](Self::MAX) are already held.
    pub fn push(&mut self, signature: Ed25519Signature) -> Result<(), TooManySignatures> {
        if self.signatures.len() >= Self::MAX {
            return Err(TooManySignatures);
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// The signatures, in the order presented.
    pub fn as_slice(&self) -> &[Ed25519Signature] {
        &self.signatures
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }
}

impl fmt::Debug for Ed25519Signatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519Signatures({} signatures)", self.len())
    }
}

/// How a layer treats the request body: [`BodySigned`] or [`HeadersOnly`], named by
/// [`Scheme::Body`].
pub trait BodyMode: sealed::Sealed + Send + Sync + 'static {
    /// Whether the body is read before the request is verified.
    const READS_BODY: bool;

    /// The request body type the inner service receives, for a request body `B`.
    type Inner<B>;

    #[doc(hidden)]
    type Kept<B: Send>: Send;

    /// Splits a request body into what is read (if anything) and what is kept for the inner
    /// service.
    #[doc(hidden)]
    fn split<B: Send>(body: B) -> (Option<B>, Self::Kept<B>);

    /// The body handed to the inner service: the kept one, or the bytes read.
    #[doc(hidden)]
    fn hand_on<B: Send>(kept: Self::Kept<B>, read: bytes::Bytes) -> Self::Inner<B>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::BodySigned {}
    impl Sealed for super::HeadersOnly {}
}

/// The body is read (up to the limit, within the deadline) before the request is verified: it is
/// signed, or carries credentials. The inner service receives it as a
/// [`VerifiedBody`](super::VerifiedBody).
#[derive(Debug, Clone, Copy)]
pub enum BodySigned {}

/// Only headers are verified: the body is never touched and reaches the inner service as it
/// came, so streaming requests and gRPC streams work.
#[derive(Debug, Clone, Copy)]
pub enum HeadersOnly {}

impl BodyMode for BodySigned {
    const READS_BODY: bool = true;
    type Inner<B> = super::VerifiedBody;
    type Kept<B: Send> = ();

    fn split<B: Send>(body: B) -> (Option<B>, ()) {
        (Some(body), ())
    }

    fn hand_on<B: Send>((): (), read: bytes::Bytes) -> super::VerifiedBody {
        super::VerifiedBody::new(read)
    }
}

impl BodyMode for HeadersOnly {
    const READS_BODY: bool = false;
    type Inner<B> = B;
    type Kept<B: Send> = B;

    fn split<B: Send>(body: B) -> (Option<B>, B) {
        (None, body)
    }

    fn hand_on<B: Send>(kept: B, _read: bytes::Bytes) -> B {
        kept
    }
}

//! HMACs over message parts, strict tag decoding and constant-time comparison.
//!
//! A scheme writes its signed message part by part into a [`Message`]
//! ([`Scheme::message`](crate::pipeline::Scheme::message)), so `"{ts}.{body}"`, `body ++ salt`
//! and the like are never concatenated into a second copy; the verifier and the signers hand it
//! the same sink. The MAC is HMAC-SHA256, or HMAC-SHA1 where a sender still signs with it
//! (Twilio).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::sync::OnceLock;

use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::ed25519::{Ed25519PublicKey, Ed25519Signature, Verification};
use super::secret::Secret;

/// The HMAC implementations: RustCrypto's `hmac` + `sha2`/`sha1` (pure Rust) by default, `ring`
/// with the `ring` feature. Both are fed incrementally and produce the same tags; the comparison
/// is ours (constant time, `subtle`) in both cases.
mod backend {
    use super::{MacAlgorithm, TAG_LEN};

    #[cfg(not(feature = "ring"))]
    #[derive(Clone)]
    pub(super) enum State {
        Sha256(hmac::Hmac<sha2::Sha256>),
        Sha1(hmac::Hmac<sha1::Sha1>),
    }

    #[cfg(not(feature = "ring"))]
    impl State {
        pub(super) fn new(algorithm: MacAlgorithm, key: &[u8]) -> Self {
            use hmac::digest::KeyInit as _;
            // HMAC takes keys of any length, so these never fail; should one ever, a zero-key
            // state still yields a MAC no client produced, so the request fails closed.
            match algorithm {
                MacAlgorithm::HmacSha256 => Self::Sha256(
                    hmac::Hmac::new_from_slice(key)
                        .unwrap_or_else(|_| hmac::Hmac::new(&Default::default())),
                ),
                MacAlgorithm::HmacSha1 => Self::Sha1(
                    hmac::Hmac::new_from_slice(key)
                        .unwrap_or_else(|_| hmac::Hmac::new(&Default::default())),
                ),
            }
        }

        pub(super) fn update(&mut self, part: &[u8]) {
            match self {
                Self::Sha256(mac) => hmac::Mac::update(mac, part),
                Self::Sha1(mac) => hmac::Mac::update(mac, part),
            }
        }

        /// The tag, left-aligned in 32 bytes, and its length.
        pub(super) fn finalize(self) -> ([u8; TAG_LEN], usize) {
            let mut out = [0u8; TAG_LEN];
            let len = match self {
                Self::Sha256(mac) => copy(&hmac::Mac::finalize(mac).into_bytes(), &mut out),
                Self::Sha1(mac) => copy(&hmac::Mac::finalize(mac).into_bytes(), &mut out),
            };
            (out, len)
        }
    }

    /// A secret's HMAC state once keyed (its padded key hashed), cloned to start each MAC.
    #[cfg(not(feature = "ring"))]
    #[derive(Clone)]
    pub(super) struct Keyed(State);

    #[cfg(not(feature = "ring"))]
    impl Keyed {
        pub(super) fn new(algorithm: MacAlgorithm, key: &[u8]) -> Self {
            Self(State::new(algorithm, key))
        }

        pub(super) fn start(&self) -> State {
            self.0.clone()
        }
    }

    #[cfg(feature = "ring")]
    pub(super) struct State(ring::hmac::Context);

    /// A secret's HMAC key once keyed (`ring` hashes the padded key into it), each MAC started
    /// from it.
    #[cfg(feature = "ring")]
    #[derive(Clone)]
    pub(super) struct Keyed(ring::hmac::Key);

    #[cfg(feature = "ring")]
    impl Keyed {
        pub(super) fn new(algorithm: MacAlgorithm, key: &[u8]) -> Self {
            Self(ring::hmac::Key::new(ring_algorithm(algorithm), key))
        }

        pub(super) fn start(&self) -> State {
            State(ring::hmac::Context::with_key(&self.0))
        }
    }

    #[cfg(feature = "ring")]
    fn ring_algorithm(algorithm: MacAlgorithm) -> ring::hmac::Algorithm {
        match algorithm {
            MacAlgorithm::HmacSha256 => ring::hmac::HMAC_SHA256,
            MacAlgorithm::HmacSha1 => ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        }
    }

    #[cfg(feature = "ring")]
    impl State {
        pub(super) fn update(&mut self, part: &[u8]) {
            self.0.update(part);
        }

        /// The tag, left-aligned in 32 bytes, and its length.
        pub(super) fn finalize(self) -> ([u8; TAG_LEN], usize) {
            let mut out = [0u8; TAG_LEN];
            let len = copy(self.0.sign().as_ref(), &mut out);
            (out, len)
        }
    }

    /// Copies `tag` into `out` without indexing; tags are never longer than `out`.
    fn copy(tag: &[u8], out: &mut [u8; TAG_LEN]) -> usize {
        let mut len = 0;
        for (dst, src) in out.iter_mut().zip(tag) {
            *dst = *src;
            len += 1;
        }
        len
    }
}

use backend::{Keyed, State};

/// A secret's HMAC states once keyed, one per algorithm, each made on its first use: every MAC
/// then starts from a copy of it instead of hashing the padded key again (the two blocks of the
/// inner and outer pads, a third of the work of an HMAC of a short message).
///
/// Neither `hmac` 0.12 nor `ring` wipes its states, so ours is wiped here, on drop, as the
/// secret's bytes are: overwritten in place by a state keyed with the empty key, the write kept
/// from being optimised away by `black_box` (best effort without `unsafe`; the states of an HMAC
/// keyed for each call are never wiped at all). A clone starts empty rather than copy them.
///
/// Each state is boxed: kept inline they made every [`Secret`] 350 bytes, and a presented secret
/// ([`Proof::Secret`](crate::pipeline::Proof::Secret)) with it every presented credential, which
/// is moved a few times per request; boxed, a secret is a few dozen bytes and pays one allocation
/// per algorithm, on first use.
#[derive(Default)]
pub(crate) struct KeyedMacs {
    sha256: OnceLock<Box<Keyed>>,
    sha1: OnceLock<Box<Keyed>>,
}

impl KeyedMacs {
    fn cell(&self, algorithm: MacAlgorithm) -> &OnceLock<Box<Keyed>> {
        match algorithm {
            MacAlgorithm::HmacSha256 => &self.sha256,
            MacAlgorithm::HmacSha1 => &self.sha1,
        }
    }
}

impl Clone for KeyedMacs {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl Drop for KeyedMacs {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl KeyedMacs {
    /// Overwrites every state made with the state of the empty key.
    fn wipe(&mut self) {
        let cells = [
            (&mut self.sha256, MacAlgorithm::HmacSha256),
            (&mut self.sha1, MacAlgorithm::HmacSha1),
        ];
        for (cell, algorithm) in cells {
            if let Some(keyed) = cell.get_mut() {
                **keyed = Keyed::new(algorithm, &[]);
                std::hint::black_box(keyed);
            }
        }
    }
}

/// A MAC of `algorithm` keyed by `secret`, ready for the message.
fn start(algorithm: MacAlgorithm, secret: &Secret) -> State {
    secret
        .keyed()
        .cell(algorithm)
        .get_or_init(|| Box::new(Keyed::new(algorithm, secret.expose())))
        .start()
}

/// Length of an HMAC-SHA256 tag in bytes, the longest tag this crate handles.
pub const TAG_LEN: usize = 32;

/// The MAC a scheme signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MacAlgorithm {
    /// HMAC-SHA256 (32-byte tags): every scheme but Twilio's.
    #[default]
    HmacSha256,
    /// HMAC-SHA1 (20-byte tags), for senders that still sign with it (Twilio).
    HmacSha1,
}

impl MacAlgorithm {
    /// The length of its tags in bytes.
    pub const fn tag_len(self) -> usize {
        match self {
            Self::HmacSha256 => 32,
            Self::HmacSha1 => 20,
        }
    }
}

/// A decoded signature as sent by a client: exactly the length of its algorithm's tags (32 bytes
/// for HMAC-SHA256, 20 for HMAC-SHA1).
///
/// Decoding is strict: a wrong length or alphabet is an error, never a shorter compare.
///
/// A tag has no `PartialEq`, on purpose: the only way to compare two is
/// [`ct_matches`](Self::ct_matches), in constant time, so a variable-time `==` cannot creep into a
/// verifier.
///
/// ```compile_fail
/// use tower_hmac::crypto::Tag;
///
/// let (a, b) = (Tag::from_bytes([1; 32]), Tag::from_bytes([1; 32]));
/// assert!(a == b); // does not compile: compare tags with `ct_matches`
/// ```
///
/// ```
/// use tower_hmac::crypto::Tag;
///
/// let (a, b) = (Tag::from_bytes([1; 32]), Tag::from_bytes([1; 32]));
/// assert!(a.ct_matches(&b));
/// ```
#[derive(Clone, Copy)]
pub struct Tag {
    /// Left-aligned, zero after `len`.
    bytes: [u8; TAG_LEN],
    len: u8,
}

/// Why a signature could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Not the length an encoded tag of its algorithm has.
    Length,
    /// A character outside the alphabet, or non-canonical padding.
    Alphabet,
}

/// Decodes exactly `out.len() * 2` hex digits (either case) into `out`: any other length is
/// [`DecodeError::Length`], any other character [`DecodeError::Alphabet`]. `const_hex` alone would
/// also take a `0x` prefix; with the length fixed, a prefixed value is too long or too short.
pub(crate) fn decode_hex(text: &[u8], out: &mut [u8]) -> Result<(), DecodeError> {
    if text.len() != out.len().saturating_mul(2) {
        return Err(DecodeError::Length);
    }
    const_hex::decode_to_slice(text, out).map_err(|_| DecodeError::Alphabet)
}

impl Tag {
    /// Decodes 64 hex digits (either case): an HMAC-SHA256 tag.
    pub fn from_hex(text: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_hex(text, MacAlgorithm::HmacSha256)
    }

    /// Decodes standard, padded base64 (44 characters): an HMAC-SHA256 tag. URL-safe or unpadded
    /// forms are refused.
    pub fn from_base64(text: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_base64(text, MacAlgorithm::HmacSha256)
    }

    /// Decodes URL-safe base64 without padding (43 characters): an HMAC-SHA256 tag, as JWTs
    /// carry signatures. Standard or padded forms are refused.
    pub fn from_base64url(text: &[u8]) -> Result<Self, DecodeError> {
        let len = MacAlgorithm::HmacSha256.tag_len();
        if text.len() != (len * 4).div_ceil(3) {
            return Err(DecodeError::Length);
        }
        Self::decode_with(text, len, |text, out| {
            URL_SAFE_NO_PAD.decode_slice(text, out)
        })
    }

    /// Decodes a tag of `algorithm` in hex (either case): 64 digits for HMAC-SHA256, 40 for
    /// HMAC-SHA1.
    pub fn decode_hex(text: &[u8], algorithm: MacAlgorithm) -> Result<Self, DecodeError> {
        let len = algorithm.tag_len();
        let mut bytes = [0u8; TAG_LEN];
        let out = bytes.get_mut(..len).ok_or(DecodeError::Length)?;
        // Exactly twice `len` digits, or `DecodeError::Length`.
        decode_hex(text, out)?;
        Ok(Self::new(bytes, len))
    }

    /// Decodes a tag of `algorithm` in standard, padded base64: 44 characters for HMAC-SHA256, 28
    /// for HMAC-SHA1. URL-safe or unpadded forms are refused.
    pub fn decode_base64(text: &[u8], algorithm: MacAlgorithm) -> Result<Self, DecodeError> {
        let len = algorithm.tag_len();
        if text.len() != len.div_ceil(3) * 4 {
            return Err(DecodeError::Length);
        }
        Self::decode_with(text, len, |text, out| STANDARD.decode_slice(text, out))
    }

    fn decode_with(
        text: &[u8],
        len: usize,
        decode: impl FnOnce(&[u8], &mut [u8]) -> Result<usize, base64::DecodeSliceError>,
    ) -> Result<Self, DecodeError> {
        // Room for one more byte than the tag, so a longer decoding is told apart.
        let mut buffer = [0u8; TAG_LEN + 1];
        match decode(text, &mut buffer) {
            Ok(decoded) if decoded == len => {
                let mut bytes = [0u8; TAG_LEN];
                for (dst, src) in bytes.iter_mut().zip(buffer.iter()).take(len) {
                    *dst = *src;
                }
                Ok(Self::new(bytes, len))
            }
            Ok(_) => Err(DecodeError::Length),
            Err(_) => Err(DecodeError::Alphabet),
        }
    }

    fn new(bytes: [u8; TAG_LEN], len: usize) -> Self {
        Self {
            bytes,
            // Tags are 20 or 32 bytes.
            len: u8::try_from(len).unwrap_or(u8::MAX),
        }
    }

    /// Wraps the raw bytes of an HMAC-SHA256 tag.
    pub const fn from_bytes(bytes: [u8; TAG_LEN]) -> Self {
        Self {
            bytes,
            len: TAG_LEN as u8,
        }
    }

    /// The tag bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes
            .get(..usize::from(self.len))
            .unwrap_or(&self.bytes)
    }

    /// Lower-case hex, as the Humanos, Inqud and Spike clients send it.
    pub fn to_hex(&self) -> String {
        const_hex::encode(self.as_bytes())
    }

    /// Standard padded base64, as the Proficient clients send it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.as_bytes())
    }

    /// URL-safe base64 without padding.
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.as_bytes())
    }

    /// Constant-time equality (tags of different lengths never match).
    pub fn ct_matches(&self, other: &Tag) -> bool {
        (self.words().ct_eq(&other.words()) & self.len.ct_eq(&other.len)).into()
    }

    /// The bytes as four 64-bit words: `subtle` compares each word in constant time, four
    /// compares where the bytes would take thirty-two.
    fn words(&self) -> [u64; TAG_LEN / 8] {
        let mut words = [0u64; TAG_LEN / 8];
        for (word, bytes) in words.iter_mut().zip(self.bytes.as_chunks::<8>().0) {
            *word = u64::from_ne_bytes(*bytes);
        }
        words
    }
}

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tag(..)")
    }
}

/// A scheme's signed message being written, part by part, into a MAC, into an Ed25519
/// verification (its SHA-512), or, for a signer, into one buffer.
///
/// [`Scheme::message`](crate::pipeline::Scheme::message) writes into one; the verifier keys it
/// with each candidate secret, or hashes it for each candidate public key and signature, a signer
/// with its own key. Only an Ed25519 signer gathers the parts into one buffer (signing hashes the
/// message twice), and the mock, to show the message of a refused request.
pub struct Message<'a> {
    sink: Sink<'a>,
}

enum Sink<'a> {
    Mac(&'a mut State),
    Bytes(&'a mut Vec<u8>),
    Ed25519(&'a mut ed25519_dalek::StreamVerifier),
}

impl Message<'_> {
    /// Appends `part` to the signed message.
    pub fn write(&mut self, part: &[u8]) {
        match &mut self.sink {
            Sink::Mac(mac) => mac.update(part),
            Sink::Bytes(bytes) => bytes.extend_from_slice(part),
            Sink::Ed25519(verification) => verification.update(part),
        }
    }

    /// Appends `n` in decimal, as senders render a timestamp into their signed message (ASCII
    /// digits, no sign, no leading zeros), without allocating.
    ///
    /// ```
    /// use tower_hmac::Secret;
    /// use tower_hmac::crypto::hmac_sha256;
    ///
    /// let secret = Secret::new("key").unwrap();
    /// let written = hmac_sha256(&secret, |m| m.write_decimal(1_763_800_000));
    /// let text = hmac_sha256(&secret, |m| m.write(b"1763800000"));
    /// assert!(written.ct_matches(&text));
    /// ```
    pub fn write_decimal(&mut self, n: u64) {
        // u64::MAX has 20 digits; they are filled from the end.
        let mut digits = [0u8; 20];
        let mut len = 0;
        let mut rest = n;
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
            len += 1;
            if rest == 0 {
                break;
            }
        }
        if let Some(text) = digits.get(digits.len() - len..) {
            self.write(text);
        }
    }
}

/// Writes the message `write` writes into an Ed25519 verification, part by part.
pub(super) fn message_into(
    verification: &mut ed25519_dalek::StreamVerifier,
    write: impl FnOnce(&mut Message<'_>),
) {
    write(&mut Message {
        sink: Sink::Ed25519(verification),
    });
}

/// The message `write` writes, gathered into `out` (emptied first): what Ed25519 signs, and
/// what the mock's explanations show of a refused request (feature `mock`).
pub(crate) fn message_bytes(out: &mut Vec<u8>, write: impl FnOnce(&mut Message<'_>)) {
    out.clear();
    write(&mut Message {
        sink: Sink::Bytes(out),
    });
}

impl std::fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message(..)")
    }
}

/// HMAC-SHA256 of the message that `write` writes, keyed by `secret`.
///
/// ```
/// use tower_hmac::Secret;
/// use tower_hmac::crypto::hmac_sha256;
///
/// // RFC 4231, test case 2.
/// let tag = hmac_sha256(&Secret::new("Jefe").unwrap(), |m| m.write(b"what do ya want for nothing?"));
/// assert_eq!(tag.to_hex(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
/// ```
pub fn hmac_sha256(secret: &Secret, write: impl FnOnce(&mut Message<'_>)) -> Tag {
    hmac(MacAlgorithm::HmacSha256, secret, write)
}

/// The HMAC of `algorithm` of the message that `write` writes, keyed by `secret`.
///
/// ```
/// use tower_hmac::Secret;
/// use tower_hmac::crypto::{MacAlgorithm, hmac};
///
/// // RFC 2202, test case 2.
/// let tag = hmac(MacAlgorithm::HmacSha1, &Secret::new("Jefe").unwrap(), |m| {
///     m.write(b"what do ya want for nothing?")
/// });
/// assert_eq!(tag.to_hex(), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
/// ```
pub fn hmac(algorithm: MacAlgorithm, secret: &Secret, write: impl FnOnce(&mut Message<'_>)) -> Tag {
    let mut mac = start(algorithm, secret);
    write(&mut Message {
        sink: Sink::Mac(&mut mac),
    });
    #[cfg(any(test, feature = "__count-work"))]
    work::mac();
    let (bytes, len) = mac.finalize();
    Tag::new(bytes, len)
}

/// The MAC work of a request whose bytes are not kept (its key is unknown, expired or revoked):
/// one MAC per candidate secret, fed the body as it streams by, so that such a request costs
/// what a known key's does although its body is dropped chunk by chunk. The result is never
/// compared with anything.
///
/// For Ed25519 signatures, the same for each candidate public key and presented signature: a
/// verification started as a known key's is (a signature refused before any hashing is refused
/// here too, with no more work), fed the body as it streams by, and finished over the rest of the
/// message (the curve work of a verification).
pub(crate) struct Discarded {
    states: Vec<State>,
    signatures: Vec<Verification>,
}

impl Discarded {
    pub(crate) fn new<'k>(
        algorithm: MacAlgorithm,
        secrets: impl IntoIterator<Item = &'k Secret>,
    ) -> Self {
        Self {
            states: secrets
                .into_iter()
                .map(|secret| start(algorithm, secret))
                .collect(),
            signatures: Vec::new(),
        }
    }

    /// Adds the work of verifying each signature of `signatures` with each key of `keys`.
    pub(crate) fn with_ed25519<'k>(
        mut self,
        keys: impl IntoIterator<Item = &'k Ed25519PublicKey>,
        signatures: &[Ed25519Signature],
    ) -> Self {
        for key in keys {
            self.signatures.extend(
                signatures
                    .iter()
                    .filter_map(|signature| key.start(signature)),
            );
        }
        self
    }

    pub(crate) fn update(&mut self, chunk: &[u8]) {
        for state in &mut self.states {
            state.update(chunk);
            #[cfg(any(test, feature = "__count-work"))]
            work::body_bytes(chunk.len());
        }
        for verification in &mut self.signatures {
            verification.update(chunk);
            #[cfg(any(test, feature = "__count-work"))]
            work::body_bytes(chunk.len());
        }
    }

    /// Finishes every MAC and verification, after `write` writes the rest of the message into
    /// each (the scheme's message with an empty body: its non-body parts).
    pub(crate) fn finish(self, mut write: impl FnMut(&mut Message<'_>)) {
        for mut state in self.states {
            write(&mut Message {
                sink: Sink::Mac(&mut state),
            });
            std::hint::black_box(state.finalize());
            #[cfg(any(test, feature = "__count-work"))]
            work::mac();
        }
        for verification in self.signatures {
            std::hint::black_box(verification.finish(&mut write));
        }
    }
}

/// Equality of a presented secret and a stored one that reveals neither content nor length
/// through timing: both are hashed with SHA-256 and the digests compared in constant time. (A
/// plain constant-time slice compare returns early on a length mismatch, which would tell an
/// unknown key, checked against a placeholder, from a known one.)
pub fn ct_eq_secret(presented: &[u8], stored: &[u8]) -> bool {
    use sha2::Digest as _;
    #[cfg(any(test, feature = "__count-work"))]
    work::secret_compare();
    let a = Sha256::digest(presented);
    let b = Sha256::digest(stored);
    a.as_slice().ct_eq(b.as_slice()).into()
}

/// Per-thread counters of the verifier's MAC, signature and secret-compare work, for this
/// crate's tests (feature `__count-work`): they prove that an unknown key costs the same work as
/// a known one. Not part of the API.
#[cfg(any(test, feature = "__count-work"))]
#[doc(hidden)]
pub mod work {
    use std::cell::Cell;

    thread_local! {
        static COUNTS: Cell<Work> = const {
            Cell::new(Work { macs: 0, body_bytes: 0, secret_compares: 0, signatures: 0 })
        };
    }

    /// The work done on this thread since the last [`take`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Work {
        /// HMAC computations finished (one per candidate secret or placeholder), by the verifier and
        /// by one-shot MACs such as Spike's exchange check.
        pub macs: u64,
        /// Body bytes fed to those MACs, summed over the candidates.
        pub body_bytes: u64,
        /// Presented secrets compared with a stored or placeholder one ([`ct_eq_secret`](super::ct_eq_secret)).
        pub secret_compares: u64,
        /// Ed25519 signatures verified (one per candidate public key, or placeholder, and
        /// presented signature).
        pub signatures: u64,
    }

    /// Returns the counts and resets them.
    pub fn take() -> Work {
        COUNTS.replace(Work::default())
    }

    fn bump(change: impl FnOnce(&mut Work)) {
        let mut counts = COUNTS.get();
        change(&mut counts);
        COUNTS.set(counts);
    }

    pub(crate) fn mac() {
        bump(|w| w.macs = w.macs.saturating_add(1));
    }

    pub(crate) fn body_bytes(len: usize) {
        bump(|w| w.body_bytes = w.body_bytes.saturating_add(len as u64));
    }

    pub(crate) fn secret_compare() {
        bump(|w| w.secret_compares = w.secret_compares.saturating_add(1));
    }

    pub(crate) fn signature() {
        bump(|w| w.signatures = w.signatures.saturating_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    const RFC4231_2: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn rfc4231_case_2_fed_in_parts() {
        let key = Secret::new("Jefe").unwrap();
        let tag = hmac_sha256(&key, |m| {
            m.write(b"what do ya ");
            m.write(b"");
            m.write(b"want for nothing?");
        });
        assert_eq!(tag.to_hex(), RFC4231_2);
        assert!(tag.ct_matches(&Tag::from_hex(RFC4231_2.as_bytes()).unwrap()));
    }

    #[test]
    fn a_secret_keys_each_algorithm_once_and_every_mac_starts_afresh() {
        // RFC 4231 test case 2 and RFC 2202 test case 2: the same key, both algorithms, twice.
        let key = Secret::new("Jefe").unwrap();
        let data = b"what do ya want for nothing?";
        for _ in 0..2 {
            assert_eq!(hmac_sha256(&key, |m| m.write(data)).to_hex(), RFC4231_2);
            let sha1 = hmac(MacAlgorithm::HmacSha1, &key, |m| m.write(data));
            assert_eq!(sha1.to_hex(), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        }
        // A clone keys itself again, from the same bytes.
        assert_eq!(
            hmac_sha256(&key.clone(), |m| m.write(data)).to_hex(),
            RFC4231_2
        );
    }

    #[test]
    fn wiping_leaves_no_state_of_the_key() {
        let key = Secret::new("Jefe").unwrap();
        let mut keyed = KeyedMacs::default();
        let state = |keyed: &KeyedMacs| {
            let mut state = keyed
                .cell(MacAlgorithm::HmacSha256)
                .get_or_init(|| Box::new(Keyed::new(MacAlgorithm::HmacSha256, key.expose())))
                .start();
            state.update(b"what do ya want for nothing?");
            let (bytes, len) = state.finalize();
            Tag::new(bytes, len).to_hex()
        };
        assert_eq!(state(&keyed), RFC4231_2);
        keyed.wipe();
        // What is left is the state of the empty key (python3 -c 'import hmac, hashlib;
        // print(hmac.new(b"", b"what do ya want for nothing?", hashlib.sha256).hexdigest())').
        assert_eq!(
            state(&keyed),
            "76d9e7194e7dbc3aa00bbe8ffb9f6fcb5a932170f971f948bb2ab61607d2b9d6"
        );
    }

    #[test]
    fn hex_is_strict_about_length_and_alphabet() {
        assert_eq!(Tag::from_hex(b"").err(), Some(DecodeError::Length));
        assert_eq!(
            Tag::from_hex(&RFC4231_2.as_bytes()[..62]).err(),
            Some(DecodeError::Length)
        );
        let mut bad = RFC4231_2.as_bytes().to_vec();
        bad[0] = b'g';
        assert_eq!(Tag::from_hex(&bad).err(), Some(DecodeError::Alphabet));
        let upper = RFC4231_2.to_uppercase();
        let upper = Tag::from_hex(upper.as_bytes()).unwrap();
        assert!(upper.ct_matches(&Tag::from_hex(RFC4231_2.as_bytes()).unwrap()));
        // A `0x` prefix is not hex: refused in place of two digits or beside all of them.
        let prefixed = format!("0x{}", &RFC4231_2[2..]);
        assert_eq!(
            Tag::from_hex(prefixed.as_bytes()).err(),
            Some(DecodeError::Alphabet)
        );
        let prefixed = format!("0x{RFC4231_2}");
        assert_eq!(
            Tag::from_hex(prefixed.as_bytes()).err(),
            Some(DecodeError::Length)
        );
    }

    /// `const_hex` takes a `0x` prefix before exactly the digits an output needs; the crate's
    /// decoder never does, whatever the caller checked first.
    #[test]
    fn hex_decoding_refuses_a_prefix_const_hex_would_strip() {
        let prefixed = format!("0x{RFC4231_2}");
        let mut out = [0u8; 32];
        assert!(const_hex::decode_to_slice(&prefixed, &mut out).is_ok());
        assert_eq!(
            decode_hex(prefixed.as_bytes(), &mut out).err(),
            Some(DecodeError::Length)
        );
        assert_eq!(decode_hex(RFC4231_2.as_bytes(), &mut out), Ok(()));
        assert_eq!(const_hex::encode(out), RFC4231_2);
    }

    #[test]
    fn tags_differing_in_any_byte_or_length_do_not_match() {
        let tag = Tag::from_hex(RFC4231_2.as_bytes()).unwrap();
        for i in 0..TAG_LEN {
            let mut bytes: [u8; TAG_LEN] = tag.as_bytes().try_into().unwrap();
            bytes[i] ^= 1;
            assert!(!tag.ct_matches(&Tag::from_bytes(bytes)), "byte {i}");
        }
        // The same first 20 bytes as an HMAC-SHA1 tag: another length, no match.
        let short = Tag::decode_hex(&RFC4231_2.as_bytes()[..40], MacAlgorithm::HmacSha1).unwrap();
        assert!(!short.ct_matches(&tag) && !tag.ct_matches(&short));
        assert!(short.ct_matches(&short));
    }

    #[test]
    fn base64_is_standard_and_padded_only() {
        // From the Proficient doc.
        let good = b"nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U=";
        assert!(Tag::from_base64(good).is_ok());
        assert_eq!(
            Tag::from_base64(b"nyrKK9qcWqgPSdky2VE-arkyJjMFt9FD1Fxl_iNOD5U=").err(),
            Some(DecodeError::Alphabet)
        );
        assert_eq!(
            Tag::from_base64(b"nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U").err(),
            Some(DecodeError::Length)
        );
        // Non-canonical trailing bits ('V' instead of 'U' before the padding).
        assert_eq!(
            Tag::from_base64(b"nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5V=").err(),
            Some(DecodeError::Alphabet)
        );
    }

    #[test]
    fn base64url_is_unpadded_url_safe_only() {
        let tag = Tag::from_base64(b"nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U=").unwrap();
        let url = tag.to_base64url();
        assert_eq!(url, "nyrKK9qcWqgPSdky2VE-arkyJjMFt9FD1Fxl_iNOD5U");
        assert!(
            Tag::from_base64url(url.as_bytes())
                .unwrap()
                .ct_matches(&tag)
        );
        assert_eq!(
            Tag::from_base64url(b"nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U").err(),
            Some(DecodeError::Alphabet)
        );
        assert_eq!(
            Tag::from_base64url(b"nyrKK9qcWqgPSdky2VE-arkyJjMFt9FD1Fxl_iNOD5U=").err(),
            Some(DecodeError::Length)
        );
    }

    #[test]
    fn ct_eq_secret_handles_lengths() {
        assert!(ct_eq_secret(b"abc", b"abc"));
        assert!(!ct_eq_secret(b"abc", b"abd"));
        assert!(!ct_eq_secret(b"abc", b"abcd"));
        assert!(!ct_eq_secret(b"", b"a"));
    }

    #[test]
    fn discarded_work_is_one_mac_per_key_over_every_chunk() {
        work::take();
        let (a, b) = (Secret::new("a").unwrap(), Secret::new("b").unwrap());
        let mut discarded = Discarded::new(MacAlgorithm::HmacSha256, [&a, &b]);
        discarded.update(b"hello ");
        discarded.update(b"world");
        discarded.finish(|_| {});
        let done = work::take();
        assert_eq!((done.macs, done.body_bytes), (2, 22));
    }

    #[test]
    fn discarded_work_is_one_verification_per_key_and_signature_over_every_chunk() {
        let key = Ed25519PublicKey::placeholder();
        // Well-formed signatures (another key's), so that each verification hashes its message:
        // one whose `R` is no point of the curve is refused before the message is written.
        let signer = crate::crypto::Ed25519PrivateKey::from_bytes(&[1; 32]).unwrap();
        let signatures = [signer.sign(b"one"), signer.sign(b"two")];
        work::take();
        let mut discarded = Discarded::new(MacAlgorithm::HmacSha256, [&Secret::new("a").unwrap()])
            .with_ed25519([&key], &signatures);
        discarded.update(b"hello ");
        discarded.update(b"world");
        let mut parts = 0;
        discarded.finish(|m| {
            parts += 1;
            m.write(b"id.");
        });
        let done = work::take();
        // One MAC and two verifications, each over the 11 body bytes; the rest written to each.
        assert_eq!((done.macs, done.signatures, done.body_bytes), (1, 2, 33));
        assert_eq!(parts, 3);
    }

    #[test]
    fn decimals_are_written_as_to_string_writes_them() {
        let mut values = vec![0, 1, 9, 10, 99, 100, 1_763_800_000, u64::MAX - 1, u64::MAX];
        values.extend((0..64).map(|bit| 1u64 << bit));
        values.extend((1..20).map(|power| 10u64.pow(power) - 1));
        for n in values {
            let mut out = Vec::new();
            message_bytes(&mut out, |m| m.write_decimal(n));
            assert_eq!(out, n.to_string().into_bytes(), "{n}");
        }
    }

    #[test]
    fn message_bytes_gathers_the_parts() {
        let mut out = b"left over".to_vec();
        message_bytes(&mut out, |m| {
            m.write(b"1763800000");
            m.write(b"");
            m.write(b"{}");
        });
        assert_eq!(out, b"1763800000{}");
    }
}

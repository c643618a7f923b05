//! HMAC-SHA256 over message parts, strict tag decoding and constant-time comparison.
//!
//! A scheme writes its signed message part by part into a [`Message`]
//! ([`Scheme::message`](crate::pipeline::Scheme::message)), so `"{ts}.{body}"`, `body ++ salt`
//! and the like are never concatenated into a second copy; the verifier and the signers hand it
//! the same sink.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::secret::Secret;

/// The HMAC-SHA256 implementation: RustCrypto's `hmac` + `sha2` (pure Rust) by default, `ring`
/// with the `ring` feature. Both are fed incrementally and produce the same 32-byte tags; the
/// comparison is ours (constant time, `subtle`) in both cases.
mod backend {
    #[cfg(not(feature = "ring"))]
    pub(super) struct HmacSha256(hmac::Hmac<sha2::Sha256>);

    #[cfg(not(feature = "ring"))]
    impl HmacSha256 {
        pub(super) fn new(key: &[u8]) -> Self {
            use hmac::digest::KeyInit as _;
            // HMAC takes keys of any length, so this never fails; should it ever, a zero-key state
            // still yields a MAC no client produced, so the request fails closed.
            Self(
                hmac::Hmac::new_from_slice(key)
                    .unwrap_or_else(|_| hmac::Hmac::new(&Default::default())),
            )
        }

        pub(super) fn update(&mut self, part: &[u8]) {
            hmac::Mac::update(&mut self.0, part);
        }

        pub(super) fn finalize(self) -> [u8; super::TAG_LEN] {
            hmac::Mac::finalize(self.0).into_bytes().into()
        }
    }

    #[cfg(feature = "ring")]
    pub(super) struct HmacSha256(ring::hmac::Context);

    #[cfg(feature = "ring")]
    impl HmacSha256 {
        pub(super) fn new(key: &[u8]) -> Self {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
            Self(ring::hmac::Context::with_key(&key))
        }

        pub(super) fn update(&mut self, part: &[u8]) {
            self.0.update(part);
        }

        pub(super) fn finalize(self) -> [u8; super::TAG_LEN] {
            let mut out = [0u8; super::TAG_LEN];
            let tag = self.0.sign();
            // HMAC-SHA256 tags are always 32 bytes; copy what is there without indexing.
            for (dst, src) in out.iter_mut().zip(tag.as_ref()) {
                *dst = *src;
            }
            out
        }
    }
}

use backend::HmacSha256;

/// Length of an HMAC-SHA256 tag in bytes.
pub const TAG_LEN: usize = 32;

/// A decoded signature as sent by a client: exactly 32 bytes.
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
pub struct Tag([u8; TAG_LEN]);

/// Why a signature could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Not the length an encoded 32-byte tag has.
    Length,
    /// A character outside the alphabet, or non-canonical padding.
    Alphabet,
}

impl Tag {
    /// Decodes 64 hex digits (either case).
    pub fn from_hex(text: &[u8]) -> Result<Self, DecodeError> {
        if text.len() != TAG_LEN * 2 {
            return Err(DecodeError::Length);
        }
        let mut out = [0u8; TAG_LEN];
        hex::decode_to_slice(text, &mut out).map_err(|_| DecodeError::Alphabet)?;
        Ok(Self(out))
    }

    /// Decodes standard, padded base64 (44 characters). URL-safe or unpadded forms are refused.
    pub fn from_base64(text: &[u8]) -> Result<Self, DecodeError> {
        if text.len() != 44 {
            return Err(DecodeError::Length);
        }
        let mut out = [0u8; TAG_LEN];
        match STANDARD.decode_slice(text, &mut out) {
            Ok(TAG_LEN) => Ok(Self(out)),
            Ok(_) => Err(DecodeError::Length),
            Err(_) => Err(DecodeError::Alphabet),
        }
    }

    /// Decodes URL-safe base64 without padding (43 characters), as JWTs carry signatures.
    /// Standard or padded forms are refused.
    pub fn from_base64url(text: &[u8]) -> Result<Self, DecodeError> {
        if text.len() != 43 {
            return Err(DecodeError::Length);
        }
        let mut out = [0u8; TAG_LEN];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
            Ok(TAG_LEN) => Ok(Self(out)),
            Ok(_) => Err(DecodeError::Length),
            Err(_) => Err(DecodeError::Alphabet),
        }
    }

    /// Wraps raw tag bytes.
    pub const fn from_bytes(bytes: [u8; TAG_LEN]) -> Self {
        Self(bytes)
    }

    /// The tag bytes.
    pub fn as_bytes(&self) -> &[u8; TAG_LEN] {
        &self.0
    }

    /// Lower-case hex, as the Humanos, Inqud and Spike clients send it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Standard padded base64, as the Proficient clients send it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// URL-safe base64 without padding.
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Constant-time equality.
    pub fn ct_matches(&self, other: &Tag) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tag(..)")
    }
}

/// A scheme's signed message being written, part by part, into a MAC.
///
/// [`Scheme::message`](crate::pipeline::Scheme::message) writes into one; the verifier keys it
/// with each candidate secret, a signer with its own.
pub struct Message<'a> {
    mac: &'a mut HmacSha256,
}

impl Message<'_> {
    /// Appends `part` to the signed message.
    pub fn write(&mut self, part: &[u8]) {
        self.mac.update(part);
    }
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
    hmac_sha256_raw(secret.expose(), write)
}

pub(crate) fn hmac_sha256_raw(key: &[u8], write: impl FnOnce(&mut Message<'_>)) -> Tag {
    let mut mac = HmacSha256::new(key);
    write(&mut Message { mac: &mut mac });
    #[cfg(any(test, feature = "__count-work"))]
    work::mac();
    Tag(mac.finalize())
}

/// The MAC work of a request whose bytes are not kept (its key is unknown, expired or revoked):
/// one MAC per candidate secret, fed the body as it streams by, so that such a request costs
/// what a known key's does although its body is dropped chunk by chunk. The result is never
/// compared with anything.
pub(crate) struct Discarded {
    states: Vec<HmacSha256>,
}

impl Discarded {
    pub(crate) fn new<'k>(keys: impl IntoIterator<Item = &'k [u8]>) -> Self {
        Self {
            states: keys.into_iter().map(HmacSha256::new).collect(),
        }
    }

    pub(crate) fn update(&mut self, chunk: &[u8]) {
        for state in &mut self.states {
            state.update(chunk);
            #[cfg(any(test, feature = "__count-work"))]
            work::body_bytes(chunk.len());
        }
    }

    /// Finishes every MAC, after `write` writes the rest of the message into each (the scheme's
    /// message with an empty body: its non-body parts).
    pub(crate) fn finish(self, mut write: impl FnMut(&mut Message<'_>)) {
        for mut state in self.states {
            write(&mut Message { mac: &mut state });
            std::hint::black_box(state.finalize());
            #[cfg(any(test, feature = "__count-work"))]
            work::mac();
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

/// Per-thread counters of the verifier's MAC and secret-compare work, for this crate's tests
/// (feature `__count-work`): they prove that an unknown key costs the same work as a known one.
/// Not part of the API.
#[cfg(any(test, feature = "__count-work"))]
#[doc(hidden)]
pub mod work {
    use std::cell::Cell;

    thread_local! {
        static COUNTS: Cell<Work> = const { Cell::new(Work { macs: 0, body_bytes: 0, secret_compares: 0 }) };
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
        let mut discarded = Discarded::new([&b"a"[..], b"b"]);
        discarded.update(b"hello ");
        discarded.update(b"world");
        discarded.finish(|_| {});
        let done = work::take();
        assert_eq!((done.macs, done.body_bytes), (2, 22));
    }
}

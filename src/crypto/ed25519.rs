//! Ed25519 (RFC 8032), from `ed25519-dalek`: public keys that verify, private keys that sign
//! (senders and tests only), and signatures decoded strictly.
//!
//! Some senders sign with a private key and publish the public one (Standard Webhooks' `v1a`,
//! Discord's interactions), so a receiver holds nothing that could forge a delivery. The
//! receiver's [`Key`](crate::Key) then holds [`Ed25519PublicKey`]s where an HMAC receiver holds
//! [`Secret`](super::Secret)s ([`KeyMaterial`](crate::KeyMaterial)); a signer holds an
//! [`Ed25519PrivateKey`].
//!
//! ```
//! use tower_hmac::crypto::{Ed25519PrivateKey, Ed25519Signature};
//!
//! // RFC 8032, section 7.1, TEST 2.
//! let private = Ed25519PrivateKey::from_hex(
//!     "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
//! )
//! .unwrap();
//! let public = private.public_key();
//! assert_eq!(public.to_hex(), "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
//! let signature = private.sign(&[0x72]);
//! assert!(public.verify(&[0x72], &signature));
//! assert!(!public.verify(&[0x73], &signature));
//! // The private key never shows itself.
//! assert!(!format!("{private:?}").contains("4ccd089b"));
//! ```
//!
//! # Security
//!
//! - **Strict verification only** (`ed25519-dalek`'s `verify_strict` rules): a signature whose
//!   `S` is not reduced (the malleable `S + L` form), whose `R` has small order, or made for a
//!   small-order public key is refused, so that one message has one valid signature per key, and
//!   a signature identifies a delivery. A small-order (weak) public key is refused when the key is
//!   made. The message is hashed as the scheme writes it (`ed25519-dalek`'s streaming
//!   verification, with `verify_strict`'s small-order checks made beside it), never gathered
//!   into a copy; a test holds every answer to `verify_strict`'s.
//! - **Timing.** Verification handles public values only (the message, the signature, the public
//!   key): its timing reveals nothing a caller does not know already.
//! - **Private keys** never appear in `Debug` (only their public key does) and are wiped from
//!   memory when dropped (`ed25519-dalek`'s `zeroize`); the bytes they are read from are wiped
//!   too.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use super::mac::{DecodeError, Message, decode_hex, message_into};
use crate::error::ConfigError;

/// An Ed25519 public key: verifies signatures, strictly.
///
/// It is public: `Debug` shows it (in hex), and `==` compares it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ed25519PublicKey {
    key: VerifyingKey,
}

impl Ed25519PublicKey {
    /// Length of a public key in bytes.
    pub const LEN: usize = 32;

    /// The key from its 32 bytes (the compressed point of RFC 8032). Bytes that are no point of
    /// the curve, or a point of small order (a weak key, for which signatures can be forged),
    /// are a configuration error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfigError> {
        let bytes: &[u8; Self::LEN] = bytes
            .try_into()
            .map_err(|_| ConfigError::new("an Ed25519 public key is 32 bytes"))?;
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| ConfigError::new("not an Ed25519 public key: no point of the curve"))?;
        if key.is_weak() {
            return Err(ConfigError::new(
                "a small-order (weak) Ed25519 public key is refused: signatures for it can be forged",
            ));
        }
        Ok(Self { key })
    }

    /// The key from 64 hex digits (either case), as Discord shows an application's public key.
    pub fn from_hex(text: &str) -> Result<Self, ConfigError> {
        let mut bytes = [0u8; Self::LEN];
        decode_hex(text.as_bytes(), &mut bytes)
            .map_err(|_| ConfigError::new("an Ed25519 public key in hex is 64 hex digits"))?;
        Self::from_bytes(&bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        self.key.as_bytes()
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        const_hex::encode(self.as_bytes())
    }

    /// Standard padded base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.as_bytes())
    }

    /// Whether `signature` is this key's signature of `message`, verified strictly (see the
    /// module's *Security*).
    pub fn verify(&self, message: &[u8], signature: &Ed25519Signature) -> bool {
        self.start(signature)
            .is_some_and(|verification| verification.finish(|m| m.write(message)))
    }

    /// The verification of `signature`, its message still to be hashed as it is written (a
    /// message in parts, a signed prefix then the body, is never gathered into one buffer);
    /// `None` when the checks made before any hashing refuse it (`S` not reduced, `R` no point of
    /// the curve or of small order, the key of small order), as `verify_strict` refuses it before
    /// hashing. The pipeline's work for an unknown key starts its verifications here too, so that
    /// it hashes exactly the bodies a known key's check would.
    ///
    /// `ed25519-dalek`'s streaming verification checks the equation and that `S` is reduced, as
    /// `verify_strict` does, but not the small orders `verify_strict` refuses; they are checked
    /// here with the same calls of the library, in the same order: `R` must be a point of the
    /// curve, and neither `R` nor the public key of small order (the key is refused when it is
    /// made, and checked again as `verify_strict` does). A test holds the two to the same
    /// answers.
    pub(crate) fn start(&self, signature: &Ed25519Signature) -> Option<Verification> {
        #[cfg(any(test, feature = "__count-work"))]
        super::mac::work::signature();
        let signature = ed25519_dalek::Signature::from_bytes(&signature.bytes);
        let verification = self.key.verify_stream(&signature).ok()?;
        let r_of_full_order =
            VerifyingKey::from_bytes(signature.r_bytes()).is_ok_and(|r| !r.is_weak());
        (r_of_full_order && !self.key.is_weak()).then_some(Verification(verification))
    }

    /// A fixed key of full order, to spend the same verification work on unknown key ids. Its
    /// private key is no secret (the seed is in this file), so a match against it is never
    /// taken for one (the pipeline gives it no position in any key).
    pub(crate) fn placeholder() -> Self {
        Self {
            key: SigningKey::from_bytes(&[0x5c; 32]).verifying_key(),
        }
    }
}

/// A strict Ed25519 verification under way ([`Ed25519PublicKey::start`]): the signature passed
/// the checks made before hashing, the message is being hashed.
pub(crate) struct Verification(ed25519_dalek::StreamVerifier);

impl Verification {
    /// Hashes `part` of the message.
    pub(crate) fn update(&mut self, part: &[u8]) {
        self.0.update(part);
    }

    /// Hashes the rest of the message, which `write` writes, and checks the signature.
    pub(crate) fn finish(mut self, write: impl FnOnce(&mut Message<'_>)) -> bool {
        message_into(&mut self.0, write);
        self.0.finalize_and_verify().is_ok()
    }
}

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519PublicKey({})", self.to_hex())
    }
}

/// An Ed25519 private key, for signing (a sender, or tests). Receivers never need one.
///
/// `Debug` shows its public key only, and the key is wiped from memory when dropped.
#[derive(Clone)]
pub struct Ed25519PrivateKey {
    key: SigningKey,
}

impl Ed25519PrivateKey {
    /// The key from its bytes: the 32-byte secret key of RFC 8032 (the seed), or the 64 bytes
    /// libsodium, PyNaCl and Go hold, the seed then its public key (which must be the seed's).
    /// The bytes given are the caller's to wipe; the copies made here are wiped.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfigError> {
        const WRONG_LENGTH: ConfigError = ConfigError::new(
            "an Ed25519 private key is 32 bytes (the seed), or 64 (the seed, then its public key)",
        );
        match bytes.len() {
            32 => {
                let mut seed = Zeroizing::new([0u8; 32]);
                seed.copy_from_slice(bytes);
                Ok(Self {
                    key: SigningKey::from_bytes(&seed),
                })
            }
            64 => {
                let mut pair = Zeroizing::new([0u8; 64]);
                pair.copy_from_slice(bytes);
                let key = SigningKey::from_keypair_bytes(&pair).map_err(|_| {
                    ConfigError::new(
                        "the last 32 bytes of a 64-byte Ed25519 private key must be its public key",
                    )
                })?;
                Ok(Self { key })
            }
            _ => Err(WRONG_LENGTH),
        }
    }

    /// The key from hex (either case) of the bytes [`from_bytes`](Self::from_bytes) reads: 64
    /// digits (the seed, as RFC 8032 writes secret keys) or 128.
    pub fn from_hex(text: &str) -> Result<Self, ConfigError> {
        let mut bytes = Zeroizing::new(vec![0u8; text.len() / 2]);
        decode_hex(text.as_bytes(), &mut bytes)
            .map_err(|_| ConfigError::new("an Ed25519 private key in hex has 64 or 128 digits"))?;
        Self::from_bytes(&bytes)
    }

    /// Its public key, for the receivers.
    pub fn public_key(&self) -> Ed25519PublicKey {
        Ed25519PublicKey {
            key: self.key.verifying_key(),
        }
    }

    /// The signature of `message` (deterministic: the same message always gets the same
    /// signature).
    pub fn sign(&self, message: &[u8]) -> Ed25519Signature {
        use ed25519_dalek::Signer as _;
        Ed25519Signature {
            bytes: self.key.sign(message).to_bytes(),
        }
    }
}

impl fmt::Debug for Ed25519PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519PrivateKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// A presented Ed25519 signature: exactly 64 bytes, decoded strictly.
///
/// Like [`Tag`](super::Tag) it has no `==`: a signature is checked with
/// [`Ed25519PublicKey::verify`], never compared.
#[derive(Clone, Copy)]
pub struct Ed25519Signature {
    bytes: [u8; Self::LEN],
}

impl Ed25519Signature {
    /// Length of a signature in bytes.
    pub const LEN: usize = 64;

    /// Wraps the 64 bytes of a signature (`R` then `S`).
    pub const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self { bytes }
    }

    /// Decodes 128 hex digits (either case). Any other length, or a character that is not a hex
    /// digit, is an error.
    pub fn from_hex(text: &[u8]) -> Result<Self, DecodeError> {
        let mut bytes = [0u8; Self::LEN];
        decode_hex(text, &mut bytes)?;
        Ok(Self { bytes })
    }

    /// Decodes standard, padded base64 (88 characters, canonical). URL-safe, unpadded or
    /// shorter forms are errors.
    pub fn from_base64(text: &[u8]) -> Result<Self, DecodeError> {
        if text.len() != Self::LEN.div_ceil(3) * 4 {
            return Err(DecodeError::Length);
        }
        // Room for one more byte, so a longer decoding is told apart.
        let mut buffer = [0u8; Self::LEN + 1];
        match STANDARD.decode_slice(text, &mut buffer) {
            Ok(decoded) if decoded == Self::LEN => {
                let mut bytes = [0u8; Self::LEN];
                for (dst, src) in bytes.iter_mut().zip(buffer.iter()) {
                    *dst = *src;
                }
                Ok(Self { bytes })
            }
            Ok(_) => Err(DecodeError::Length),
            Err(_) => Err(DecodeError::Alphabet),
        }
    }

    /// The 64 bytes.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.bytes
    }

    /// Lower-case hex, as Discord sends it.
    pub fn to_hex(&self) -> String {
        const_hex::encode(self.bytes)
    }

    /// Standard padded base64, as Standard Webhooks sends it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }
}

impl fmt::Debug for Ed25519Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ed25519Signature(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032, section 7.1: TEST 1, 2, 3 and SHA(abc) (secret key, public key, message,
    /// signature), checked through this module's types.
    const RFC8032: [(&str, &str, &str, &str); 4] = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
        (
            "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
            "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
        ),
    ];

    /// The group order L, little-endian: adding it to `S` gives the malleable twin of a
    /// signature.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    #[test]
    fn rfc8032_vectors_sign_and_verify() {
        for (i, (secret, public, message, signature)) in RFC8032.into_iter().enumerate() {
            let private = Ed25519PrivateKey::from_hex(secret).unwrap();
            let message = const_hex::decode(message).unwrap();
            assert_eq!(private.public_key().to_hex(), public);
            assert_eq!(private.sign(&message).to_hex(), signature);
            let public = Ed25519PublicKey::from_hex(public).unwrap();
            let presented = Ed25519Signature::from_hex(signature.as_bytes()).unwrap();
            assert!(public.verify(&message, &presented));
            // Another message, another key: refused.
            let mut other = message.clone();
            other.push(0);
            assert!(!public.verify(&other, &presented));
            let wrong = Ed25519PublicKey::from_hex(RFC8032[(i + 1) % RFC8032.len()].1).unwrap();
            assert!(!wrong.verify(&message, &presented));
        }
    }

    #[test]
    fn the_64_byte_form_of_a_private_key_must_hold_its_own_public_key() {
        let (seed, public, ..) = RFC8032[0];
        let pair = const_hex::decode(format!("{seed}{public}")).unwrap();
        let key = Ed25519PrivateKey::from_bytes(&pair).unwrap();
        assert_eq!(key.public_key().to_hex(), public);
        let (_, other, ..) = RFC8032[1];
        let mismatched = const_hex::decode(format!("{seed}{other}")).unwrap();
        assert!(Ed25519PrivateKey::from_bytes(&mismatched).is_err());
        assert!(Ed25519PrivateKey::from_bytes(&pair[..31]).is_err());
        assert!(Ed25519PrivateKey::from_hex("9d61").is_err());
        assert!(Ed25519PrivateKey::from_hex(&"zz".repeat(32)).is_err());
        // No `0x` prefix on either key or on a signature.
        assert!(Ed25519PrivateKey::from_hex(&format!("0x{seed}")).is_err());
        assert!(Ed25519PublicKey::from_hex(&format!("0x{public}")).is_err());
        assert!(Ed25519PublicKey::from_hex(&format!("0x{}", &public[2..])).is_err());
        let (_, _, _, signature) = RFC8032[0];
        assert!(Ed25519Signature::from_hex(signature.as_bytes()).is_ok());
        let prefixed = format!("0x{signature}");
        assert_eq!(
            Ed25519Signature::from_hex(prefixed.as_bytes()).err(),
            Some(DecodeError::Length)
        );
    }

    #[test]
    fn the_malleable_twin_of_a_signature_is_refused() {
        let (_, public, message, signature) = RFC8032[0];
        let public = Ed25519PublicKey::from_hex(public).unwrap();
        let mut bytes = *Ed25519Signature::from_hex(signature.as_bytes())
            .unwrap()
            .as_bytes();
        // S + L, with carries: the same point equation, a non-canonical S.
        let mut carry = 0u16;
        for (s, l) in bytes[32..].iter_mut().zip(L) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        let twin = Ed25519Signature::from_bytes(bytes);
        assert!(!public.verify(&const_hex::decode(message).unwrap(), &twin));
    }

    /// A signature with `R` the identity (of order 1) that the plain verification equation
    /// accepts: `S = k·a`, where `a` is the private scalar and `k = SHA-512(R ‖ A ‖ M)`, so
    /// `[S]B − [k]A` is the identity. Only the small-order check refuses it.
    fn small_order_r_signature(seed: &[u8; 32], message: &[u8]) -> Ed25519Signature {
        use curve25519_dalek::Scalar;
        use sha2::{Digest, Sha512};
        let expanded = ed25519_dalek::hazmat::ExpandedSecretKey::from(seed);
        let public = SigningKey::from_bytes(seed).verifying_key();
        let mut r = [0u8; 32];
        r[0] = 1;
        let mut hash = Sha512::new();
        hash.update(r);
        hash.update(public.as_bytes());
        hash.update(message);
        let k = Scalar::from_bytes_mod_order_wide(&hash.finalize().into());
        let s = k * expanded.scalar;
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&r);
        bytes[32..].copy_from_slice(s.as_bytes());
        Ed25519Signature::from_bytes(bytes)
    }

    #[test]
    fn a_small_order_r_is_refused_though_the_equation_holds() {
        let (seed, public, message, _) = RFC8032[2];
        let seed: [u8; 32] = const_hex::decode(seed).unwrap().try_into().unwrap();
        let message = const_hex::decode(message).unwrap();
        let public = Ed25519PublicKey::from_hex(public).unwrap();
        let forged = small_order_r_signature(&seed, &message);
        let dalek = ed25519_dalek::Signature::from_bytes(forged.as_bytes());
        // The equation holds: the loose check accepts it.
        assert!(ed25519_dalek::Verifier::verify(&public.key, &message, &dalek).is_ok());
        assert!(public.key.verify_strict(&message, &dalek).is_err());
        assert!(!public.verify(&message, &forged));
        // Refused by the checks made before hashing.
        assert!(public.start(&forged).is_none());
    }

    /// Every answer of the streamed verification is `verify_strict`'s, for the message in one
    /// piece or in parts: valid signatures, other messages, and signatures with each byte
    /// changed (`R` off the curve or another point, `S` unreduced or another scalar).
    #[test]
    fn streamed_verification_answers_as_verify_strict() {
        let mut accepted = 0;
        let mut refused = 0;
        for (i, (seed, public, message, signature)) in RFC8032.into_iter().enumerate() {
            let public = Ed25519PublicKey::from_hex(public).unwrap();
            let message = const_hex::decode(message).unwrap();
            let seed: [u8; 32] = const_hex::decode(seed).unwrap().try_into().unwrap();
            let valid = *Ed25519Signature::from_hex(signature.as_bytes())
                .unwrap()
                .as_bytes();
            let mut candidates = vec![valid, *small_order_r_signature(&seed, &message).as_bytes()];
            // Each verification takes milliseconds in a debug build: one bit of each byte, for
            // two of the vectors.
            if i < 2 {
                for byte in 0..64 {
                    let mut changed = valid;
                    changed[byte] ^= 1 << (byte % 8);
                    candidates.push(changed);
                }
            }
            let mut other = message.clone();
            other.push(i as u8);
            for bytes in candidates {
                let signature = Ed25519Signature::from_bytes(bytes);
                let dalek = ed25519_dalek::Signature::from_bytes(&bytes);
                for message in [&message, &other] {
                    let strict = public.key.verify_strict(message, &dalek).is_ok();
                    assert_eq!(public.verify(message, &signature), strict);
                    let (head, tail) = message.split_at(message.len() / 2);
                    let streamed = public.start(&signature).is_some_and(|verification| {
                        verification.finish(|m| {
                            m.write(head);
                            m.write(tail);
                        })
                    });
                    assert_eq!(streamed, strict);
                    if strict {
                        accepted += 1;
                    } else {
                        refused += 1;
                    }
                }
            }
        }
        assert_eq!(accepted, RFC8032.len());
        assert_eq!(refused, 2 * (RFC8032.len() * 2 + 2 * 64) - accepted);
    }

    #[test]
    fn weak_and_invalid_public_keys_are_refused() {
        // The identity point (0, 1): order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            Ed25519PublicKey::from_bytes(&identity)
                .unwrap_err()
                .to_string(),
            "a small-order (weak) Ed25519 public key is refused: signatures for it can be forged"
        );
        assert!(Ed25519PublicKey::from_bytes(&[0u8; 31]).is_err());
        assert!(Ed25519PublicKey::from_hex("d75a").is_err());
        // y = 2 is on no point of the curve.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert!(Ed25519PublicKey::from_bytes(&not_a_point).is_err());
    }

    #[test]
    fn signatures_decode_strictly() {
        let (_, _, _, signature) = RFC8032[0];
        let hex = signature.as_bytes();
        assert!(Ed25519Signature::from_hex(&hex.to_ascii_uppercase()).is_ok());
        assert_eq!(
            Ed25519Signature::from_hex(&hex[..126]).err(),
            Some(DecodeError::Length)
        );
        assert_eq!(
            Ed25519Signature::from_hex(b"").err(),
            Some(DecodeError::Length)
        );
        let mut not_hex = hex.to_vec();
        not_hex[1] = b'g';
        assert_eq!(
            Ed25519Signature::from_hex(&not_hex).err(),
            Some(DecodeError::Alphabet)
        );
        let base64 = Ed25519Signature::from_hex(hex).unwrap().to_base64();
        assert_eq!(base64.len(), 88);
        assert!(Ed25519Signature::from_base64(base64.as_bytes()).is_ok());
        assert_eq!(
            Ed25519Signature::from_base64(base64.trim_end_matches('=').as_bytes()).err(),
            Some(DecodeError::Length)
        );
        let url_safe = base64.replace('+', "-").replace('/', "_");
        if url_safe != base64 {
            assert_eq!(
                Ed25519Signature::from_base64(url_safe.as_bytes()).err(),
                Some(DecodeError::Alphabet)
            );
        }
        // The first 32 bytes only (a truncated signature), and 48 bytes in 64 characters.
        let short = STANDARD.encode(&const_hex::decode(signature).unwrap()[..32]);
        assert_eq!(
            Ed25519Signature::from_base64(short.as_bytes()).err(),
            Some(DecodeError::Length)
        );
        // Non-canonical: a trailing bit set in the last character before the padding (which
        // carries 2 bits of the signature and 4 that must be zero).
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut loose = base64.into_bytes();
        let last = loose.len() - 3;
        let value = ALPHABET.iter().position(|&c| c == loose[last]).unwrap();
        loose[last] = ALPHABET[value ^ 1];
        assert_eq!(
            Ed25519Signature::from_base64(&loose).err(),
            Some(DecodeError::Alphabet)
        );
    }

    #[test]
    fn private_keys_never_show_and_are_wiped_on_drop() {
        let (seed, public, ..) = RFC8032[0];
        let key = Ed25519PrivateKey::from_hex(seed).unwrap();
        let printed = format!("{key:?} {key:#?}");
        assert!(!printed.contains(&seed[..16]), "{printed}");
        assert!(printed.contains(public), "{printed}");
        assert_eq!(
            format!("{:?}", key.sign(b"")),
            "Ed25519Signature(..)",
            "signatures are not printed either"
        );
        // `ed25519-dalek`'s `zeroize` feature: the signing key wipes itself when dropped.
        fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        wiped_on_drop::<SigningKey>();
    }

    #[test]
    fn the_placeholder_is_a_full_key() {
        let placeholder = Ed25519PublicKey::placeholder();
        assert!(Ed25519PublicKey::from_bytes(placeholder.as_bytes()).is_ok());
    }
}

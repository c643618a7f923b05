//! Key material that never shows itself.

use std::fmt;

use zeroize::Zeroize;

use super::mac::KeyedMacs;
use crate::error::ConfigError;

/// The bytes of a shared secret.
///
/// `Debug` prints `Secret([REDACTED])`, there is no `Display`, and the bytes are overwritten with
/// zeros when the value is dropped. The HMAC states keyed from them, kept so that each MAC does
/// not hash the padded key again, are overwritten on drop too. The schemes in this crate use the secret exactly as the vendors'
/// client code does: the UTF-8 bytes of the secret string as the HMAC key.
///
/// ```
/// use tower_hmac::Secret;
///
/// let secret = Secret::new("YOUR_SIGNATURE_SECRET").unwrap();
/// assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
/// assert!(Secret::new("").is_err());
/// ```
#[derive(Clone)]
pub struct Secret {
    bytes: Box<[u8]>,
    /// Its HMAC states once keyed, wiped on drop too.
    keyed: KeyedMacs,
}

impl Secret {
    /// Takes ownership of the secret bytes. An empty secret is a configuration error.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, ConfigError> {
        let bytes = bytes.into().into_boxed_slice();
        if bytes.is_empty() {
            return Err(ConfigError::new("a secret must not be empty"));
        }
        Ok(Self {
            bytes,
            keyed: KeyedMacs::default(),
        })
    }

    /// A fixed placeholder, used to spend the same MAC work on unknown key ids.
    pub(crate) fn placeholder() -> Self {
        Self {
            bytes: vec![0x5c; 32].into_boxed_slice(),
            keyed: KeyedMacs::default(),
        }
    }

    /// Its HMAC states, keyed on first use.
    pub(super) fn keyed(&self) -> &KeyedMacs {
        &self.keyed
    }

    /// The raw key bytes, for signing. Keep them out of logs.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new(b"hunter2".to_vec()).unwrap();
        let printed = format!("{s:?} {s:#?}");
        assert!(!printed.contains("hunter2"));
        assert_eq!(s.expose(), b"hunter2");
    }

    #[test]
    fn empty_is_refused() {
        assert_eq!(
            Secret::new(Vec::new()).unwrap_err().to_string(),
            "a secret must not be empty"
        );
    }
}

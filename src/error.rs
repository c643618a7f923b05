//! Errors that are not request rejections: configuration mistakes and store failures.

use std::error::Error as StdError;
use std::fmt;

/// Boxed error used by store implementations.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A setting that cannot work, reported when the layer is built rather than on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    message: &'static str,
}

impl ConfigError {
    pub(crate) const fn new(message: &'static str) -> Self {
        Self { message }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl StdError for ConfigError {}

/// A key store or replay store could not answer.
///
/// The verifying layers fail closed on it: the request is answered with 503 (gRPC `UNAVAILABLE`)
/// and never reaches the inner service.
#[derive(Debug)]
pub struct StoreError {
    source: BoxError,
}

impl StoreError {
    /// Wraps the cause. Its `Display` is logged, so it must not contain secrets.
    pub fn new(source: impl Into<BoxError>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store unavailable: {}", self.source)
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

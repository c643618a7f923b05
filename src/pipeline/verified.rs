use std::sync::Arc;

/// Which secret of the key matched the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedSecret {
    pub(crate) index: usize,
    pub(crate) label: Option<Arc<str>>,
}

impl MatchedSecret {
    /// Position of the secret in the key's list (0 is the first added).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The secret's label, if it has one.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
}

/// The verified caller, put into the request extensions by a verifying layer.
///
/// `I` is the scheme's identity type, e.g. [`HumanosCaller`](crate::humanos::HumanosCaller). With
/// the `axum` feature, `Verified<I>` is also an extractor; it answers 500 if no layer put one
/// there, which means the layer is missing from that route.
#[derive(Debug, Clone)]
pub struct Verified<I> {
    pub(crate) key_id: Arc<str>,
    pub(crate) secret: Option<MatchedSecret>,
    pub(crate) identity: I,
}

impl<I> Verified<I> {
    /// The key id the request was verified with.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The secret that matched; `None` when the scheme let the request through unsigned.
    pub fn secret(&self) -> Option<&MatchedSecret> {
        self.secret.as_ref()
    }

    /// The scheme-specific identity.
    pub fn identity(&self) -> &I {
        &self.identity
    }

    /// Takes the scheme-specific identity.
    pub fn into_identity(self) -> I {
        self.identity
    }
}

#[cfg(feature = "axum")]
mod extract {
    use axum_core::extract::FromRequestParts;
    use axum_core::response::{IntoResponse, Response};
    use http::StatusCode;
    use http::request::Parts;

    use super::Verified;

    /// The rejection of the [`Verified`] extractor: no verifying layer ran for this route.
    #[derive(Debug, Clone, Copy)]
    pub struct MissingVerified;

    impl IntoResponse for MissingVerified {
        fn into_response(self) -> Response {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "no verifying layer ran for this route",
            )
                .into_response()
        }
    }

    impl<S, I> FromRequestParts<S> for Verified<I>
    where
        S: Send + Sync,
        I: Clone + Send + Sync + 'static,
    {
        type Rejection = MissingVerified;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Self, Self::Rejection> {
            parts
                .extensions
                .get::<Verified<I>>()
                .cloned()
                .ok_or(MissingVerified)
        }
    }
}

#[cfg(feature = "axum")]
pub use extract::MissingVerified;

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
/// there, which means the layer is missing from that route. Behind a layer in
/// [report-only](super::VerifyLayer::report_only) mode, a request that was not verified carries
/// [`Unverified`] instead: the extractor answers it as the layer would have (401 with the
/// refusal's `error` code), and `Option<Verified<I>>` is `None` for it, so a handler can serve
/// both while the refusals are watched.
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

/// A request a layer in [report-only](super::VerifyLayer::report_only) mode let through although
/// it was refused: in its extensions instead of [`Verified`], so that handlers can tell.
///
/// It names the scheme, the refusal and the key id the request claimed (never verified). With
/// axum, take it as `Option<Extension<Unverified>>`.
#[derive(Debug, Clone)]
pub struct Unverified {
    pub(crate) scheme: &'static str,
    pub(crate) rejection: crate::Rejection,
    pub(crate) key_id: Option<Arc<str>>,
}

impl Unverified {
    /// The scheme of the layer that refused it.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// Why it would have been refused.
    pub fn rejection(&self) -> &crate::Rejection {
        &self.rejection
    }

    /// The key id the request named, if its credentials parsed: a claim, not verified.
    pub fn claimed_key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }
}

#[cfg(feature = "axum")]
mod extract {
    use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
    use axum_core::response::{IntoResponse, Response};
    use http::StatusCode;
    use http::request::Parts;

    use super::{Unverified, Verified};
    use crate::RejectionKind;

    /// The rejection of the [`Verified`] extractor: no verifying layer ran for this route (500),
    /// or one in report-only mode let the request through unverified (the refusal's status and
    /// `error` code, as the layer would have answered).
    #[derive(Debug, Clone, Copy)]
    pub struct MissingVerified {
        refused: Option<RejectionKind>,
    }

    impl MissingVerified {
        /// The refusal of a request let through unverified; `None` when no layer ran.
        pub fn refused(&self) -> Option<RejectionKind> {
            self.refused
        }
    }

    impl IntoResponse for MissingVerified {
        fn into_response(self) -> Response {
            match self.refused {
                None => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "no verifying layer ran for this route",
                )
                    .into_response(),
                Some(kind) => {
                    let body = serde_json::json!({
                        "error": kind.code(),
                        "message": "the request was not verified",
                    });
                    let headers = [(http::header::CONTENT_TYPE, "application/json")];
                    (kind.status(), headers, body.to_string()).into_response()
                }
            }
        }
    }

    /// The verified caller, `None` for a request let through unverified by a layer in
    /// report-only mode; still refused (500) where no verifying layer ran.
    impl<S, I> OptionalFromRequestParts<S> for Verified<I>
    where
        S: Send + Sync,
        I: Clone + Send + Sync + 'static,
    {
        type Rejection = MissingVerified;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Option<Self>, Self::Rejection> {
            match parts.extensions.get::<Verified<I>>() {
                Some(verified) => Ok(Some(verified.clone())),
                None if parts.extensions.get::<Unverified>().is_some() => Ok(None),
                None => Err(MissingVerified { refused: None }),
            }
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
            if let Some(verified) = parts.extensions.get::<Verified<I>>() {
                return Ok(verified.clone());
            }
            let refused = parts
                .extensions
                .get::<Unverified>()
                .map(|u| u.rejection.kind());
            Err(MissingVerified { refused })
        }
    }
}

#[cfg(feature = "axum")]
pub use extract::MissingVerified;

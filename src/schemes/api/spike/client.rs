//! The client side of Spike: the exchange body and the bearer header.

use std::fmt;

use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{HeaderMap, HeaderValue};

use super::exchange::sign_user;
use crate::crypto::Secret;
use crate::sign::{SignError, Signer, sensitive, set_headers};

/// The JSON body an application posts to the exchange (`POST /v3/auth/hmac`) for its user
/// `user_id`, signed with the application's HMAC `key`:
/// `{"application_id":"...","application_user_id":"...","signature":"<hex>"}`.
///
/// ```
/// use tower_hmac::Secret;
/// use tower_hmac::spike::exchange_body;
///
/// let key = Secret::new("HMAC_KEY_FROM_ADMIN_CONSOLE").unwrap();
/// assert_eq!(
///     exchange_body("9999", "my_application_user_123", &key),
///     r#"{"application_id":"9999","application_user_id":"my_application_user_123","signature":"e070ea58e2b1d7d01a9570b89fc99e76c73cf3dc8aab4f31ae0136821f8f0199"}"#
/// );
/// ```
pub fn exchange_body(application_id: &str, user_id: &str, key: &Secret) -> String {
    serde_json::json!({
        "application_id": application_id,
        "application_user_id": user_id,
        "signature": sign_user(key, user_id),
    })
    .to_string()
}

/// The header of a call made with the access token the exchange returned:
/// `Authorization: Bearer <token>`.
pub fn bearer_headers(access_token: &str) -> Result<HeaderMap, SignError> {
    let mut headers = HeaderMap::with_capacity(1);
    headers.insert(AUTHORIZATION, bearer_value(access_token)?);
    Ok(headers)
}

fn bearer_value(access_token: &str) -> Result<HeaderValue, SignError> {
    sensitive(format!("Bearer {access_token}").as_bytes(), "Authorization")
}

/// Signs outgoing calls with one user's access token (the body untouched). Use it with a
/// [`SignLayer`](crate::sign::SignLayer) once the exchange has returned the token.
pub struct SpikeSigner {
    authorization: HeaderValue,
}

impl SpikeSigner {
    /// A signer sending `access_token`. Fails if the token cannot be sent in a header.
    pub fn new(access_token: &str) -> Result<Self, SignError> {
        Ok(Self {
            authorization: bearer_value(access_token)?,
        })
    }
}

impl fmt::Debug for SpikeSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpikeSigner(<redacted>)")
    }
}

impl Signer for SpikeSigner {
    fn signs_body(&self) -> bool {
        false
    }

    fn sign(&self, request: &mut Parts, _body: &[u8]) -> Result<(), SignError> {
        let mut headers = HeaderMap::with_capacity(1);
        headers.insert(AUTHORIZATION, self.authorization.clone());
        set_headers(request, headers);
        Ok(())
    }
}

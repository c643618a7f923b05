//! Spike: an HMAC of the user id exchanged once for a per-user HS256 access token.
//!
//! Spike's flow has two steps, and this module is the server side of both:
//!
//! 1. **Exchange** ([`SpikeExchange`]). The application signs its user's id with the HMAC key from
//!    its admin console (`hex(HMAC-SHA256(key, user id))`, see [`sign_user`]) and posts
//!
//!    ```text
//!    POST /v3/auth/hmac
//!    {"application_id": 9999, "application_user_id": "my_application_user_123", "signature": "<hex>"}
//!    ```
//!
//!    and gets `200 {"access_token": "<jwt>"}`. The token is an HS256 JWT with `iss` = the
//!    application id (always a string) and `sub` = the user id, signed with a server-side token key
//!    ([`SpikeTokenKeys`]) that is not the application's HMAC key.
//! 2. **Calls** ([`SpikeBearerLayer`]). Later requests carry `Authorization: Bearer <jwt>`; the layer
//!    verifies it and hands the inner service a [`Verified<SpikeUser>`](SpikeUser) whose
//!    [`key_id`](crate::Verified::key_id) is the application id.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt as _, Full};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_hmac::spike::{SpikeBearerLayer, SpikeExchange, SpikeTokenKeys, SpikeUser, sign_user};
//! use tower_hmac::{Key, MemoryKeyStore, Secret, Verified};
//!
//! // The application's HMAC key, as its admin console shows it, and the server's token key.
//! let app_key = Secret::new("HMAC_KEY_FROM_ADMIN_CONSOLE").unwrap();
//! let applications = MemoryKeyStore::new().with(Key::new("9999", app_key.clone()));
//! let tokens = SpikeTokenKeys::new(Secret::new([42u8; 32]).unwrap()).unwrap();
//!
//! let exchange = SpikeExchange::new(applications, tokens.clone()).unwrap();
//! let api = ServiceBuilder::new()
//!     .layer(SpikeBearerLayer::new(tokens))
//!     .service(service_fn(|req: Request<Full<Bytes>>| async move {
//!         let user = req.extensions().get::<Verified<SpikeUser>>().unwrap();
//!         Ok::<_, Infallible>(Response::new(format!("hello {}", user.identity().user_id())))
//!     }));
//!
//! let post = |body: String| Request::post("/v3/auth/hmac").body(Full::new(Bytes::from(body))).unwrap();
//!
//! // Accepted: the signature of the doc's sign_user.
//! let signature = sign_user(&app_key, "my_application_user_123");
//! let body = format!(
//!     r#"{{"application_id": 9999, "application_user_id": "my_application_user_123", "signature": "{signature}"}}"#
//! );
//! let res = exchange.clone().oneshot(post(body)).await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK);
//! let json: serde_json::Value =
//!     serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
//! let token = json["access_token"].as_str().unwrap().to_owned();
//!
//! let call = |auth: String| {
//!     Request::get("/v3/userinfo").header("authorization", auth).body(Full::default()).unwrap()
//! };
//! let res = api.clone().oneshot(call(format!("Bearer {token}"))).await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK);
//!
//! // Rejected: the signature of another user id ...
//! let wrong = sign_user(&app_key, "someone_else");
//! let body = format!(
//!     r#"{{"application_id": "9999", "application_user_id": "my_application_user_123", "signature": "{wrong}"}}"#
//! );
//! let res = exchange.clone().oneshot(post(body)).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//!
//! // ... a body without the user id ...
//! let res = exchange.oneshot(post(r#"{"application_id": 9999}"#.into())).await.unwrap();
//! assert_eq!(res.status(), StatusCode::BAD_REQUEST);
//!
//! // ... and a call whose token was tampered with.
//! let tampered = format!("Bearer {}x", &token[..token.len() - 1]);
//! let res = api.oneshot(call(tampered)).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # The exchange's answers
//!
//! | request | status | `error` |
//! |---|---|---|
//! | valid signature of a live application key | 200 `{"access_token": ...}` | |
//! | method other than `POST` | 405, `Allow: POST` | `method_not_allowed` |
//! | body over the limit ([`EXCHANGE_BODY_LIMIT`] by default) | 413 | `payload_too_large` |
//! | not a JSON object, invalid JSON, a field repeated | 400 | `invalid_request` |
//! | a field missing (or `null`), of the wrong type, or out of its rules | 400, the message names the field | `invalid_request` |
//! | `signature` a string but not 64 hex digits | 401 | `malformed_credentials` |
//! | wrong signature; unknown, expired or revoked application | 401, identical bytes | `invalid_credentials` |
//! | key store failure | 503 | `unavailable` |
//! | valid signature, but the application's key is also a token key (see [Security](#security)) | 503 | `unavailable` |
//!
//! - `application_id`: the doc's example sends a number, its parameter table says string; both
//!   are taken. A number must be a non-negative integer (up to `u64::MAX`; `1.0`, `-1`, `1e3` are
//!   refused) and is looked up as its decimal string; a string must be 1 to 128 visible ASCII
//!   characters and is looked up as is.
//! - `application_user_id`: 1 to 128 characters of `A-Z a-z 0-9 - _ .`, as documented.
//! - `signature`: 64 hex digits, either case. A string of another form is a credential that
//!   cannot be right, so it is answered like the other schemes' undecodable signatures (401
//!   `malformed_credentials`); a non-string is a malformed request (400). Neither needs a key
//!   lookup, and neither says anything about the application.
//! - The body need not be sent as `application/json`; unknown fields are ignored.
//!
//! Refusals go through the [`Responder`](crate::Responder) (replace it with
//! [`SpikeExchange::responder`]); 401s carry `WWW-Authenticate: HMAC realm="spike"`.
//!
//! # Two schemes on the crate's one pipeline
//!
//! Both steps run on the generic [`VerifyLayer`](crate::VerifyLayer), each as a
//! [`Scheme`](crate::Scheme):
//!
//! - [`SpikeExchangeScheme`]: its credentials are the JSON body
//!   ([`Scheme::body_credentials`](crate::Scheme::body_credentials)), its key the application the
//!   body names, its signed message the user id. [`SpikeExchange`] is that layer in front of a
//!   service issuing the token.
//! - [`SpikeBearerScheme`]: the token is a [`Proof::Custom`](crate::Proof::Custom) credential,
//!   verified by `jsonwebtoken` (JWT handling, and the algorithm it enforces, belong to it) against
//!   the server's token keys; the key looked up is the token's application (`iss`), in the
//!   applications' store when [`applications`](SpikeBearerLayer::applications) is set. The identity
//!   is built from the claims, which the pipeline trusts only once the token verified. Like every
//!   [`HeadersOnly`](crate::HeadersOnly) layer it never touches the request body.
//!
//! Bearer refusals: no `Authorization` header 401 `missing_credentials`; not `Bearer <token>`, not
//! a JWT, an algorithm other than HS256, no `exp` under [`require_exp`](SpikeBearerLayer::require_exp)
//! 401 `malformed_credentials`; a signature no accepted token key made 401 `invalid_credentials`;
//! expired 401 `timestamp_out_of_window`; with [`applications`](SpikeBearerLayer::applications),
//! an application no longer live 401 `invalid_credentials`, a failing store 503 `unavailable`,
//! and an application whose key is also a token key 503 `unavailable`. gRPC requests get
//! `grpc-status: 16` (14 for 503).
//!
//! # Security
//!
//! - **The token never expires by default.** The vendor documents it as consistent through the
//!   user's lifecycle, so the default claims are only `iss` and `sub`: the same user always gets
//!   the same token, and whoever holds it can act as that user for as long as the token key signing
//!   it is accepted. It is a long-lived credential: keep it out of logs and URLs, and send it over
//!   TLS only. [`SpikeExchange::token_lifetime`] adds `iat` and `exp` (tokens then differ from one
//!   exchange to the next and must be renewed), and [`SpikeBearerLayer::require_exp`] refuses
//!   tokens without `exp`; `exp` is checked with the layer's [`Clock`](crate::Clock).
//! - **Revocation is rotation.** A token cannot be revoked alone. [`SpikeTokenKeys::rotate`] makes
//!   a new key sign; tokens of the replaced key keep working while it is a previous key, and
//!   [`SpikeTokenKeys::retire_previous`] (or a previous key's `not_after`) ends them all at once.
//!   Revoking or removing an application's HMAC key stops new exchanges for it; its users' tokens
//!   are refused too only if the layer checks applications
//!   ([`SpikeBearerLayer::applications`], one key-store lookup per request), otherwise only a
//!   token-key rotation ends them.
//! - **HS256 only.** The algorithm is fixed on the server, not taken from the token: `none`,
//!   HS384, HS512 and every public-key algorithm (RS256, ES256, EdDSA, ... and an RS256 header
//!   over an HMAC made with the token key) are refused with 401 `malformed_credentials`, so a
//!   token cannot pick a weaker or a key-confusing algorithm. Token keys must be at least 32 bytes
//!   (RFC 7518 §3.2).
//! - **Token keys are not application keys.** An application whose HMAC key were a token key
//!   could sign tokens naming any application's users. Where it is checked:
//!   - [`SpikeExchange::new`] and [`SpikeBearerLayer::applications`] reserve the token keys
//!     (current, previous, and any being added) in the applications' store with
//!     [`KeyStore::reserve`](crate::KeyStore::reserve). A [`MemoryKeyStore`](crate::MemoryKeyStore)
//!     then polices both ways: an application key equal to a token key makes that constructor a
//!     [`ConfigError`](crate::ConfigError); adding one later is refused
//!     ([`try_insert`](crate::MemoryKeyStore::try_insert) errors; `insert`, `with` and `rotate`
//!     leave the store unchanged and log an error); and [`SpikeTokenKeys::rotate`] or
//!     [`with_previous`](SpikeTokenKeys::with_previous) to a secret such a store holds is a
//!     `ConfigError` (the stores of the exchanges and layers still alive are checked). The
//!     store's error event names the application id (`key_id`), never the key.
//!   - A store of your own keeps the default `reserve`, which accepts: it cannot police keys
//!     written elsewhere, so keeping token keys out of it is your job (or override `reserve`).
//!     As a backstop, on each request the exchange refuses to issue a token for an application
//!     holding a token key, and the bearer layer with `applications` refuses a token whose
//!     application holds one: 503 `unavailable`, fail closed, with an error event naming the
//!     application. This stops only tokens naming that application: a token it forged for
//!     another application cannot be told apart, so only the configuration checks above
//!     prevent that.
//!   - The mock (`mock::router`, feature `mock`) refuses a `spike_token_key` equal to an
//!     application's key, naming the application.
//! - **Constant time, no oracle.** Exchange signatures are compared in constant time against every
//!   live secret of the application's key; an unknown application is checked against a
//!   placeholder secret so it costs the same MAC work, and is refused with the same bytes as a
//!   wrong signature. JWT signatures are checked by `jsonwebtoken` (`hmac`'s constant-time
//!   `verify_slice`).
//! - **Limits.** The exchange body is read up to [`SpikeExchange::body_limit`] and never past it;
//!   the `Authorization` header is at most 8 KiB. No input panics the parser.
//! - **Crypto backend.** `jsonwebtoken` is built with RustCrypto only (the `hmac`/`sha2` this crate
//!   already uses). [`SpikeTokenKeys::new`] selects its provider and checks it against a known
//!   token at start-up, so a missing backend cannot surface as a panic on a request.
//! - **The signature is a credential too.** The vendor's signed message is the user id alone, with
//!   no timestamp or nonce, so a user's signature never changes: whoever captures an exchange body
//!   can exchange it again at any time and get that user's token. Keep it as secret as the token.
//!   A replay store would not help, since honest clients send the same body on every exchange; to
//!   end a leaked signature, rotate the application's HMAC key (with
//!   [`MemoryKeyStore::rotate`](crate::MemoryKeyStore::rotate) both secrets are live meanwhile).

mod bearer;
mod client;
mod exchange;
mod token;

pub use self::bearer::{SpikeBearer, SpikeBearerLayer, SpikeBearerScheme, SpikeToken, SpikeUser};
pub use self::client::{SpikeSigner, bearer_headers, exchange_body};
pub use self::exchange::{
    EXCHANGE_BODY_LIMIT, ExchangeRequest, IssueToken, SpikeExchange, SpikeExchangeScheme,
    SpikeExchangeUser, sign_user,
};
pub use self::token::{MAX_ID_LEN, MIN_TOKEN_KEY_LEN, SpikeTokenKeys};

/// The mock's Spike routes (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use axum::Router;
    use axum::routing::{get, post_service};
    use serde::Deserialize;
    use serde_json::{Value, json};

    use super::{SpikeBearerLayer, SpikeExchange, SpikeTokenKeys, SpikeUser};
    use crate::crypto::{Secret, ct_eq_secret};
    use crate::error::BoxError;
    use crate::keys::{Key, MemoryKeyStore};
    use crate::mock::{
        Examples, Provider, Section, Shared, debug_without_secret, demo_entry, quote,
    };
    use crate::pipeline::Verified;

    pub(crate) const PROVIDER: Provider = Provider {
        name: "spike",
        config_keys: &["spike", "spike_token_key"],
        demo_private_key: None,
        demo,
        router,
        examples,
        sign: None,
    };

    /// The vendor's documented example application, its HMAC key and a user.
    const APPLICATION_ID: &str = "9999";
    const KEY: &str = "HMAC_KEY_FROM_ADMIN_CONSOLE";
    const USER: &str = "my_application_user_123";

    /// One `[[spike]]` entry: an application and its HMAC key.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        application_id: String,
        key: String,
    }

    debug_without_secret!(Entry, application_id);

    fn demo() -> toml::Table {
        demo_entry(
            "spike",
            [
                ("application_id", APPLICATION_ID.into()),
                ("key", KEY.into()),
            ],
        )
    }

    fn router(config: &Section<'_>, shared: &Shared) -> Result<Router, BoxError> {
        let entries = config.get::<Vec<Entry>>("spike")?;
        // The key signing access tokens: random at every start unless configured.
        let token_key = match config.get::<Option<String>>("spike_token_key")? {
            Some(key) => Secret::new(key)?,
            None => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| format!("random token key: {e}"))?;
                Secret::new(bytes)?
            }
        };
        // An application holding the token key could sign tokens for every application's users.
        if let Some(app) = entries
            .iter()
            .find(|app| ct_eq_secret(app.key.as_bytes(), token_key.expose()))
        {
            return Err(format!(
                "spike_token_key is the key of Spike application {}: give the token key a secret of its own",
                app.application_id
            )
            .into());
        }
        let tokens = SpikeTokenKeys::new(token_key)?;
        let applications = MemoryKeyStore::new();
        for entry in entries {
            applications.try_insert(Key::new(entry.application_id, Secret::new(entry.key)?))?;
        }
        let applications = shared.keys("spike", applications);
        let bearer = SpikeBearerLayer::new(tokens.clone()).applications(applications.clone())?;
        Ok(Router::new()
            .route("/v3/userinfo", get(userinfo))
            .layer(shared.layer("spike-bearer", bearer))
            .route(
                "/v3/auth/hmac",
                post_service(
                    SpikeExchange::new(applications, tokens)?
                        .map_layer(|l| shared.layer("spike-exchange", l)),
                ),
            ))
    }

    fn examples(config: &Section<'_>, at: &Examples) -> Result<String, BoxError> {
        let Some(entry) = config.first::<Entry>("spike")? else {
            return Ok(String::new());
        };
        Ok(format!(
            "# Spike (application {app}): exchange the user's HMAC for a token, then call with it\n\
             TOKEN=$({sign} spike --application-id {app_q} --key {key} --user {USER} \
             --curl {base}/v3/auth/hmac | sh | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\n\
             curl -s {base}/v3/userinfo -H \"Authorization: Bearer $TOKEN\"; echo\n\n",
            app = entry.application_id,
            app_q = quote(&entry.application_id),
            key = quote(&entry.key),
            sign = at.sign,
            base = at.base,
        ))
    }

    async fn userinfo(user: Verified<SpikeUser>) -> axum::Json<Value> {
        axum::Json(json!({
            "provider": "spike",
            "application_id": user.identity().application_id(),
            "application_user_id": user.identity().user_id(),
        }))
    }
}

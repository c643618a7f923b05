//! The server-side token keys: HS256 signing of new access tokens and verification of presented
//! ones, through `jsonwebtoken`.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use subtle::{Choice, ConstantTimeEq as _};

use crate::crypto::Secret;
use crate::error::ConfigError;
use crate::keys::{Key, KeySecret, KeyStore, ReservedSecrets};
use crate::pipeline::MatchedSecret;
use crate::rejection::Rejection;

/// Shortest token key accepted, in bytes: RFC 7518 §3.2 requires an HS256 key of at least the
/// hash size (256 bits).
pub const MIN_TOKEN_KEY_LEN: usize = 32;

/// The server's HS256 keys for Spike access tokens: one current key that signs new tokens, and any
/// number of previous keys that are still accepted on presented tokens.
///
/// Clones share the same keys, so the handle given to [`SpikeExchange`](super::SpikeExchange) and
/// to [`SpikeBearerLayer`](super::SpikeBearerLayer) sees a [`rotate`](Self::rotate) or
/// [`retire_previous`](Self::retire_previous) made through any other clone while they serve
/// requests.
///
/// These keys are the server's own and must be distinct from the applications' HMAC keys: a client
/// never learns them and never names them, and an application whose HMAC key were a token key
/// could sign tokens for every application's users. So they are [`ReservedSecrets`]: the
/// [`SpikeExchange`](super::SpikeExchange) (and [`SpikeBearerLayer::applications`](super::SpikeBearerLayer::applications))
/// reserve them in the applications' [`KeyStore`], and from then on [`rotate`](Self::rotate) and
/// [`with_previous`](Self::with_previous) refuse a key that such a store holds as an application
/// key (see the [module docs](super#security) for what is checked where).
///
/// ```
/// use tower_hmac::Secret;
/// use tower_hmac::spike::SpikeTokenKeys;
///
/// let keys = SpikeTokenKeys::new(Secret::new([7u8; 32]).unwrap()).unwrap();
/// // Rotation: the new key signs from now on; tokens signed with the old one stay valid ...
/// keys.rotate(Secret::new([8u8; 32]).unwrap()).unwrap();
/// // ... until the old key is retired.
/// keys.retire_previous();
///
/// // Too short for HS256.
/// assert!(SpikeTokenKeys::new(Secret::new("short").unwrap()).is_err());
/// ```
#[derive(Clone)]
pub struct SpikeTokenKeys {
    shared: Arc<Shared>,
}

/// What the clones share; it is also the reservation registered in the applications' stores.
struct Shared {
    set: RwLock<KeySet>,
    /// The stores the keys are reserved in, checked when a key is added. Weak: such a store holds
    /// this reservation (strongly), and the exchange or layer using the store holds the store.
    stores: Mutex<Vec<Weak<dyn KeyStore>>>,
}

struct KeySet {
    current: TokenKey,
    encoding: EncodingKey,
    previous: Vec<TokenKey>,
    /// Keys being checked against the stores before they are used: already reserved, so that no
    /// store takes them as application keys meanwhile. Tagged to remove the right one.
    pending: Vec<(u64, Secret)>,
    next_pending: u64,
}

struct TokenKey {
    /// A copy of the bytes, for reservation checks (zeroed on drop, never printed).
    secret: Secret,
    decoding: DecodingKey,
    label: Option<Arc<str>>,
    not_after: Option<SystemTime>,
}

impl TokenKey {
    fn new(secret: &Secret, label: Option<Arc<str>>, not_after: Option<SystemTime>) -> Self {
        Self {
            secret: secret.clone(),
            decoding: DecodingKey::from_secret(secret.expose()),
            label,
            not_after,
        }
    }
}

impl KeySet {
    /// Whether `secret` is a token key (current, previous or being added), in constant time.
    fn holds(&self, secret: &Secret) -> bool {
        let keys = std::iter::once(&self.current.secret)
            .chain(self.previous.iter().map(|k| &k.secret))
            .chain(self.pending.iter().map(|(_, s)| s));
        let mut found = Choice::from(0);
        for key in keys {
            // The lengths of two server-side secrets are not worth hiding.
            found |= key.expose().ct_eq(secret.expose());
        }
        found.into()
    }
}

impl ReservedSecrets for Shared {
    fn is_reserved(&self, secret: &Secret) -> bool {
        self.set
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .holds(secret)
    }
}

/// Every token key, current, previous or being added, is reserved.
impl ReservedSecrets for SpikeTokenKeys {
    fn is_reserved(&self, secret: &Secret) -> bool {
        self.shared.is_reserved(secret)
    }
}

impl SpikeTokenKeys {
    /// Keys with `current` signing new tokens. It must be at least [`MIN_TOKEN_KEY_LEN`] bytes.
    ///
    /// The first call in a process also makes sure `jsonwebtoken` has its HS256 backend: it
    /// installs RustCrypto's provider as the process default when none is installed yet (install
    /// your own before this call if you want another), then checks the backend against a token
    /// computed independently, so that a missing or wrong backend shows up here, at start-up, and
    /// never while serving a request.
    pub fn new(current: Secret) -> Result<Self, ConfigError> {
        check_key(&current)?;
        backend_ready()?;
        Ok(Self {
            shared: Arc::new(Shared {
                set: RwLock::new(KeySet {
                    current: TokenKey::new(&current, None, None),
                    encoding: EncodingKey::from_secret(current.expose()),
                    previous: Vec::new(),
                    pending: Vec::new(),
                    next_pending: 0,
                }),
                stores: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Adds a previous key: tokens it signed are still accepted (until its
    /// [`not_after`](KeySecret::not_after), if it has one), but it signs nothing new.
    ///
    /// An error if the key is not an HMAC secret or is too short, or if an applications' store
    /// these keys are reserved in holds it as an application key.
    pub fn with_previous(self, previous: KeySecret) -> Result<Self, ConfigError> {
        let secret = previous.secret().ok_or(ConfigError::new(
            "a Spike token key is an HMAC secret, not a public key",
        ))?;
        self.add(secret, |set| {
            set.previous.push(TokenKey::new(
                secret,
                previous.label_arc(),
                previous.expiry(),
            ));
        })?;
        Ok(self)
    }

    /// Makes `new_current` the signing key. The key it replaces becomes a previous key, still
    /// accepted on presented tokens until [`retire_previous`](Self::retire_previous).
    ///
    /// Tokens are deterministic, so after a rotation the exchange hands a user a new token (signed
    /// with the new key); the old one keeps working only while its key is a previous key.
    ///
    /// An error, and no change, if the key is too short, or if an applications' store these keys
    /// are reserved in holds it as an application key (the store logs which).
    pub fn rotate(&self, new_current: Secret) -> Result<(), ConfigError> {
        self.add(&new_current, |set| {
            let old = std::mem::replace(&mut set.current, TokenKey::new(&new_current, None, None));
            set.encoding = EncodingKey::from_secret(new_current.expose());
            set.previous.insert(0, old);
        })
    }

    /// Stops accepting every previous key: tokens they signed are refused from now on.
    pub fn retire_previous(&self) {
        self.write().previous.clear();
    }

    /// Adds a key with `apply` once no store these keys are reserved in holds it. Meanwhile it is
    /// reserved already (pending), so a store adding it concurrently is refused, or seen by the
    /// check. No lock of the set is held while a store is called: stores call back into it.
    fn add(&self, key: &Secret, apply: impl FnOnce(&mut KeySet)) -> Result<(), ConfigError> {
        check_key(key)?;
        let ticket = {
            let mut set = self.write();
            let ticket = set.next_pending;
            set.next_pending = ticket.wrapping_add(1);
            set.pending.push((ticket, key.clone()));
            ticket
        };
        let checked = self.check_stores();
        let mut set = self.write();
        set.pending.retain(|(t, _)| *t != ticket);
        checked?;
        apply(&mut set);
        Ok(())
    }

    /// Re-checks every store the keys are reserved in against all of them.
    fn check_stores(&self) -> Result<(), ConfigError> {
        let stores: Vec<Arc<dyn KeyStore>> = {
            let mut stores = self.shared.stores.lock().unwrap_or_else(|e| e.into_inner());
            stores.retain(|store| store.strong_count() > 0);
            stores.iter().filter_map(Weak::upgrade).collect()
        };
        for store in stores {
            store.reserve(self.reservation())?;
        }
        Ok(())
    }

    /// Reserves the keys in `store` (see [`KeyStore::reserve`]) and remembers it, so that keys
    /// added later are checked against it too. Remembered first: a key added meanwhile is then
    /// either seen by this reservation or checked against the store.
    pub(crate) fn reserve_in(&self, store: &Arc<dyn KeyStore>) -> Result<(), ConfigError> {
        {
            let mut stores = self.shared.stores.lock().unwrap_or_else(|e| e.into_inner());
            stores.retain(|known| known.strong_count() > 0);
            stores.push(Arc::downgrade(store));
        }
        store.reserve(self.reservation())
    }

    /// Whether one of `application`'s secrets is a token key: a configuration that a store unable
    /// to police its keys let through. That application could sign tokens itself, so the exchange
    /// and the bearer layer fail closed for it; the event names the application, never a key.
    pub(crate) fn held_by(&self, application: &Key) -> bool {
        let held = {
            let set = self.read();
            application
                .secrets()
                .iter()
                .any(|s| s.secret().is_some_and(|s| set.holds(s)))
        };
        if held {
            tracing::error!(
                application_id = application.id(),
                "spike: this application's HMAC key is also a token key; refusing its tokens until one of them changes"
            );
        }
        held
    }

    fn reservation(&self) -> Arc<dyn ReservedSecrets> {
        Arc::clone(&self.shared) as Arc<dyn ReservedSecrets>
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, KeySet> {
        self.shared.set.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeySet> {
        self.shared.set.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Signs a token for `user_id` of `application_id` with the current key.
    pub(crate) fn issue(
        &self,
        application_id: &str,
        user_id: &str,
        now: SystemTime,
        lifetime: Option<Duration>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let (iat, exp) = match lifetime {
            Some(lifetime) => {
                let iat = unix_seconds(now);
                (Some(iat), Some(iat.saturating_add(lifetime.as_secs())))
            }
            None => (None, None),
        };
        let claims = Claims {
            iss: application_id.to_owned(),
            sub: user_id.to_owned(),
            iat,
            exp,
        };
        let set = self.read();
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &set.encoding)
    }

    /// Verifies a presented token's algorithm, signature and claims against the current key and
    /// every live previous key, and tells which key signed it. Expiry is the caller's business
    /// (it has the clock policy).
    pub(crate) fn verify(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<(MatchedSecret, Claims), Rejection> {
        let set = self.read();
        let keys = std::iter::once(&set.current).chain(
            set.previous
                .iter()
                .filter(|k| k.not_after.is_none_or(|end| now <= end)),
        );
        for (index, key) in keys.enumerate() {
            match jsonwebtoken::decode::<Claims>(token, &key.decoding, validation()) {
                Ok(data) => {
                    let claims = data.claims;
                    if !valid_application_id(&claims.iss) || !valid_user_id(&claims.sub) {
                        return Err(Rejection::malformed(
                            "the access token's claims are not valid",
                        ));
                    }
                    let matched = MatchedSecret {
                        index,
                        label: key.label.clone(),
                    };
                    return Ok((matched, claims));
                }
                // Another key may have signed it.
                Err(error) if matches!(error.kind(), ErrorKind::InvalidSignature) => {}
                // Shape, algorithm and claim errors do not depend on the key.
                Err(error) => return Err(refusal(error.kind())),
            }
        }
        Err(Rejection::new(
            crate::rejection::RejectionKind::InvalidSignature,
        ))
    }
}

impl fmt::Debug for SpikeTokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous = self.read().previous.len();
        f.debug_struct("SpikeTokenKeys")
            .field("current", &"[REDACTED]")
            .field("previous", &previous)
            .finish()
    }
}

/// The claims of a Spike access token, in the vendor's order (`iss`, then `sub`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exp: Option<u64>,
}

/// HS256 only; `iss` and `sub` required. `exp` is not checked here because `jsonwebtoken` reads the
/// system clock: the bearer layer checks it against its own [`Clock`](crate::Clock).
fn validation() -> &'static Validation {
    static VALIDATION: OnceLock<Validation> = OnceLock::new();
    VALIDATION.get_or_init(|| {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.required_spec_claims = HashSet::from(["iss".to_owned(), "sub".to_owned()]);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation
    })
}

fn refusal(kind: &ErrorKind) -> Rejection {
    match kind {
        ErrorKind::InvalidSignature => {
            Rejection::new(crate::rejection::RejectionKind::InvalidSignature)
        }
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            Rejection::malformed("the access token must be signed with HS256")
        }
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_)
        | ErrorKind::InvalidAlgorithmName => {
            Rejection::malformed("the access token is not a well-formed HS256 JWT")
        }
        _ => Rejection::malformed("the access token's claims are not valid"),
    }
}

fn check_key(secret: &Secret) -> Result<(), ConfigError> {
    if secret.expose().len() < MIN_TOKEN_KEY_LEN {
        return Err(ConfigError::new(
            "a Spike token key must be at least 32 bytes (RFC 7518 §3.2)",
        ));
    }
    Ok(())
}

pub(crate) fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A token computed with Python's `hmac` by `tests/vectors/spike.py` (`hs256_known_answer`).
const KNOWN_ANSWER_KEY: &[u8] = b"tower-hmac spike known-answer key, 32+ bytes";
const KNOWN_ANSWER_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJrYXQiLCJzdWIiOiJrYXQifQ.3ON_sldOc15l_fzc9KoIVG2QwSMjVS_JyMmLbPR2Djw";

/// Selects and checks `jsonwebtoken`'s crypto backend once per process.
fn backend_ready() -> Result<(), ConfigError> {
    static READY: OnceLock<Result<(), ConfigError>> = OnceLock::new();
    READY
        .get_or_init(|| {
            // Err means a provider is already the process default (installed by the application,
            // or chosen from jsonwebtoken's features): keep it, the checks below vouch for it.
            let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
                &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER,
            );
            check_backend()
        })
        .clone()
}

fn check_backend() -> Result<(), ConfigError> {
    const BROKEN: ConfigError =
        ConfigError::new("jsonwebtoken's crypto backend does not compute HS256 correctly");
    let key = DecodingKey::from_secret(KNOWN_ANSWER_KEY);
    let other = DecodingKey::from_secret(&[0x36; MIN_TOKEN_KEY_LEN]);
    // Verification agrees with an independent implementation, and depends on the key.
    let known = jsonwebtoken::decode::<Claims>(KNOWN_ANSWER_TOKEN, &key, validation())
        .map_err(|_| BROKEN)?;
    if known.claims.iss != "kat" || known.claims.sub != "kat" {
        return Err(BROKEN);
    }
    if jsonwebtoken::decode::<Claims>(KNOWN_ANSWER_TOKEN, &other, validation()).is_ok() {
        return Err(BROKEN);
    }
    // Signing agrees with that verification.
    let claims = Claims {
        iss: "kat".to_owned(),
        sub: "kat".to_owned(),
        iat: None,
        exp: None,
    };
    let signed = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(KNOWN_ANSWER_KEY),
    )
    .map_err(|_| BROKEN)?;
    jsonwebtoken::decode::<Claims>(&signed, &key, validation()).map_err(|_| BROKEN)?;
    Ok(())
}

/// Longest `application_user_id` (and `application_id` given as a string) accepted.
pub const MAX_ID_LEN: usize = 128;

/// 1 to 128 characters of `A-Z a-z 0-9 - _ .`, as the vendor documents.
pub(crate) fn valid_user_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// 1 to 128 visible ASCII characters (the vendor's ids are numbers; a string form is accepted).
pub(crate) fn valid_application_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::RejectionKind;

    fn key(byte: u8) -> Secret {
        Secret::new(vec![byte; 32]).unwrap()
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    #[test]
    fn known_answer_matches_the_vector_file() {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../../../tests/vectors/spike.json")).unwrap();
        let kat = &vectors["hs256_known_answer"];
        assert_eq!(kat["token"], KNOWN_ANSWER_TOKEN);
        assert_eq!(kat["key"].as_str().unwrap().as_bytes(), KNOWN_ANSWER_KEY);
        assert_eq!(check_backend(), Ok(()));
    }

    #[test]
    fn short_keys_are_refused() {
        let short = Secret::new(vec![1u8; 31]).unwrap();
        assert!(SpikeTokenKeys::new(short.clone()).is_err());
        let keys = SpikeTokenKeys::new(key(1)).unwrap();
        assert!(keys.rotate(short.clone()).is_err());
        assert!(keys.with_previous(KeySecret::new(short)).is_err());
    }

    #[test]
    fn issue_then_verify_and_deterministic_claims() {
        let keys = SpikeTokenKeys::new(key(1)).unwrap();
        let a = keys.issue("9999", "user_1", now(), None).unwrap();
        let b = keys
            .issue("9999", "user_1", now() + Duration::from_secs(5), None)
            .unwrap();
        assert_eq!(a, b, "no time-dependent claims by default");
        assert_eq!(keys.verify(&a, now()).unwrap().0.index(), 0);
        let claims: Claims = jsonwebtoken::dangerous::insecure_decode_claims(&a).unwrap();
        assert_eq!(
            (&*claims.iss, &*claims.sub, claims.exp),
            ("9999", "user_1", None)
        );
    }

    #[test]
    fn lifetime_adds_iat_and_exp() {
        let keys = SpikeTokenKeys::new(key(1)).unwrap();
        let token = keys
            .issue("1", "u", now(), Some(Duration::from_secs(60)))
            .unwrap();
        keys.verify(&token, now()).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let payload =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap();
        assert_eq!(
            payload,
            br#"{"iss":"1","sub":"u","iat":1800000000,"exp":1800000060}"#
        );
    }

    #[test]
    fn rotation_keeps_previous_until_retired_or_expired() {
        let keys = SpikeTokenKeys::new(key(1)).unwrap();
        let old = keys.issue("1", "u", now(), None).unwrap();
        keys.rotate(key(2)).unwrap();
        let new = keys.issue("1", "u", now(), None).unwrap();
        assert_ne!(old, new);
        assert_eq!(keys.verify(&new, now()).unwrap().0.index(), 0);
        assert_eq!(keys.verify(&old, now()).unwrap().0.index(), 1);
        keys.retire_previous();
        assert_eq!(
            keys.verify(&old, now()).unwrap_err().kind(),
            RejectionKind::InvalidSignature
        );

        // A previous key with an end of life, and a label reported when it matches.
        let keys = SpikeTokenKeys::new(key(1)).unwrap();
        let old = keys.issue("1", "u", now(), None).unwrap();
        let keys = SpikeTokenKeys::new(key(2))
            .unwrap()
            .with_previous(KeySecret::new(key(1)).label("2025").not_after(now()))
            .unwrap();
        let (matched, _) = keys.verify(&old, now()).unwrap();
        assert_eq!((matched.index(), matched.label()), (1, Some("2025")));
        assert_eq!(
            keys.verify(&old, now() + Duration::from_secs(1))
                .unwrap_err()
                .kind(),
            RejectionKind::InvalidSignature
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let keys = SpikeTokenKeys::new(key(1)).unwrap();
        for bad in [
            "",
            ".",
            "..",
            "a.b.c",
            "a.b.c.d",
            "eyJhbGciOiJIUzI1NiJ9",
            "\u{e9}.\u{e9}.\u{e9}",
        ] {
            let err = keys.verify(bad, now()).unwrap_err();
            assert_eq!(err.kind(), RejectionKind::MalformedCredentials, "{bad:?}");
        }
        // Well-formed but with an empty signature: a signature mismatch.
        let err = keys.verify("eyJhbGciOiJIUzI1NiJ9.e30.", now()).unwrap_err();
        assert_eq!(err.kind(), RejectionKind::InvalidSignature);
    }

    #[test]
    fn debug_hides_keys() {
        let keys = SpikeTokenKeys::new(Secret::new("k".repeat(40)).unwrap()).unwrap();
        let printed = format!("{keys:?}");
        assert!(!printed.contains("kkkk"), "{printed}");
    }
}

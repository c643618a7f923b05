//! Twilio webhooks: an HMAC-SHA1 of the URL Twilio called and the form parameters it posted.
//!
//! Twilio signs every request it makes to an application with the account's auth token
//! ([Webhooks security](https://www.twilio.com/docs/usage/webhooks/webhooks-security); the
//! official SDKs' `RequestValidator`, `validateRequest` and `validateRequestWithBody`, twilio-node
//! 6.3.1 and twilio-python 9.13.0):
//!
//! ```text
//! X-Twilio-Signature: <base64 HMAC-SHA1(auth token, data)>
//! data = the full URL Twilio requested (scheme, host, port if any, path, query)
//!        + for each POST form parameter, sorted by name, each distinct value sorted: name + value
//! ```
//!
//! - **`GET`** (and any request without a body): the URL alone. Its parameters are in the query,
//!   which is part of the URL.
//! - **`POST` forms** (`application/x-www-form-urlencoded`): names and values form-decoded
//!   (`+` is a space, `%XX` a byte), sorted by name, then by value within a repeated name, each
//!   distinct `(name, value)` pair once, appended with no separator (`FromCity=` adds `FromCity`).
//! - **Other bodies** (JSON): Twilio adds `bodySHA256=<hex SHA-256 of the raw body>` to the URL's
//!   query and signs the URL alone; the body is checked against that hash. A request whose URL
//!   carries `bodySHA256` is checked this way whatever its `Content-Type`.
//! - **SharedKey**: a request carrying `X-Twilio-Webhooks-Signature-Settings: key=<id>,
//!   algorithm=HMAC_SHA256` is signed the same way with HMAC-SHA256 (44 base64 characters) and
//!   the SharedKey's secret: put that secret in the layer's key, beside the auth token. Without
//!   the header, or without `algorithm=` in it, the signature is HMAC-SHA1. (Each secret of the
//!   key is tried with the algorithm the header names; twilio-node's middleware picks the secret
//!   by the header instead. Whoever holds either secret can sign either way, so this lets
//!   through nothing a holder could not send.)
//!
//! Twilio signs no timestamp and no delivery id: see *Security*.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use http::{Request, StatusCode};
//! use tower_hmac::twilio::{TwilioVerifyLayer, signature};
//! use tower_hmac::{Key, Secret};
//!
//! // Twilio's documented example: auth token 12345, an incoming call posted to
//! // https://mycompany.com/myapp.php?foo=1&bar=2.
//! let token = Secret::new("12345").unwrap();
//! let layer = TwilioVerifyLayer::new(Key::new("twilio", token.clone()))
//!     .public_url("https://mycompany.com")
//!     .unwrap();
//! let request = |signature: &str| {
//!     Request::post("/myapp.php?foo=1&bar=2")
//!         .header("content-type", "application/x-www-form-urlencoded")
//!         .header("x-twilio-signature", signature)
//!         .body(())
//!         .unwrap()
//!         .into_parts()
//!         .0
//! };
//! let body = b"CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=1234\
//!     &From=%2B14158675310&To=%2B18005551212";
//!
//! // Accepted.
//! let params = [
//!     ("CallSid", "CA1234567890ABCDE"),
//!     ("Caller", "+14158675310"),
//!     ("Digits", "1234"),
//!     ("From", "+14158675310"),
//!     ("To", "+18005551212"),
//! ];
//! let good = "GvWf1cFY/Q7PnoempGyD5oXAezc=";
//! assert_eq!(signature(&token, "https://mycompany.com/myapp.php?foo=1&bar=2", &params), good);
//! assert!(layer.verifier().verify(&request(good), body).await.is_ok());
//!
//! // Refused: the digits were changed on the way.
//! let tampered = b"CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=9999\
//!     &From=%2B14158675310&To=%2B18005551212";
//! let refused = layer.verifier().verify(&request(good), tampered).await.unwrap_err();
//! assert_eq!(refused.kind().status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # Behind a proxy
//!
//! **Twilio signs the URL it called, and a server behind a proxy, a load balancer or a tunnel
//! sees another one.** If Twilio calls `https://example.com/twilio/sms` and a TLS-terminating
//! proxy forwards it to `http://10.0.0.7:3000/twilio/sms`, the URL rebuilt from what reached the
//! server differs from the one Twilio signed, and **every request is refused** (401
//! `invalid_credentials`). Fail-closed, but nothing gets through.
//!
//! - **In production, configure the public URL:**
//!   [`public_url("https://example.com")`](TwilioVerifyLayer::public_url). The URL checked is
//!   then that base followed by the request's path and query, as they arrived (with a path
//!   prefix, `https://example.com/hooks`, for a proxy that strips `/hooks`). Credentials in it
//!   (`https://user:pass@example.com`, Twilio's HTTP authentication) are kept, and kept out of
//!   `Debug`.
//! - **Without it, the URL is rebuilt from the request:** the scheme of the request's URI if it
//!   has one (HTTP/2 and absolute-form requests carry it), otherwise `http`; the URI's authority,
//!   otherwise the `Host` header; then the path and query as they arrived. That is right for a
//!   server Twilio reaches directly over plain HTTP (the mock, a development tunnel that keeps
//!   `Host` and the scheme); a server that terminates TLS itself over HTTP/1.1 cannot see the
//!   scheme from the request either, so it needs `public_url` too.
//! - **`X-Forwarded-Proto`, `X-Forwarded-Host` and `Forwarded` are never read.** Any client can
//!   send them, so what they say depends on how each proxy cleans them; the SDKs' own framework
//!   middleware does not trust them by default either (Express without `trust proxy`). Trusting
//!   them would not let anyone forge a signature (the signature still covers the URL and the
//!   parameters, and only Twilio holds the token), but a configured URL is explicit and cannot
//!   drift with the proxy's configuration.
//! - **Mount the layer where the request's URI is still the one Twilio called.** A router that
//!   strips a prefix before its inner routes see the request (axum's `Router::nest`) changes the
//!   path too: layer the outer router, or put the prefix in the public URL.
//! - [`Twilio::url`] returns the URL the layer checks a request against, to compare with the
//!   one configured at Twilio when requests are refused.
//!
//! # Which URL spellings are accepted
//!
//! As both official SDKs do, the URL is tried without its port and with it (`:443` for
//! `https`, `:80` otherwise, when it has none): Twilio signs some URLs with the default port and
//! some without ("sig generation on back end is inconsistent", says twilio-python). As in both
//! SDKs, "without its port" removes any port, so a URL Twilio signed without one verifies at
//! `:8443` too; one signed with `:8443` does not verify without it.
//! twilio-node then also tries the URL as `new URL()` normalises it (host case, percent-encoding
//! of characters like `'`, its legacy query re-encoding); twilio-python does not, and neither
//! does this layer: the path and query are checked exactly as they arrived.
//!
//! # Security
//!
//! - **No timestamp, no delivery id.** Twilio signs neither: a captured request verifies forever.
//!   The layer keeps its own replay store; with it (or one shared with
//!   [`replay_store`](crate::VerifyLayer::replay_store)) a copy of a handled request is
//!   acknowledged without reaching the handler for 24 hours, identified by its verified
//!   signature (see [`webhooks`]). After that it would be handled again.
//! - **Identical requests can be legitimate.** A voice call that posts the same `<Gather>`
//!   digits to the same action URL twice, or a `<Redirect>` loop, sends byte-identical signed
//!   requests, and a TwiML endpoint must answer each with TwiML: for such an endpoint use
//!   [`allow_repeats`](TwilioVerifyLayer::allow_repeats), which lets every verified request
//!   through, copies included (the SDKs never deduplicate).
//! - **The body is always covered.** A form's parameters are signed; any other body must match
//!   the URL's `bodySHA256`; a request with neither a form nor `bodySHA256` must have an empty
//!   body, else it is refused (`malformed_credentials`). The SDKs check the parameters the
//!   application's body parser hands them, so a body that parser does not read as a form (JSON
//!   without `bodySHA256`, text) passes there with a signature of the URL alone; not here. A
//!   form whose decoded names or values are not UTF-8 is refused too (the SDKs decode them
//!   lossily, so two different bodies could sign alike); a JSON body is hashed as raw bytes,
//!   UTF-8 or not.
//! - **What the form signature does not cover.** Twilio's rule signs the decoded, sorted,
//!   de-duplicated parameters, not the body's bytes: the order of the pairs, their
//!   percent-encoding and a repeated identical pair can change without changing the signature.
//!   Read the body as a form, as the signature does, and do not count repeated identical pairs:
//!   the signature does not tell one from two.
//! - **Rotation.** While an auth token is replaced, give the key both (and a SharedKey's secret
//!   beside them, if Twilio signs with one): a request verifies when one of them matches.
//! - **Order.** Names, then values within a name, are sorted by UTF-16 code unit, as
//!   twilio-node (and JavaScript and Java string comparison) sorts them; twilio-python sorts by
//!   code point, which differs only for characters beyond U+FFFF against U+E000 to U+FFFF.
//! - **Strict decoding.** The signature is standard, padded base64 of exactly 20 bytes (32 with
//!   `algorithm=HMAC_SHA256`); an empty, truncated or unpadded one is `malformed_credentials`,
//!   never a shorter compare (the SDKs compare the base64 text, so they refuse those too). An
//!   unknown algorithm is refused, as the SDKs refuse it. `bodySHA256` must be 64 lower-case hex
//!   digits, as the SDKs compare it.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use http::header::{CONTENT_TYPE, HOST};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Uri};
use percent_encoding::percent_decode;
use sha2::Digest as _;

use crate::crypto::{MacAlgorithm, Message, Secret, Tag, ct_eq_secret};
use crate::error::ConfigError;
use crate::keys::KeyStore;
use crate::pipeline::headers::{optional, single};
use crate::pipeline::{BodySigned, MatchedSecret, Presented, Scheme, Verify, VerifyLayer};
use crate::rejection::{Rejection, RejectionKind};
use crate::sign::{SchemeSigner, Sender, SignError, Signer as _, header_value, sensitive};
use crate::webhooks::{self, Delivery};

/// The layer verifying Twilio requests.
pub type TwilioVerifyLayer = VerifyLayer<Twilio>;

/// The service built by [`TwilioVerifyLayer`].
pub type TwilioVerify<S> = Verify<S, Twilio>;

/// Signs requests as Twilio does (for tests, or to send them).
pub type TwilioSigner = SchemeSigner<Twilio>;

const X_TWILIO_SIGNATURE: HeaderName = HeaderName::from_static("x-twilio-signature");
const X_TWILIO_SETTINGS: HeaderName =
    HeaderName::from_static("x-twilio-webhooks-signature-settings");

const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
const BODY_SHA256: &[u8] = b"bodySHA256";

const SIGNATURE_FORM: &str =
    "X-Twilio-Signature header must be the standard padded base64 of an HMAC-SHA1 (28 characters)";
const SIGNATURE_FORM_SHA256: &str = "X-Twilio-Signature header must be the standard padded base64 of an HMAC-SHA256 (44 characters)";
const PUBLIC_URL_FORM: &str = "a Twilio public URL must be an absolute http or https URL without query or fragment, such as https://example.com";

/// The Twilio scheme: where the URL Twilio signed comes from, and whether identical requests are
/// handled once.
#[derive(Clone, Default)]
pub struct Twilio {
    public_url: Option<PublicUrl>,
    repeats: bool,
    shared_key: Option<Arc<str>>,
}

/// A configured public base URL: its text, and the same without credentials for `Debug`.
#[derive(Clone)]
struct PublicUrl {
    base: Arc<str>,
    shown: Arc<str>,
}

/// What a Twilio request signs: the URL (in the spellings tried) and the form parameters, or
/// the body's hash.
pub struct TwilioRequest {
    /// The URL signed, and for the verifier its other spelling (see the module docs).
    url: Box<str>,
    other_url: Option<Box<str>>,
    body: BodyRule,
    /// Sorted, distinct `(name, value)` pairs of a form.
    params: Vec<(String, String)>,
    algorithm: MacAlgorithm,
    /// For a signer: the URL it signed is not the request's (it added `bodySHA256`).
    moved: bool,
    /// For a signer with a SharedKey: its id.
    shared_key: Option<Arc<str>>,
}

/// How the body is covered.
#[derive(Debug, Clone, Copy)]
enum BodyRule {
    /// Its parameters are signed.
    Form,
    /// It is hashed into the URL's `bodySHA256`.
    Hash([u8; 32]),
    /// It must be empty.
    Empty,
}

impl fmt::Debug for Twilio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Twilio")
            .field("public_url", &self.public_url.as_ref().map(|u| &*u.shown))
            .field("allow_repeats", &self.repeats)
            .field("shared_key", &self.shared_key)
            .finish()
    }
}

impl fmt::Debug for TwilioRequest {
    // The URL may carry HTTP credentials: it is left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioRequest")
            .field("spellings", &(1 + usize::from(self.other_url.is_some())))
            .field("body", &self.body)
            .field("params", &self.params.len())
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Twilio {
    /// The scheme for a sender signing with a Twilio SharedKey (a Webhooks rule): HMAC-SHA256,
    /// announced by `X-Twilio-Webhooks-Signature-Settings: key=<key_id>,algorithm=HMAC_SHA256`.
    /// The verifier needs no such setting: it reads the header.
    pub fn shared_key(key_id: &str) -> Result<Self, ConfigError> {
        let fits = !key_id.is_empty()
            && key_id
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b',' && b != b'=');
        if !fits {
            return Err(ConfigError::new(
                "a SharedKey id must be printable ASCII without spaces, ',' or '='",
            ));
        }
        Ok(Self {
            shared_key: Some(key_id.into()),
            ..Self::default()
        })
    }

    /// The URL this scheme checks `request` against in its first spelling (the one Twilio
    /// signed, if the layer is configured right): the [public URL](TwilioVerifyLayer::public_url)
    /// and the request's path and query, or the URL rebuilt from the request (see *Behind a
    /// proxy*). Compare it with the URL configured at Twilio when requests are refused.
    pub fn url(&self, request: &Parts) -> Result<String, Rejection> {
        let path = request
            .uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str);
        if let Some(public) = &self.public_url {
            return Ok(format!("{}{path}", public.base));
        }
        let scheme = request.uri.scheme_str().unwrap_or("http");
        let host = match request.uri.authority() {
            Some(authority) => authority.as_str(),
            None => single(request, &HOST, "Host")?,
        };
        Ok(format!("{scheme}://{host}{path}"))
    }
}

impl TwilioVerifyLayer {
    /// A layer checking requests against the secrets of `keys`: a [`Key`](crate::Key) holding
    /// the account's auth token (two during a rotation, plus a SharedKey's secret if Twilio
    /// signs with one), or a store holding it under `twilio`. The URL Twilio signed is rebuilt
    /// from each request until [`public_url`](Self::public_url) is set: read *Behind a proxy*.
    ///
    /// It keeps its own in-process replay store, so that this instance handles no request
    /// twice; share one between instances with [`replay_store`](VerifyLayer::replay_store), or
    /// let identical requests through with [`allow_repeats`](Self::allow_repeats).
    pub fn new(keys: impl KeyStore) -> Self {
        webhooks::layer(Twilio::default(), keys)
    }

    /// The public base URL Twilio calls (`https://example.com`, or with a path prefix the proxy
    /// removes, `https://example.com/hooks`): the URL checked is this base followed by the
    /// request's path and query. Refused unless it is an absolute `http` or `https` URL without
    /// query or fragment; a trailing `/` is dropped.
    ///
    /// ```
    /// use tower_hmac::twilio::TwilioVerifyLayer;
    /// use tower_hmac::{Key, Secret};
    ///
    /// let key = Key::new("twilio", Secret::new("12345").unwrap());
    /// assert!(TwilioVerifyLayer::new(key.clone()).public_url("https://example.com/").is_ok());
    /// assert!(TwilioVerifyLayer::new(key.clone()).public_url("example.com").is_err());
    /// assert!(TwilioVerifyLayer::new(key).public_url("https://example.com/?a=1").is_err());
    /// ```
    pub fn public_url(self, url: &str) -> Result<Self, ConfigError> {
        let public = PublicUrl::parse(url)?;
        Ok(self.map_scheme(|s| s.public_url = Some(public)))
    }

    /// Lets every verified request reach the handler, identical copies included: for TwiML
    /// endpoints, where the same signed request can legitimately come twice (see *Security*).
    /// A captured request can then be replayed at will, as with the SDKs.
    pub fn allow_repeats(self) -> Self {
        self.map_scheme(|s| s.repeats = true)
    }
}

impl PublicUrl {
    fn parse(text: &str) -> Result<Self, ConfigError> {
        let base = text.trim_end_matches('/');
        let uri: Uri = base
            .parse()
            .map_err(|_| ConfigError::new(PUBLIC_URL_FORM))?;
        let authority = match (uri.scheme_str(), uri.authority()) {
            (Some("http" | "https"), Some(authority)) => authority.as_str(),
            _ => return Err(ConfigError::new(PUBLIC_URL_FORM)),
        };
        if text.contains(['?', '#']) {
            return Err(ConfigError::new(PUBLIC_URL_FORM));
        }
        let shown = match authority.rsplit_once('@') {
            Some((credentials, _)) => base.replacen(credentials, "***", 1),
            None => base.to_owned(),
        };
        Ok(Self {
            base: base.into(),
            shown: shown.into(),
        })
    }
}

/// `url` without its port, and with it (the scheme's default port when it has none): the two
/// spellings both SDKs try (twilio-node's `removePort` / `addPort`). A URL without `scheme://`
/// has one spelling.
fn port_spellings(url: &str) -> (String, Option<String>) {
    let Some((scheme, after)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let valid_scheme = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'));
    if !valid_scheme {
        return (url.to_owned(), None);
    }
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    // A colon starts the port only after the closing bracket of an IPv6 literal.
    let search_from = host_port.rfind(']').map_or(0, |b| b + 1);
    let port_start = host_port
        .get(search_from..)
        .and_then(|tail| tail.find(':'))
        .map(|i| i + search_from);
    let (host, port) = match port_start {
        Some(i) => host_port.split_at(i),
        None => (host_port, ""),
    };
    let without = format!("{scheme}://{userinfo}{host}{rest}");
    let with = if port.is_empty() {
        let default = if scheme.eq_ignore_ascii_case("https") {
            ":443"
        } else {
            ":80"
        };
        format!("{scheme}://{userinfo}{host}{default}{rest}")
    } else {
        url.to_owned()
    };
    (without, Some(with))
}

/// The `&`-separated `name=value` pairs of a form or query, raw (empty pieces skipped, a piece
/// without `=` is a name with an empty value), as the WHATWG form parser and Node's
/// `querystring` split them.
fn raw_pairs(text: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    text.split(|&b| b == b'&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let mut halves = piece.splitn(2, |&b| b == b'=');
            let name = halves.next().unwrap_or_default();
            (name, halves.next().unwrap_or_default())
        })
}

/// Form-decodes `raw`: `+` is a space, `%XX` a byte (a `%` not followed by two hex digits stays).
fn form_decode(raw: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced).collect()
}

/// JavaScript's (and Java's) string order: by UTF-16 code unit.
fn utf16_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The parameters of a form body, decoded, sorted by name then value, each distinct pair once.
/// `None` if a decoded name or value is not UTF-8.
fn form_params(body: &[u8]) -> Option<Vec<(String, String)>> {
    let mut params = raw_pairs(body)
        .map(|(name, value)| {
            let name = String::from_utf8(form_decode(name)).ok()?;
            let value = String::from_utf8(form_decode(value)).ok()?;
            Some((name, value))
        })
        .collect::<Option<Vec<_>>>()?;
    params.sort_by(|a, b| utf16_order(&a.0, &b.0).then_with(|| utf16_order(&a.1, &b.1)));
    params.dedup();
    Some(params)
}

/// The first `bodySHA256` value of `query`, decoded, if it has one.
fn body_sha256(query: &str) -> Option<Vec<u8>> {
    raw_pairs(query.as_bytes())
        .find(|(name, _)| form_decode(name) == BODY_SHA256)
        .map(|(_, value)| form_decode(value))
}

/// 64 lower-case hex digits, as the SDKs compare them.
fn lower_hex_sha256(text: &[u8]) -> Option<[u8; 32]> {
    if !text.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut hash = [0u8; 32];
    crate::crypto::decode_hex(text, &mut hash).ok()?;
    Some(hash)
}

/// Whether the request's `Content-Type` is a form (parameters such as `charset` allowed).
fn is_form(request: &Parts) -> Result<bool, Rejection> {
    Ok(
        optional(request, &CONTENT_TYPE, "Content-Type")?.is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case(FORM_CONTENT_TYPE))
        }),
    )
}

/// The algorithm `X-Twilio-Webhooks-Signature-Settings` names, as the SDKs read it: the first
/// `algorithm=` with a value, HMAC-SHA1 when the header is absent, empty, or names none.
fn algorithm(request: &Parts) -> Result<MacAlgorithm, Rejection> {
    let empty = request
        .headers
        .get(&X_TWILIO_SETTINGS)
        .is_some_and(|v| v.as_bytes().trim_ascii().is_empty());
    let settings = if empty {
        None
    } else {
        optional(
            request,
            &X_TWILIO_SETTINGS,
            "X-Twilio-Webhooks-Signature-Settings",
        )?
    };
    let named = settings.and_then(|settings| {
        settings.split(',').find_map(|part| {
            let (name, value) = part.split_once('=')?;
            let value = value.trim();
            (name.trim() == "algorithm" && !value.is_empty()).then_some(value)
        })
    });
    match named {
        None => Ok(MacAlgorithm::HmacSha1),
        Some(name) if name.eq_ignore_ascii_case("HMAC_SHA1") => Ok(MacAlgorithm::HmacSha1),
        Some(name) if name.eq_ignore_ascii_case("HMAC_SHA256") => Ok(MacAlgorithm::HmacSha256),
        Some(_) => Err(Rejection::malformed(
            "X-Twilio-Webhooks-Signature-Settings names an unsupported algorithm (HMAC_SHA1 or HMAC_SHA256)",
        )),
    }
}

/// How the body of `request` is covered, decided from its URL and headers.
fn body_rule(request: &Parts) -> Result<BodyRule, Rejection> {
    if let Some(hash) = request.uri.query().and_then(body_sha256) {
        return lower_hex_sha256(&hash)
            .map(BodyRule::Hash)
            .ok_or_else(|| Rejection::malformed("bodySHA256 must be 64 lower-case hex digits"));
    }
    Ok(if is_form(request)? {
        BodyRule::Form
    } else {
        BodyRule::Empty
    })
}

impl Scheme for Twilio {
    type Credentials = TwilioRequest;
    type Identity = Delivery;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "twilio"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<TwilioRequest>, Rejection> {
        let algorithm = algorithm(request)?;
        let signature = single(request, &X_TWILIO_SIGNATURE, "X-Twilio-Signature")?;
        let tag = Tag::decode_base64(signature.as_bytes(), algorithm).map_err(|_| {
            Rejection::malformed(match algorithm {
                MacAlgorithm::HmacSha1 => SIGNATURE_FORM,
                _ => SIGNATURE_FORM_SHA256,
            })
        })?;
        let body = body_rule(request)?;
        let (url, other_url) = port_spellings(&self.url(request)?);
        Ok(Presented::mac(
            TwilioRequest {
                url: url.into(),
                other_url: other_url.map(Into::into),
                body,
                params: Vec::new(),
                algorithm,
                moved: false,
                shared_key: None,
            },
            tag,
        ))
    }

    /// A form's parameters; the body's hash against `bodySHA256`; or an empty body.
    fn body_credentials(
        &self,
        presented: &mut Presented<TwilioRequest>,
        body: &[u8],
    ) -> Result<(), Rejection> {
        let request = &mut presented.credentials;
        match request.body {
            BodyRule::Form => {
                request.params = form_params(body).ok_or_else(|| {
                    Rejection::malformed("the form's decoded names and values must be UTF-8")
                })?;
            }
            BodyRule::Hash(expected) => {
                let actual: [u8; 32] = sha2::Sha256::digest(body).into();
                if !ct_eq_secret(&actual, &expected) {
                    return Err(Rejection::with_message(
                        RejectionKind::InvalidSignature,
                        "the body does not match the URL's bodySHA256",
                    ));
                }
            }
            BodyRule::Empty if body.is_empty() => {}
            BodyRule::Empty => {
                return Err(Rejection::malformed(
                    "a body Twilio signs is a form (application/x-www-form-urlencoded) or is hashed into the URL's bodySHA256",
                ));
            }
        }
        Ok(())
    }

    fn message_forms(&self, request: &TwilioRequest) -> usize {
        1 + usize::from(request.other_url.is_some())
    }

    /// The URL in spelling `form` (without its port, then with it), then each parameter's
    /// name and value.
    fn message_form(
        &self,
        request: &TwilioRequest,
        form: usize,
        _body: &[u8],
        message: &mut Message<'_>,
    ) {
        let url = match (form, &request.other_url) {
            (1, Some(other)) => other,
            _ => &request.url,
        };
        message.write(url.as_bytes());
        for (name, value) in &request.params {
            message.write(name.as_bytes());
            message.write(value.as_bytes());
        }
    }

    /// The URL as signed, then each parameter's name and value.
    fn message(&self, request: &TwilioRequest, body: &[u8], message: &mut Message<'_>) {
        self.message_form(request, 0, body, message);
    }

    fn mac_algorithm(&self, request: &TwilioRequest) -> MacAlgorithm {
        request.algorithm
    }

    fn delivers(&self) -> bool {
        !self.repeats
    }

    fn identity(&self, _request: TwilioRequest, _: Option<&MatchedSecret>) -> Delivery {
        Delivery::unsigned_id(None, None)
    }
}

impl Sender for Twilio {
    /// The request's URL as it is, and: a form's parameters (`Content-Type:
    /// application/x-www-form-urlencoded`); nothing more for an empty body or a URL that carries
    /// `bodySHA256` already; for any other body, `bodySHA256` added to the URL (which
    /// [`put`](Sender::put) then sets on the request).
    fn credentials_to_sign(
        &self,
        request: &Parts,
        body: &[u8],
        _now: SystemTime,
    ) -> Result<TwilioRequest, SignError> {
        let mut url = request.uri.to_string();
        let has_hash = request.uri.query().and_then(body_sha256).is_some();
        let form = is_form(request).map_err(|_| SignError::invalid_header("Content-Type"))?;
        let mut params = Vec::new();
        let mut moved = false;
        let rule = if has_hash {
            BodyRule::Empty
        } else if form {
            params = form_params(body).ok_or_else(|| {
                SignError::body("the form's decoded names and values must be UTF-8")
            })?;
            BodyRule::Form
        } else if body.is_empty() {
            BodyRule::Empty
        } else {
            url = url_with_body_sha256(&url, body);
            moved = true;
            BodyRule::Empty
        };
        Ok(TwilioRequest {
            url: url.into(),
            other_url: None,
            body: rule,
            params,
            algorithm: if self.shared_key.is_some() {
                MacAlgorithm::HmacSha256
            } else {
                MacAlgorithm::HmacSha1
            },
            moved,
            shared_key: self.shared_key.clone(),
        })
    }

    fn put(
        &self,
        request: &TwilioRequest,
        signature: &Tag,
        parts: &mut Parts,
    ) -> Result<(), SignError> {
        if request.moved {
            parts.uri = request
                .url
                .parse()
                .map_err(|_| SignError::invalid_header("the URL"))?;
        }
        parts.headers.insert(
            X_TWILIO_SIGNATURE,
            sensitive(signature.to_base64().as_bytes(), "X-Twilio-Signature")?,
        );
        if let Some(key) = &request.shared_key {
            let value = format!("key={key},algorithm=HMAC_SHA256");
            parts.headers.insert(
                X_TWILIO_SETTINGS,
                header_value(value.as_bytes(), "X-Twilio-Webhooks-Signature-Settings")?,
            );
        }
        Ok(())
    }
}

/// `url` with `bodySHA256=<hex SHA-256 of body>` added to its query, as Twilio sends a JSON
/// body: the URL to send such a body to, and to sign.
///
/// ```
/// use tower_hmac::twilio::url_with_body_sha256;
///
/// assert_eq!(
///     url_with_body_sha256("https://example.com/hook?a=1", b""),
///     "https://example.com/hook?a=1&bodySHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/// );
/// ```
pub fn url_with_body_sha256(url: &str, body: &[u8]) -> String {
    let separator = match url.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some(_) => "&",
    };
    format!(
        "{url}{separator}bodySHA256={}",
        const_hex::encode(sha2::Sha256::digest(body))
    )
}

/// The `X-Twilio-Signature` Twilio sends for a request to `url` with the form parameters
/// `params` (none for a `GET`, or for a JSON body whose hash is in `url`), signed with the auth
/// token `token`: the base64 HMAC-SHA1 of the URL and the sorted, distinct parameters (twilio's
/// `getExpectedTwilioSignature`).
pub fn signature(token: &Secret, url: &str, params: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = params
        .iter()
        .map(|&(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    params.sort_by(|a, b| utf16_order(&a.0, &b.0).then_with(|| utf16_order(&a.1, &b.1)));
    params.dedup();
    let request = TwilioRequest {
        url: url.into(),
        other_url: None,
        body: BodyRule::Form,
        params,
        algorithm: MacAlgorithm::HmacSha1,
        moved: false,
        shared_key: None,
    };
    crate::sign::sign_message(&Twilio::default(), &request, b"", token).to_base64()
}

/// The headers Twilio sends with a `POST` of the form `body` to `url`: `Content-Type` and
/// `X-Twilio-Signature`.
pub fn sign_request(token: &Secret, url: &str, body: &[u8]) -> Result<HeaderMap, SignError> {
    let request = Request::post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE))
        .body(())
        .map_err(|_| SignError::invalid_header("the URL"))?;
    let (mut parts, ()) = request.into_parts();
    SchemeSigner::new(Twilio::default(), token.clone()).sign(&mut parts, body)?;
    Ok(parts.headers)
}

/// The mock's Twilio receiver (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use std::sync::Arc;

    use super::TwilioVerifyLayer;
    use crate::mock::{Examples, Provider, Section, Shared, webhooks};

    pub(crate) const PROVIDER: Provider = Provider {
        name: "twilio",
        config_keys: &["twilio", "twilio_public_url"],
        demo_private_key: None,
        demo: || webhooks::demo("twilio", AUTH_TOKEN),
        router: |config: &Section<'_>, shared: &Shared| {
            let mut layer = TwilioVerifyLayer::new(webhooks::key(config, "twilio")?)
                .replay_store(Arc::clone(&shared.replay));
            if let Some(url) = config.get::<Option<String>>("twilio_public_url")? {
                layer = layer.public_url(&url)?;
            }
            Ok(webhooks::routes(
                shared,
                "twilio",
                layer,
                webhooks::get_and_post,
            ))
        },
        sign: Some(|secret, signed, url, body, _now| {
            // A form is signed as its parameters; any other body as Twilio sends JSON: its
            // hash in the query of the URL, signed and called.
            let form = !body.is_empty()
                && body
                    .split(|&b| b == b'&')
                    .all(|pair| pair.contains(&b'=') && !pair.contains(&b'{'));
            let (signed, url) = if form || body.is_empty() {
                (signed.to_owned(), url.to_owned())
            } else {
                (
                    super::url_with_body_sha256(signed, body),
                    super::url_with_body_sha256(url, body),
                )
            };
            let mut request = http::Request::post(&signed);
            if form {
                request = request.header(http::header::CONTENT_TYPE, super::FORM_CONTENT_TYPE);
            }
            let (mut parts, ()) = request.body(())?.into_parts();
            let signer = crate::sign::SchemeSigner::new(
                super::Twilio::default(),
                crate::Secret::new(secret)?,
            );
            crate::sign::Signer::sign(&signer, &mut parts, body)?;
            Ok(crate::mock::SignedDelivery {
                headers: parts.headers,
                url,
                body: body.to_vec(),
            })
        }),
        examples: |config: &Section<'_>, at: &Examples| {
            // Behind a tunnel, the URL Twilio signs is the public one.
            let extra = match config.get::<Option<String>>("twilio_public_url")? {
                Some(url) => format!(
                    " --url {}",
                    crate::mock::quote(&format!("{}/webhooks/twilio", url.trim_end_matches('/')))
                ),
                None => String::new(),
            };
            webhooks::example(config, at, "twilio", &extra)
        },
    };

    /// The mock's demo auth token (the one of Twilio's documented example).
    pub(crate) const AUTH_TOKEN: &str = "12345";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_spellings_follow_the_sdks() {
        let cases = [
            ("https://h/x", "https://h/x", "https://h:443/x"),
            ("http://h/x?a=1", "http://h/x?a=1", "http://h:80/x?a=1"),
            ("HTTPS://h/x", "HTTPS://h/x", "HTTPS://h:443/x"),
            ("https://h:443/x", "https://h/x", "https://h:443/x"),
            ("https://h:8443/x", "https://h/x", "https://h:8443/x"),
            ("https://u:p@h/x", "https://u:p@h/x", "https://u:p@h:443/x"),
            ("https://u:p@h:1/x", "https://u:p@h/x", "https://u:p@h:1/x"),
            (
                "http://[::1]:8080/x",
                "http://[::1]/x",
                "http://[::1]:8080/x",
            ),
            ("http://[::1]", "http://[::1]", "http://[::1]:80"),
            ("https://h?q=a:b", "https://h?q=a:b", "https://h:443?q=a:b"),
        ];
        for (url, without, with) in cases {
            let (a, b) = port_spellings(url);
            assert_eq!((a.as_str(), b.as_deref()), (without, Some(with)), "{url}");
        }
        assert_eq!(port_spellings("/x"), ("/x".to_owned(), None));
        assert_eq!(port_spellings("1h://x"), ("1h://x".to_owned(), None));
    }

    #[test]
    fn form_params_decode_sort_and_dedup() {
        let params =
            form_params(b"b=2&a=%41+b&&Tag=z&Tag=a&Tag=a&FromCity=&flag&c=%zz&c=%E2%82%AC")
                .unwrap();
        let params: Vec<(&str, &str)> = params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            params,
            [
                ("FromCity", ""),
                ("Tag", "a"),
                ("Tag", "z"),
                ("a", "A b"),
                ("b", "2"),
                ("c", "%zz"),
                ("c", "\u{20ac}"),
                ("flag", ""),
            ]
        );
        assert_eq!(form_params(b"a=%FF"), None);
        assert_eq!(form_params(b"%C3=1"), None);
    }

    #[test]
    fn values_sort_by_utf16_code_unit() {
        // U+1F600 is D83D DE00 in UTF-16, below U+FF48; by code point it is above.
        let params = form_params("T=\u{ff48}&T=\u{1f600}".as_bytes()).unwrap();
        assert_eq!(params[0].1, "\u{1f600}");
        assert_eq!(params[1].1, "\u{ff48}");
    }

    #[test]
    fn body_sha256_is_read_from_the_query() {
        assert_eq!(
            body_sha256("a=1&bodySHA256=ab&bodySHA256=cd"),
            Some(b"ab".to_vec())
        );
        assert_eq!(body_sha256("body%53HA256=ab"), Some(b"ab".to_vec()));
        assert_eq!(body_sha256("bodysha256=ab"), None);
        assert!(lower_hex_sha256(&[b'a'; 64]).is_some());
        assert!(lower_hex_sha256(&[b'A'; 64]).is_none());
        assert!(lower_hex_sha256(&[b'a'; 62]).is_none());
    }

    #[test]
    fn public_urls_are_checked_and_kept_out_of_debug() {
        let url = PublicUrl::parse("https://user:pass@example.com/hooks/").unwrap();
        assert_eq!(&*url.base, "https://user:pass@example.com/hooks");
        assert_eq!(&*url.shown, "https://***@example.com/hooks");
        for bad in [
            "example.com",
            "/hooks",
            "ftp://example.com",
            "https://example.com?x=1",
            "https://example.com/#f",
            "https://exa mple.com",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
        let scheme = Twilio {
            public_url: Some(url),
            ..Twilio::default()
        };
        assert!(!format!("{scheme:?}").contains("pass"));
    }

    #[test]
    fn urls_are_rebuilt_from_the_request() {
        let parts = |uri: &str, host: Option<&str>| {
            let mut request = Request::post(uri);
            if let Some(host) = host {
                request = request.header("host", host);
            }
            request.body(()).unwrap().into_parts().0
        };
        let twilio = Twilio::default();
        assert_eq!(
            twilio.url(&parts("/x?a=1", Some("h:8080"))).unwrap(),
            "http://h:8080/x?a=1"
        );
        assert_eq!(
            twilio.url(&parts("https://h2/x", Some("ignored"))).unwrap(),
            "https://h2/x"
        );
        let missing = twilio.url(&parts("/x", None)).unwrap_err();
        assert_eq!(missing.kind(), RejectionKind::MissingCredentials);
        let public = Twilio {
            public_url: Some(PublicUrl::parse("https://example.com").unwrap()),
            ..Twilio::default()
        };
        assert_eq!(
            public.url(&parts("/x?", Some("10.0.0.7:3000"))).unwrap(),
            "https://example.com/x?"
        );
    }

    #[test]
    fn url_with_body_sha256_joins_the_query() {
        let hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            url_with_body_sha256("https://h/x", b""),
            format!("https://h/x?bodySHA256={hash}")
        );
        assert_eq!(
            url_with_body_sha256("https://h/x?", b""),
            format!("https://h/x?bodySHA256={hash}")
        );
    }
}

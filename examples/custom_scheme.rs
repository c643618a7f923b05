//! Writing your own scheme: a webhook protocol this crate does not ship, built only from the
//! crate's public API, mounted in axum, and called once signed and once forged.
//!
//! "Acme" webhooks (a made-up sender, shaped like most real ones) sign each delivery with the
//! endpoint's secret:
//!
//! ```text
//! Acme-Timestamp: <seconds since the Unix epoch>
//! Acme-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>
//! ```
//!
//! ```text
//! cargo run --example custom_scheme
//! ```
//!
//! The scheme (everything between the two rulers below) is the whole of what a user writes: its
//! credentials, its message, its window, an option, its layer and its signer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::post;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue};
use tower_hmac::crypto::{Message, Tag};
use tower_hmac::pipeline::{BodySigned, Presented, Window, headers, unix_seconds};
use tower_hmac::sign::{SignError, sign_message};
use tower_hmac::{Key, KeyStore, MatchedSecret, Rejection, Scheme, Secret, Verified, VerifyLayer};

// ---------------------------------------------------------------------------------------------
// The scheme.

const ACME_TIMESTAMP: HeaderName = HeaderName::from_static("acme-timestamp");
const ACME_SIGNATURE: HeaderName = HeaderName::from_static("acme-signature");

/// The Acme scheme, with its one option: the timestamp window.
#[derive(Debug, Clone, Default)]
pub struct Acme {
    window: Window,
}

/// What an Acme delivery signs with.
#[derive(Debug)]
pub struct AcmeDelivery {
    timestamp: u64,
}

impl Acme {
    /// How far from now a delivery's timestamp may be, each way (default 300 s).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.window = Window::symmetric(tolerance);
        self
    }

    /// The layer for an endpoint whose secret set is `keys` (a `Key`, or a key store holding
    /// the key named `acme`).
    pub fn layer_for(self, keys: impl KeyStore) -> VerifyLayer<Self> {
        self.layer(keys)
    }

    /// The headers Acme sends with `body` at `timestamp` (seconds): the signer, from the same
    /// message rule as the verifier.
    pub fn sign(
        &self,
        secret: &Secret,
        timestamp: u64,
        body: &[u8],
    ) -> Result<HeaderMap, SignError> {
        let tag = sign_message(self, &AcmeDelivery { timestamp }, body, secret);
        let mut headers = HeaderMap::new();
        headers.insert(ACME_TIMESTAMP, HeaderValue::from(timestamp));
        let signature = format!("sha256={}", tag.to_hex());
        headers.insert(
            ACME_SIGNATURE,
            tower_hmac::sign::sensitive(signature.as_bytes(), "Acme-Signature")?,
        );
        Ok(headers)
    }
}

impl Scheme for Acme {
    type Credentials = AcmeDelivery;
    type Identity = u64;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "acme"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<AcmeDelivery>, Rejection> {
        let timestamp = headers::single(request, &ACME_TIMESTAMP, "Acme-Timestamp")?;
        let timestamp = unix_seconds(timestamp, "Acme-Timestamp")?;
        let signature = headers::single(request, &ACME_SIGNATURE, "Acme-Signature")?;
        let tag = signature
            .strip_prefix("sha256=")
            .and_then(|hex| Tag::from_hex(hex.as_bytes()).ok())
            .ok_or_else(|| Rejection::malformed("Acme-Signature must be sha256=<64 hex digits>"))?;
        Ok(Presented::mac(AcmeDelivery { timestamp }, tag))
    }

    fn check_fresh(&self, delivery: &AcmeDelivery, now: SystemTime) -> Result<(), Rejection> {
        self.window.check_secs(delivery.timestamp, now)
    }

    fn message(&self, delivery: &AcmeDelivery, body: &[u8], message: &mut Message<'_>) {
        message.write_decimal(delivery.timestamp);
        message.write(b".");
        message.write(body);
    }

    fn identity(&self, delivery: AcmeDelivery, _: Option<&MatchedSecret>) -> u64 {
        delivery.timestamp
    }
}

// ---------------------------------------------------------------------------------------------
// An application using it.

async fn receive(delivery: Verified<u64>, body: String) -> String {
    format!("delivery of {} signed at {}", body, delivery.identity())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let secret = Secret::new("acme-endpoint-secret")?;
    let layer = Acme::default()
        .tolerance(Duration::from_secs(120))
        .layer_for(Key::new("acme", secret.clone()));
    let app = Router::new()
        .route("/hooks/acme", post(receive))
        .layer(layer);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let body = r#"{"event":"invoice.paid"}"#;
    let signed = Acme::default().sign(&secret, now, body.as_bytes())?;
    let forged = Acme::default().sign(&Secret::new("guess")?, now, body.as_bytes())?;
    for (what, headers) in [("signed", signed), ("forged", forged)] {
        let (status, text) = post_to(addr, &headers, body).await?;
        println!("{what}: {status} {text}");
    }
    Ok(())
}

/// Posts `body` with `headers` to the example's route with hyper's client.
async fn post_to(
    addr: std::net::SocketAddr,
    headers: &HeaderMap,
    body: &str,
) -> Result<(http::StatusCode, String), Box<dyn std::error::Error + Send + Sync>> {
    use http_body_util::BodyExt as _;
    let mut request = http::Request::post(format!("http://{addr}/hooks/acme")).body(
        http_body_util::Full::new(bytes::Bytes::from(body.to_owned())),
    )?;
    request.headers_mut().extend(headers.clone());
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let response = client.request(request).await?;
    let status = response.status();
    let text = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&text).into_owned()))
}

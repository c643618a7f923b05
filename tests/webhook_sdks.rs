//! The vendors' own webhook code against the crate, on loopback, both ways.
//!
//! - **The vendor signs, the mock verifies.** `tests/snippets/webhooks/sign_and_send.mjs` (and
//!   `sign_and_send.py` for Slack) signs deliveries with the vendor's official SDK where one signs
//!   (`@octokit/webhooks-methods`, `stripe`, `standardwebhooks`, `twilio`, `slack_sdk`), otherwise
//!   with the vendor's documented code (Shopify, Paddle, Zoom, Linear), and sends each to the
//!   mock's `/webhooks/{provider}` route on a free port, then an exact copy, then a copy with a
//!   changed body. The mock must handle the delivery (200, its JSON naming the provider and the
//!   body's SHA-256), acknowledge the copy without handling it again, refuse the changed one (401),
//!   and list exactly the handled delivery at `GET /webhooks/{provider}/deliveries`.
//! - **The crate signs, the vendor verifies.** `verify_server.mjs` (`verify_server.py` for Slack)
//!   serves a receiver checking every request with the vendor's official SDK verifier; the
//!   crate's signer for the scheme signs a delivery through a `SignLayer` over a hyper client,
//!   and the SDK must accept it (200) and refuse the same delivery with a changed body (401).
//!
//! node with tests/snippets/node_modules (`npm ci` there) and python3 with
//! tests/snippets/requirements.txt must be present: `scripts/test.sh` installs them. A missing
//! tool or package fails the test; it never skips.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use common::sdk_server::{SdkServer, require_node_modules, scripts};
use common::{Reply, send, serve_mock};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use sha2::Digest as _;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_hmac::Secret;
use tower_hmac::mock::{self, MockConfig};
use tower_hmac::sign::{SchemeSigner, SignLayer, SignedBody, Signer};

fn sha256_hex(bytes: &[u8]) -> String {
    const_hex::encode(sha2::Sha256::digest(bytes))
}

/// Runs `program script args..` and returns its standard output; fails on any error.
fn run(program: &str, script: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .arg(scripts().join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); install it (scripts/test.sh does)")
        });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{program} {script} {args:?} failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

// ---------------------------------------------------------------------------------------------
// The vendor signs, the mock verifies.

/// One request a script sent, as it reported it.
#[derive(Debug)]
struct Sent {
    name: String,
    status: u16,
    body: Vec<u8>,
    /// The delivery id header it sent, if any.
    id: Option<String>,
    reply: String,
}

impl Sent {
    fn json(&self) -> Value {
        serde_json::from_str(&self.reply)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", self.name, self.reply))
    }
}

/// Serves the mock (its demo credentials) on a free port and runs `script provider <mock>`.
async fn sdk_sends(
    program: &'static str,
    script: &'static str,
    provider: &'static str,
) -> (SocketAddr, Vec<Sent>) {
    require_node_modules();
    let addr = serve_mock(mock::router(&MockConfig::default()).unwrap()).await;
    let base = format!("http://{addr}");
    let out = tokio::task::spawn_blocking(move || run(program, script, &[provider, &base]))
        .await
        .unwrap();
    let sent = out
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            Sent {
                name: v["name"].as_str().unwrap().to_owned(),
                status: u16::try_from(v["status"].as_u64().unwrap()).unwrap(),
                body: const_hex::decode(v["body_hex"].as_str().unwrap()).unwrap(),
                id: v["id"].as_str().map(str::to_owned),
                reply: v["reply"].as_str().unwrap().to_owned(),
            }
        })
        .collect();
    (addr, sent)
}

/// The requests were sent in this order and got these statuses.
#[track_caller]
fn assert_statuses(sent: &[Sent], expected: &[(&str, u16)]) {
    let got: Vec<(&str, u16)> = sent.iter().map(|s| (s.name.as_str(), s.status)).collect();
    assert_eq!(got, expected, "{sent:#?}");
}

/// The mock's handler took `sent` and answered for `provider`.
#[track_caller]
fn assert_handled(sent: &Sent, provider: &str, id_signed: bool) {
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(
        sent.json(),
        json!({
            "provider": provider,
            "delivery_id": sent.id,
            "delivery_id_signed": id_signed,
            "body_sha256": sha256_hex(&sent.body),
        }),
        "{}",
        sent.name
    );
}

/// The mock acknowledged a copy of a handled delivery without handling it.
#[track_caller]
fn assert_duplicate(sent: &Sent) {
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(
        sent.json(),
        json!({"message": "this delivery was already handled", "status": "duplicate"}),
        "{}",
        sent.name
    );
}

/// The mock refused a delivery whose signature does not match.
#[track_caller]
fn assert_refused(sent: &Sent) {
    assert_eq!(sent.status, 401, "{sent:?}");
    assert_eq!(sent.json()["error"], "invalid_credentials", "{sent:?}");
}

/// The mock's handler took exactly `handled`, in this order.
async fn assert_deliveries(addr: SocketAddr, provider: &str, handled: &[&Sent]) {
    let path = format!("/webhooks/{provider}/deliveries");
    let reply = send(addr, Request::get(path).body(Full::default()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let expected: Vec<Value> = handled
        .iter()
        .map(|s| json!({"id": s.id, "status": 200, "body_sha256": sha256_hex(&s.body)}))
        .collect();
    assert_eq!(reply.json(), Value::Array(expected));
}

/// One event, its copy and a changed copy: handled, acknowledged, refused.
async fn one_event(
    program: &'static str,
    script: &'static str,
    provider: &'static str,
    id_signed: bool,
) {
    let (addr, sent) = sdk_sends(program, script, provider).await;
    assert_statuses(
        &sent,
        &[("event", 200), ("event copy", 200), ("event tampered", 401)],
    );
    assert_handled(&sent[0], provider, id_signed);
    assert_duplicate(&sent[1]);
    assert_refused(&sent[2]);
    assert_deliveries(addr, provider, &[&sent[0]]).await;
}

/// `@octokit/webhooks-methods` `sign`; `X-GitHub-Delivery` is not signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_sdk_signs_for_the_mock() {
    one_event("node", "sign_and_send.mjs", "github", false).await;
}

/// `stripe.webhooks.generateTestHeaderString`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_sdk_signs_for_the_mock() {
    one_event("node", "sign_and_send.mjs", "stripe", false).await;
}

/// `standardwebhooks` `Webhook.sign`; `webhook-id` is signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_sdk_signs_for_the_mock() {
    one_event("node", "sign_and_send.mjs", "standard", true).await;
}

/// Shopify's documented HMAC (no SDK signs); `X-Shopify-Webhook-Id` is not signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_documented_signature_for_the_mock() {
    one_event("node", "sign_and_send.mjs", "shopify", false).await;
}

/// Paddle's documented HMAC (no SDK signs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paddle_documented_signature_for_the_mock() {
    one_event("node", "sign_and_send.mjs", "paddle", false).await;
}

/// Linear's documented HMAC (no SDK signs), `webhookTimestamp` now; `Linear-Delivery` is not
/// signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linear_documented_signature_for_the_mock() {
    one_event("node", "sign_and_send.mjs", "linear", false).await;
}

/// `slack_sdk` `SignatureVerifier.generate_signature`: an event, and Slack's `url_verification`
/// challenge, answered by the layer after the signature verified, never reaching the handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_sdk_signs_for_the_mock() {
    let (addr, sent) = sdk_sends("python3", "sign_and_send.py", "slack").await;
    assert_statuses(
        &sent,
        &[
            ("event", 200),
            ("event copy", 200),
            ("event tampered", 401),
            ("url_verification", 200),
            ("url_verification tampered", 401),
        ],
    );
    assert_handled(&sent[0], "slack", false);
    assert_duplicate(&sent[1]);
    assert_refused(&sent[2]);
    assert_eq!(
        sent[3].json(),
        json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    );
    assert_refused(&sent[4]);
    assert_deliveries(addr, "slack", &[&sent[0]]).await;
}

/// Zoom's documented HMAC (zoom/webhook-sample; no SDK signs): an event, and the
/// `endpoint.url_validation` challenge, answered by the layer after the signature verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_documented_signature_for_the_mock() {
    let (addr, sent) = sdk_sends("node", "sign_and_send.mjs", "zoom").await;
    assert_statuses(
        &sent,
        &[
            ("event", 200),
            ("event copy", 200),
            ("event tampered", 401),
            ("url_validation", 200),
            ("url_validation tampered", 401),
        ],
    );
    assert_handled(&sent[0], "zoom", false);
    assert_duplicate(&sent[1]);
    assert_refused(&sent[2]);
    // encryptedToken = hex HMAC-SHA256(secret token, plainToken), Zoom's rule.
    assert_eq!(
        sent[3].json(),
        json!({
            "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
            "encryptedToken": "a4c57e0fb3d36dee0a81dc645cf7b37e65d18071cb80718b789c09efb3f7f888",
        })
    );
    assert_refused(&sent[4]);
    assert_deliveries(addr, "zoom", &[&sent[0]]).await;
}

/// `twilio` `getExpectedTwilioSignature`: a form POST (a repeated parameter among them), a GET
/// signing its URL alone, and a JSON body behind the URL's `bodySHA256`
/// (`getExpectedBodyHash`). Twilio signs no delivery id: each is identified by its signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_sdk_signs_for_the_mock() {
    let (addr, sent) = sdk_sends("node", "sign_and_send.mjs", "twilio").await;
    assert_statuses(
        &sent,
        &[
            ("form", 200),
            ("form copy", 200),
            ("form tampered", 401),
            ("get", 200),
            ("get copy", 200),
            ("get tampered", 401),
            ("json", 200),
            ("json copy", 200),
            ("json tampered", 401),
        ],
    );
    for i in [0, 3, 6] {
        assert_handled(&sent[i], "twilio", false);
        assert_duplicate(&sent[i + 1]);
        assert_refused(&sent[i + 2]);
    }
    assert_eq!(sent[3].body, b"", "the GET has no body");
    assert_deliveries(addr, "twilio", &[&sent[0], &sent[3], &sent[6]]).await;
}

// ---------------------------------------------------------------------------------------------
// The crate signs, the vendor verifies.

/// The case of the last ASCII letter changed: still JSON (or a form), no longer what was signed.
fn tamper(body: &mut [u8]) {
    let at = body
        .iter()
        .rposition(u8::is_ascii_alphabetic)
        .expect("a letter to change");
    body[at] ^= 0x20;
}

/// Sends `request` through a `SignLayer` with `signer` over a hyper client; with `tampered`, a
/// service between the layer and the client changes the signed body (or, without a body, the
/// last character of the signed URL) before it is sent.
async fn signed<S: Signer>(signer: S, request: Request<Full<Bytes>>, tampered: bool) -> Reply {
    let client = common::client();
    let send = service_fn(move |request: Request<SignedBody<Full<Bytes>>>| {
        let client = client.clone();
        async move {
            let (mut parts, body) = request.into_parts();
            let mut body = body.collect().await?.to_bytes().to_vec();
            if tampered && !body.is_empty() {
                tamper(&mut body);
            } else if tampered {
                let mut uri = parts.uri.to_string().into_bytes();
                *uri.last_mut().unwrap() ^= 0x01;
                parts.uri = String::from_utf8(uri).unwrap().parse().unwrap();
            }
            let response = client
                .request(Request::from_parts(parts, Full::from(body)))
                .await?;
            Ok::<_, tower_hmac::BoxError>(response)
        }
    });
    let service = ServiceBuilder::new()
        .layer(SignLayer::new(signer))
        .service(send);
    let response = service.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// The SDK's receiver accepts what `signer` signed, and refuses it changed.
async fn sdk_accepts<S: Signer>(signer: S, request: impl Fn() -> Request<Full<Bytes>>) {
    let signer = Arc::new(signer);
    let reply = signed(Arc::clone(&signer), request(), false).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json(), json!({"ok": true}));
    let reply = signed(signer, request(), true).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    assert_eq!(reply.json()["ok"], false, "{}", reply.text());
}

fn post_json(url: &str, body: &str) -> Request<Full<Bytes>> {
    Request::post(url)
        .header("content-type", "application/json")
        .body(Full::from(body.to_owned()))
        .unwrap()
}

/// `@octokit/webhooks-methods` `verify` accepts `GitHubSigner`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_sdk_verifies_the_signer() {
    use tower_hmac::github::GitHub;
    let server = SdkServer::start("node", "verify_server.mjs", "github").await;
    let secret = Secret::new("It's a Secret to Everybody").unwrap();
    let body = r#"{"zen":"Design for failure.","sender":{"login":"renée"}}"#;
    sdk_accepts(SchemeSigner::new(GitHub::default(), secret), || {
        post_json(&server.url("/webhook"), body)
    })
    .await;
}

/// `stripe.webhooks.constructEvent` (300 s tolerance) accepts `StripeSigner`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_sdk_verifies_the_signer() {
    use tower_hmac::stripe::Stripe;
    let server = SdkServer::start("node", "verify_server.mjs", "stripe").await;
    let secret = Secret::new("whsec_test_secret").unwrap();
    let body = r#"{"id":"evt_1","object":"event","type":"invoice.paid","data":{"object":{"customer_name":"Zoë"}}}"#;
    sdk_accepts(SchemeSigner::new(Stripe::default(), secret), || {
        post_json(&server.url("/webhook"), body)
    })
    .await;
}

/// `standardwebhooks` `Webhook.verify` accepts `StandardSigner` (key bytes from the `whsec_`
/// secret).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_sdk_verifies_the_signer() {
    use tower_hmac::standard::{StandardWebhooks, secret};
    let server = SdkServer::start("node", "verify_server.mjs", "standard").await;
    let key = secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let body = r#"{"type":"contact.created","data":{"name":"José"}}"#;
    sdk_accepts(SchemeSigner::new(StandardWebhooks::default(), key), || {
        post_json(&server.url("/webhook"), body)
    })
    .await;
}

/// `twilio` `validateRequest` accepts `TwilioSigner` on a form POST (a repeated parameter among
/// them), and `validateRequestWithBody` on a JSON body, which the signer moved behind the URL's
/// `bodySHA256`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_sdk_verifies_the_signer() {
    use tower_hmac::twilio::Twilio;
    let server = SdkServer::start("node", "verify_server.mjs", "twilio").await;
    let token = Secret::new("12345").unwrap();
    let form = "CallSid=CA1234567890ABCDE&From=%2B14158675310&Body=Hello%2C+Zo%C3%AB+%26+co\
        &MediaUrl=https%3A%2F%2Fexample.com%2Fb.png&MediaUrl=https%3A%2F%2Fexample.com%2Fa.png";
    sdk_accepts(SchemeSigner::new(Twilio::default(), token.clone()), || {
        Request::post(server.url("/sms?tenant=1"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::from(form))
            .unwrap()
    })
    .await;
    let json = r#"{"event":"message.delivered","to":"+18005551212"}"#;
    sdk_accepts(SchemeSigner::new(Twilio::default(), token), || {
        post_json(&server.url("/events"), json)
    })
    .await;
}

/// `@zoom/rivet`'s receiver accepts `ZoomSigner`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_sdk_verifies_the_signer() {
    use tower_hmac::zoom::Zoom;
    let server = SdkServer::start("node", "verify_server.mjs", "zoom").await;
    let secret = Secret::new("zoom_demo_secret_token").unwrap();
    // Rivet checks the JSON.stringify form of the parsed body: send a body in that form.
    let body = r#"{"event":"meeting.started","payload":{"account_id":"AAAAAABBBB","object":{"id":"1234567890","topic":"Café"}},"event_ts":1763800000000}"#;
    sdk_accepts(SchemeSigner::new(Zoom::default(), secret), || {
        post_json(&server.url("/webhook"), body)
    })
    .await;
}

/// `@linear/sdk`'s `LinearWebhookClient.verify` (60 s window on `webhookTimestamp`) accepts
/// `LinearSigner` on a body stamped now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linear_sdk_verifies_the_signer() {
    use tower_hmac::linear::{Linear, with_timestamp};
    let server = SdkServer::start("node", "verify_server.mjs", "linear").await;
    let secret = Secret::new("lin_wh_demo_secret").unwrap();
    let payload = br#"{"action":"create","type":"Issue","data":{"id":"issue_1","title":"D\u00e9j\u00e0 vu"}}"#;
    let body = with_timestamp(payload, std::time::SystemTime::now()).unwrap();
    sdk_accepts(SchemeSigner::new(Linear::default(), secret), || {
        Request::post(server.url("/webhook"))
            .header("content-type", "application/json; charset=utf-8")
            .body(Full::from(body.clone()))
            .unwrap()
    })
    .await;
}

/// `slack_sdk`'s `SignatureVerifier.is_valid_request` (300 s window) accepts `SlackSigner`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_sdk_verifies_the_signer() {
    use tower_hmac::slack::Slack;
    let server = SdkServer::start("python3", "verify_server.py", "slack").await;
    let secret = Secret::new("8f742231b10e8888abcd99yyyzzz85a5").unwrap();
    let body = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","team_id":"T061EG9RZ","event":{"type":"app_mention","text":"Grüße"},"type":"event_callback"}"#;
    sdk_accepts(SchemeSigner::new(Slack::default(), secret), || {
        post_json(&server.url("/slack/events"), body)
    })
    .await;
}

/// `@shopify/shopify-api`'s `webhooks.validate` accepts `ShopifySigner`. The SDK also requires
/// the topic, shop domain and API version headers, which Shopify sends unsigned: the request
/// carries them as a sender's metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_sdk_verifies_the_signer() {
    use tower_hmac::shopify::Shopify;
    let server = SdkServer::start("node", "verify_server.mjs", "shopify").await;
    let secret = Secret::new("shopify_demo_secret").unwrap();
    let body = r#"{"id":820982911946154508,"email":"jon@example.com","note":"façade"}"#;
    sdk_accepts(SchemeSigner::new(Shopify::default(), secret), || {
        Request::post(server.url("/webhooks"))
            .header("content-type", "application/json")
            .header("x-shopify-topic", "orders/create")
            .header("x-shopify-shop-domain", "demo-shop.myshopify.com")
            .header("x-shopify-api-version", "2025-10")
            .body(Full::from(body))
            .unwrap()
    })
    .await;
}

/// `@paddle/paddle-node-sdk`'s `webhooks.isSignatureValid` (5 s window) accepts `PaddleSigner`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paddle_sdk_verifies_the_signer() {
    use tower_hmac::paddle::Paddle;
    let server = SdkServer::start("node", "verify_server.mjs", "paddle").await;
    let secret = Secret::new("pdl_ntfset_demo_secret").unwrap();
    let body =
        r#"{"event_id":"evt_1","event_type":"transaction.completed","data":{"customer":"Zoë"}}"#;
    sdk_accepts(SchemeSigner::new(Paddle::default(), secret), || {
        post_json(&server.url("/webhook"), body)
    })
    .await;
}

//! The mock as a test tool: its request log (the example's output, captured), `--explain`
//! answers, the inspector page in a real browser, and the signing CLI sending to every mock
//! route and to receivers that verify with the vendors' own SDKs.
//!
//! The examples (`mock_providers`, `sign`) run as cargo builds them for this test. The browser is
//! Debian's `chromium` (headless `--dump-dom`; `CHROMIUM` names another binary), and the SDK
//! receivers need `node` and `python3` with the packages of `tests/snippets`: `scripts/test.sh`
//! installs them. A missing one fails the test, never skips it.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::examples::example;
use common::sdk_server::SdkServer;
use common::{send, serve_mock};
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};
use sha2::Digest as _;
use tower_hmac::mock::{self, MockConfig};
use tower_hmac::{Secret, humanos};

const HUMANOS_KEY: &str = "YOUR_API_KEY";
const HUMANOS_SECRET: &str = "YOUR_SIGNATURE_SECRET";
const GITHUB_SECRET: &str = "It's a Secret to Everybody";

fn sha256_hex(bytes: &[u8]) -> String {
    const_hex::encode(sha2::Sha256::digest(bytes))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A signed webhook delivery to the mock at `addr`, with `body` signed and `sent` sent.
fn delivery(
    addr: SocketAddr,
    sender: &str,
    secret: &str,
    signed: &[u8],
    sent: &[u8],
) -> Request<Full<Bytes>> {
    let url = format!("http://{addr}/webhooks/{sender}");
    let delivery = mock::sign_webhook(sender, secret, &url, signed).unwrap();
    let body = if signed == sent {
        delivery.body
    } else {
        sent.to_vec()
    };
    let mut request = Request::post(delivery.url).body(Full::from(body)).unwrap();
    request.headers_mut().extend(delivery.headers);
    request
}

fn humanos_request(
    addr: SocketAddr,
    secret: &str,
    timestamp: u64,
    body: &str,
) -> Request<Full<Bytes>> {
    let headers = humanos::sign_request(
        HUMANOS_KEY,
        &Secret::new(secret).unwrap(),
        timestamp,
        body.as_bytes(),
    )
    .unwrap();
    let mut request = Request::post(format!("http://{addr}/v0/process/generate"))
        .header("content-type", "application/json")
        .body(Full::from(body.to_owned()))
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

// ---------------------------------------------------------------------------------------------
// The request log of the mock example, captured.

/// The mock example in a child process, killed when dropped, its standard output read by a
/// thread.
struct MockProcess {
    child: Child,
    addr: SocketAddr,
    lines: mpsc::Receiver<String>,
}

impl MockProcess {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(example("mock_providers"))
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let addr = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(30))
                .expect("the mock example starts");
            if let Some(addr) = line.strip_prefix("mock providers listening on http://") {
                break addr.parse().unwrap();
            }
        };
        Self { child, addr, lines }
    }

    /// The request log lines printed so far, after the start banner (each line is written before
    /// its request is answered).
    fn log_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            if line.contains("tower_hmac::mock") {
                lines.push(line);
            }
        }
        lines
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fields of a JSON log line that tell the request and its verdict.
fn verdict_fields(line: &str) -> Value {
    let line: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["target"], "tower_hmac::mock", "{line}");
    assert_eq!(line["message"], "request", "{line}");
    let mut fields = serde_json::Map::new();
    for name in [
        "method", "path", "status", "provider", "verdict", "kind", "reason", "key_id",
    ] {
        if let Some(value) = line.get(name) {
            fields.insert(name.to_owned(), value.clone());
        }
    }
    Value::Object(fields)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_names_provider_verdict_kind_and_key_id() {
    let mock = MockProcess::start(&["--json"]);
    let addr = mock.addr;
    let body = br#"{"event":"log"}"#;
    let signed = delivery(addr, "github", GITHUB_SECRET, body, body);
    // The same body signed with the same secret: a copy of the delivery.
    let copy = delivery(addr, "github", GITHUB_SECRET, body, body);
    let signature = signed.headers()["x-hub-signature-256"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(send(addr, signed).await.status, StatusCode::OK);
    assert_eq!(send(addr, copy).await.status, StatusCode::OK);
    let forged = delivery(addr, "github", "not the secret", body, body);
    assert_eq!(send(addr, forged).await.status, StatusCode::UNAUTHORIZED);
    let now = common::now_ms();
    let humanos_ok = send(addr, humanos_request(addr, HUMANOS_SECRET, now, "{}")).await;
    assert_eq!(humanos_ok.status, StatusCode::OK, "{}", humanos_ok.text());
    let humanos_bad = send(addr, humanos_request(addr, "wrong secret", now, "{}")).await;
    assert_eq!(humanos_bad.status, StatusCode::UNAUTHORIZED);
    let unsigned = Request::get("/v0/processes").body(Full::default()).unwrap();
    assert_eq!(send(addr, unsigned).await.status, StatusCode::UNAUTHORIZED);
    let list = Request::get("/webhooks/github/deliveries")
        .body(Full::default())
        .unwrap();
    assert_eq!(send(addr, list).await.status, StatusCode::OK);

    let lines = mock.log_lines();
    let fields: Vec<Value> = lines.iter().map(|l| verdict_fields(l)).collect();
    let invalid = "the key or the signature is not valid";
    assert_eq!(
        fields,
        [
            json!({"method": "POST", "path": "/webhooks/github", "status": 200, "provider": "github", "verdict": "accepted", "key_id": "github"}),
            json!({"method": "POST", "path": "/webhooks/github", "status": 200, "provider": "github", "verdict": "duplicate", "key_id": "github"}),
            json!({"method": "POST", "path": "/webhooks/github", "status": 401, "provider": "github", "verdict": "refused", "kind": "InvalidSignature", "reason": invalid}),
            json!({"method": "POST", "path": "/v0/process/generate", "status": 200, "provider": "humanos", "verdict": "accepted", "key_id": HUMANOS_KEY}),
            json!({"method": "POST", "path": "/v0/process/generate", "status": 401, "provider": "humanos", "verdict": "refused", "kind": "InvalidSignature", "reason": invalid, "key_id": HUMANOS_KEY}),
            json!({"method": "GET", "path": "/v0/processes", "status": 401, "provider": "humanos", "verdict": "refused", "kind": "MissingCredentials", "reason": "missing Authorization header"}),
            json!({"method": "GET", "path": "/webhooks/github/deliveries", "status": 200, "provider": "-", "verdict": "-"}),
        ],
        "{lines:#?}"
    );
    // Nothing secret, nothing of what was signed or expected, without --explain.
    let hex_signature = signature.trim_start_matches("sha256=").to_owned();
    for line in &lines {
        for secret in [
            GITHUB_SECRET,
            HUMANOS_SECRET,
            &hex_signature,
            "signed",
            "expected",
        ] {
            assert!(!line.contains(secret), "{secret:?} in {line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_in_plain_lines_and_quiet() {
    let mock = MockProcess::start(&[]);
    let addr = mock.addr;
    let forged = delivery(addr, "stripe", "whsec_bm90IHRoZSBzZWNyZXQ=", b"{}", b"{}");
    assert_eq!(send(addr, forged).await.status, StatusCode::UNAUTHORIZED);
    let lines = mock.log_lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].ends_with(
            " INFO tower_hmac::mock: request method=POST path=/webhooks/stripe status=401 \
             provider=\"stripe\" verdict=\"refused\" kind=\"InvalidSignature\" \
             reason=\"the key or the signature is not valid\""
        ),
        "{}",
        lines[0]
    );
    drop(mock);

    let quiet = MockProcess::start(&["--quiet"]);
    let forged = delivery(
        quiet.addr,
        "stripe",
        "whsec_bm90IHRoZSBzZWNyZXQ=",
        b"{}",
        b"{}",
    );
    assert_eq!(
        send(quiet.addr, forged).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(quiet.log_lines(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_explain_the_log_line_carries_what_was_signed() {
    let mock = MockProcess::start(&["--json", "--explain"]);
    let addr = mock.addr;
    let forged = delivery(addr, "github", "not the secret", b"{}\n", b"{}\n");
    assert_eq!(send(addr, forged).await.status, StatusCode::UNAUTHORIZED);
    let lines = mock.log_lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(line["signed"], "{}\\n");
    assert_eq!(line["signed_len"], 3);
    assert_eq!(line["signed_sha256"], sha256_hex(b"{}\n"));
    let expected = mock::sign_webhook("github", GITHUB_SECRET, "http://x/", b"{}\n").unwrap();
    let expected = expected.headers["x-hub-signature-256"].to_str().unwrap();
    assert_eq!(line["expected"], expected.trim_start_matches("sha256="));
    assert_eq!(
        line["hints"],
        "compare the message, expected signature, trailing newline, body re-encoded"
    );
    assert!(!lines[0].contains(GITHUB_SECRET));
}

// ---------------------------------------------------------------------------------------------
// --explain answers.

async fn serve_explaining(config: MockConfig) -> SocketAddr {
    let mut config = config;
    config.set_explain(true);
    serve_mock(mock::router(&config).unwrap()).await
}

#[tokio::test]
async fn explain_a_timestamp_in_seconds() {
    let addr = serve_explaining(MockConfig::default()).await;
    let seconds = now_secs();
    let body = r#"{"contacts":["+351912345678"]}"#;
    let request = humanos_request(addr, HUMANOS_SECRET, seconds, body);
    let signature = request.headers()["x-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let reply = send(addr, request).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    let answer = reply.json();
    assert_eq!(answer["error"], "timestamp_out_of_window");
    // Humanos says so itself; the hint says it for every scheme.
    assert_eq!(
        answer["message"],
        "X-Timestamp looks like seconds; send milliseconds since the Unix epoch"
    );
    let explain = &answer["explain"];
    let message = format!("{seconds}.{body}");
    assert_eq!(
        explain["signed"],
        json!([{"text": message, "length": message.len(), "sha256": sha256_hex(message.as_bytes())}])
    );
    assert_eq!(explain["algorithm"], "HMAC-SHA256");
    // The client signed the right message: only the unit of its timestamp is wrong.
    assert_eq!(explain["expected"][0]["hex"], signature);
    let server_ms = explain["server_time"]["milliseconds"].as_u64().unwrap();
    assert!(server_ms.abs_diff(seconds * 1000) < 60_000, "{server_ms}");
    assert_eq!(
        explain["hints"],
        json!([format!(
            "timestamp in seconds: {seconds} is the time in seconds since the epoch, and this \
             scheme reads milliseconds (the server's time is {server_ms} ms), so it reads as a \
             time in January 1970. Send the time in milliseconds."
        )])
    );
}

const COMPARE_HINT: &str = "compare the message: compare the message the server signed \
    (`signed`: its text, length and SHA-256) with what the client signed: any byte of difference \
    changes the signature.";
const EXPECTED_HINT: &str = "expected signature: `expected` is the MAC under the demo secret: if \
    the client's is the same text in another encoding (hex, base64), send it in the scheme's; if \
    it differs, the client signed other bytes or with another secret.";
const RE_ENCODED_HINT: &str = "body re-encoded: the body is JSON (17 bytes, compact). A signature \
    covers bytes, not the JSON value: a client that signed one serialization (Python's json.dumps \
    writes {\"a\": 1}, JavaScript's JSON.stringify {\"a\":1}) and sent another, or a framework \
    that re-encoded the object before sending, is refused. Sign the exact bytes you send.";

#[tokio::test]
async fn explain_a_re_serialized_json_body() {
    // Signed as Python's json.dumps writes the object, sent as JSON.stringify writes it.
    let signed = br#"{"a": 1, "b": [1, 2]}"#;
    let sent = br#"{"a":1,"b":[1,2]}"#;
    let expected = mock::sign_webhook("github", GITHUB_SECRET, "http://x/", sent).unwrap();
    let expected =
        expected.headers["x-hub-signature-256"].to_str().unwrap()["sha256=".len()..].to_owned();

    let addr = serve_explaining(MockConfig::default()).await;
    let reply = send(addr, delivery(addr, "github", GITHUB_SECRET, signed, sent)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    let answer = reply.json();
    assert_eq!(answer["error"], "invalid_credentials");
    assert_eq!(answer["message"], "the key or the signature is not valid");
    let explain = &answer["explain"];
    assert_eq!(
        explain["signed"],
        json!([{"text": r#"{"a":1,"b":[1,2]}"#, "length": 17, "sha256": sha256_hex(sent)}])
    );
    assert_eq!(explain["expected"][0]["hex"], expected);
    assert_eq!(
        explain["hints"],
        json!([COMPARE_HINT, EXPECTED_HINT, RE_ENCODED_HINT])
    );

    // Credentials that are not the demo ones: what was signed, never what was expected.
    let own = MockConfig::from_toml("[github]\nsecret = \"our own secret\"").unwrap();
    let addr = serve_explaining(own).await;
    let reply = send(
        addr,
        delivery(addr, "github", "our own secret", signed, sent),
    )
    .await;
    let explain = &reply.json()["explain"];
    assert_eq!(explain["signed"][0]["text"], r#"{"a":1,"b":[1,2]}"#);
    assert_eq!(explain.get("expected"), None);
    assert_eq!(explain["hints"], json!([COMPARE_HINT, RE_ENCODED_HINT]));

    // Without --explain: the layer's answer, byte for byte.
    let addr = serve_mock(mock::router(&MockConfig::default()).unwrap()).await;
    let reply = send(addr, delivery(addr, "github", GITHUB_SECRET, signed, sent)).await;
    assert_eq!(
        reply.body,
        r#"{"error":"invalid_credentials","message":"the key or the signature is not valid"}"#
    );
}

#[tokio::test]
async fn explain_an_ed25519_refusal() {
    // Discord signs "{timestamp}{body}" with the application's private key; the mock holds the
    // public key only, so it shows what it verified, never an expected signature.
    let addr = serve_explaining(MockConfig::default()).await;
    let body = br#"{"type":2}"#;
    let other_key = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
    let request = delivery(addr, "discord", other_key, body, body);
    let timestamp = request.headers()["x-signature-timestamp"]
        .to_str()
        .unwrap()
        .to_owned();
    let reply = send(addr, request).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    let answer = reply.json();
    assert_eq!(answer["error"], "invalid_credentials");
    let explain = &answer["explain"];
    let message = format!("{timestamp}{{\"type\":2}}");
    assert_eq!(
        explain["signed"],
        json!([{"text": message, "length": message.len(), "sha256": sha256_hex(message.as_bytes())}])
    );
    assert_eq!(explain["algorithm"], "Ed25519");
    assert_eq!(explain.get("expected"), None);
    let compact = RE_ENCODED_HINT.replace("17 bytes", "10 bytes");
    assert_eq!(explain["hints"], json!([COMPARE_HINT, compact]));
}

// ---------------------------------------------------------------------------------------------
// The inspector page, in a real browser.

/// The page at `url` as headless Chromium renders it (its DOM, serialized).
fn browser_dom(url: &str) -> String {
    let browser = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let output = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--dump-dom",
            url,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {browser} ({e}): install Debian's chromium (scripts/test.sh does)")
        });
    assert!(
        output.status.success(),
        "{browser} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_page_shows_a_refusal_and_its_reason_in_a_browser() {
    let addr = serve_explaining(MockConfig::default()).await;
    let body = br#"{"event":"seen in a browser"}"#;
    let accepted = send(
        addr,
        delivery(addr, "shopify", "shopify_demo_secret", body, body),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::OK);
    let refused = send(
        addr,
        delivery(addr, "shopify", "not the secret", body, body),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let url = format!("http://{addr}/");
    let dom = tokio::task::spawn_blocking(move || browser_dom(&url))
        .await
        .unwrap();
    assert!(dom.contains("<h1>tower-hmac mock providers</h1>"), "{dom}");
    // Newest first: the refusal, its reason and its explanation, then the accepted delivery.
    let refused_row = "<tr class=\"refused\"><td>";
    let at = dom
        .find(refused_row)
        .unwrap_or_else(|| panic!("no refused row in {dom}"));
    let row = &dom[at..];
    let row = &row[..row.find("</tr>").unwrap()];
    for cell in [
        "<td>POST</td><td>/webhooks/shopify</td><td>401</td><td>shopify</td><td>refused</td>",
        "<td>InvalidSignature</td><td>the key or the signature is not valid</td>",
    ] {
        assert!(row.contains(cell), "{cell} not in {row}");
    }
    let explanation = &dom[at..];
    assert!(explanation.contains("<tr class=\"explain\">"), "{dom}");
    assert!(
        explanation.contains("body re-encoded: the body is JSON"),
        "{dom}"
    );
    let accepted_at = dom
        .find("<tr class=\"accepted\">")
        .expect("the accepted row");
    assert!(at < accepted_at, "newest first: {dom}");
    // The example commands for every route, for the address the page was asked from: every
    // webhook sender's, the Ed25519 ones signed with their demo private key.
    for sender in mock::webhook_senders() {
        assert!(
            dom.contains(&format!("--curl http://{addr}/webhooks/{sender}")),
            "{sender} not in {dom}"
        );
    }
    for sender in ["standard-ed25519", "discord"] {
        let key = mock::demo_sender_credential(sender).unwrap();
        assert!(
            dom.contains(&format!("-- {sender} --secret '{key}' ")),
            "{sender} not in {dom}"
        );
    }
    assert!(
        dom.contains("<td>shopify</td><td>1</td><td>0</td><td>InvalidSignature 1</td>"),
        "{dom}"
    );
}

/// The page's HTML, as the mock serves it to `GET /`.
async fn page(addr: SocketAddr) -> String {
    let reply = send(addr, Request::get("/").body(Full::default()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.text()
}

#[tokio::test]
async fn without_explain_nothing_signed_or_expected_leaves_the_mock() {
    // A forgery of a delivery the demo secret would have signed: what the server expected is
    // the genuine signature.
    let body = br#"{"event":"no leak"}"#;
    let addr = serve_mock(mock::router(&MockConfig::default()).unwrap()).await;
    let genuine = delivery(addr, "github", GITHUB_SECRET, body, body);
    let expected_hex =
        genuine.headers()["x-hub-signature-256"].to_str().unwrap()["sha256=".len()..].to_owned();
    let expected_base64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(const_hex::decode(&expected_hex).unwrap())
    };
    let reply = send(addr, delivery(addr, "github", "not the secret", body, body)).await;
    assert_eq!(
        reply.body,
        r#"{"error":"invalid_credentials","message":"the key or the signature is not valid"}"#
    );
    let html = page(addr).await;
    assert!(
        html.contains("<td>github</td><td>refused</td><td>InvalidSignature</td>"),
        "{html}"
    );
    assert!(html.contains("<b>off</b>"), "{html}");
    for leak in [
        expected_hex.as_str(),
        &expected_base64,
        "class=\"explain\"",
        &sha256_hex(body),
    ] {
        assert!(!html.contains(leak), "{leak} on the page: {html}");
    }
}

/// Standard Webhooks' two routes (`v1` under a secret, `v1a` under a public key) are one scheme;
/// the inspector counts each route's layer on its own row.
#[tokio::test]
async fn the_inspector_counts_each_route_apart() {
    let addr = serve_mock(mock::router(&MockConfig::default()).unwrap()).await;
    let body = br#"{"type":"counted"}"#;
    let standard = mock::demo_sender_credential("standard").unwrap();
    let ed25519 = mock::demo_sender_credential("standard-ed25519").unwrap();
    let accepted = send(addr, delivery(addr, "standard", &standard, body, body)).await;
    assert_eq!(accepted.status, StatusCode::OK);
    let accepted = send(
        addr,
        delivery(addr, "standard-ed25519", &ed25519, body, body),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::OK);
    let tampered = send(
        addr,
        delivery(addr, "standard-ed25519", &ed25519, body, b"{}"),
    )
    .await;
    assert_eq!(tampered.status, StatusCode::UNAUTHORIZED);

    let html = page(addr).await;
    let counts = &html[html
        .find("<table id=\"counts\">")
        .expect("the counts table")..];
    let counts = &counts[..counts.find("</table>").unwrap()];
    assert!(counts.contains("<th>layer</th>"), "{counts}");
    for row in [
        "<tr><td>standard</td><td>1</td><td>0</td><td></td></tr>",
        "<tr><td>standard-ed25519</td><td>1</td><td>0</td><td>InvalidSignature 1</td></tr>",
    ] {
        assert!(counts.contains(row), "{row} not in {counts}");
    }
}

/// Regression: the inspector page printed the example commands of every provider with its
/// configured credentials, so a mock configured with its own secrets served them to anyone
/// reaching the page. Only the published demo credentials appear there now.
#[tokio::test]
async fn the_page_shows_no_configured_secret() {
    let config = MockConfig::from_toml(
        "[github]\nsecret = \"our own github secret\"\n\
         [stripe]\nsecret = \"whsec_test_secret\"\n",
    )
    .unwrap();
    let addr = serve_mock(mock::router(&config).unwrap()).await;
    let html = page(addr).await;
    assert!(!html.contains("our own github secret"), "{html}");
    assert!(
        html.contains("# github: configured with its own credentials, not shown here"),
        "{html}"
    );
    // Stripe runs with its demo secret: its command is there, ready to paste.
    assert!(
        html.contains(&format!(
            "-- stripe --secret &#39;whsec_test_secret&#39; --body &#39;{{&quot;event&quot;:&quot;ping&quot;}}&#39; --curl http://{addr}/webhooks/stripe"
        )),
        "{html}"
    );
    // A provider without credentials has no command, and no note.
    assert!(!html.contains("# humanos"), "{html}");
    // The example's console still prints every command (its own terminal).
    let console = mock::example_commands(addr, &config).unwrap();
    assert!(
        console.contains("--secret 'our own github secret'"),
        "{console}"
    );
}

// ---------------------------------------------------------------------------------------------
// The signing CLI, sending.

/// Runs the signing CLI with `args` (off the runtime: the mock answers on it meanwhile).
async fn sign(args: Vec<String>) -> (bool, String) {
    let output = tokio::task::spawn_blocking(move || {
        Command::new(example("sign"))
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty() || !output.status.success(), "{stderr}");
    (output.status.success(), stdout)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| (*a).to_owned()).collect()
}

/// The answers the CLI printed: status lines and JSON bodies.
fn answers(stdout: &str) -> Vec<(String, Value)> {
    let lines: Vec<&str> = stdout.lines().collect();
    lines
        .chunks(2)
        .map(|pair| {
            let status = pair[0]
                .strip_prefix("HTTP ")
                .unwrap_or_else(|| panic!("{stdout}"));
            let body = serde_json::from_str(pair[1]).unwrap_or_else(|e| panic!("{e}: {stdout}"));
            (status.to_owned(), body)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_is_accepted_by_every_mock_route() {
    let addr = serve_mock(mock::router(&MockConfig::default()).unwrap()).await;
    let base = format!("http://{addr}");
    // Every webhook sender of the mock's table, by its route name, with nothing but a body.
    let senders: Vec<_> = mock::webhook_senders().collect();
    for named in [
        "github",
        "stripe",
        "standard-ed25519",
        "discord",
        "twilio",
        "linear",
    ] {
        assert!(senders.contains(&named), "{named} not in {senders:?}");
    }
    // --help lists every sender, and each one's credential flag with its demo default.
    let (ok, help) = sign(args(&["--help"])).await;
    assert!(ok, "{help}");
    for sender in &senders {
        assert!(
            help.contains(&format!("  {sender} ")),
            "{sender} not in {help}"
        );
        let (ok, help) = sign(args(&[sender, "--help"])).await;
        assert!(ok, "{help}");
        let demo = mock::demo_sender_credential(sender).unwrap();
        assert!(help.contains("--secret <"), "{sender}: {help}");
        assert!(
            help.contains(&format!("[default: {demo}]"))
                || help.contains(&format!("[default: \"{demo}\"]")),
            "{sender}: {help}"
        );
    }
    for sender in &senders {
        let body = format!(r#"{{"event":"tool","sender":"{sender}"}}"#);
        let url = format!("{base}/webhooks/{sender}");
        let (ok, stdout) = sign(args(&[sender, "--body", &body, "--send", &url])).await;
        let answers = answers(&stdout);
        assert!(ok, "{sender}: {stdout}");
        assert_eq!(answers.len(), 1, "{stdout}");
        assert_eq!(answers[0].0, "200 OK", "{sender}: {stdout}");
        assert_eq!(answers[0].1["provider"], *sender, "{stdout}");
    }
    // The API schemes.
    let calls: &[(&[&str], &str, &str)] = &[
        (&["humanos"], "/v0/processes", "humanos"),
        (
            &["humanos", "--body", r#"{"contacts":[]}"#],
            "/v0/process/generate",
            "humanos",
        ),
        (&["inqud", "--simple"], "/v1/user/wallet/balances", "inqud"),
        (
            &["inqud", "--body", r#"{"amount":"1"}"#],
            "/v1/user/payments/payout",
            "inqud",
        ),
        (
            &["proficient", "--user", "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3"],
            "/interactions",
            "proficient",
        ),
    ];
    for (flags, path, provider) in calls {
        let mut call = args(flags);
        call.extend(args(&["--send", &format!("{base}{path}")]));
        let (ok, stdout) = sign(call).await;
        assert!(ok, "{flags:?}: {stdout}");
        let answers = answers(&stdout);
        assert_eq!(answers[0].0, "200 OK", "{stdout}");
        assert_eq!(answers[0].1["provider"], *provider, "{stdout}");
    }
    let exchange = format!("{base}/v3/auth/hmac");
    let (ok, stdout) = sign(args(&["spike", "--user", "u-1", "--send", &exchange])).await;
    assert!(ok, "{stdout}");
    assert!(
        answers(&stdout)[0].1["access_token"].is_string(),
        "{stdout}"
    );

    // --repeat: the copy of a delivery is acknowledged, not handled again.
    let github = format!("{base}/webhooks/github");
    let (ok, stdout) = sign(args(&[
        "github", "--body", "{}", "--repeat", "2", "--send", &github,
    ]))
    .await;
    assert!(ok, "{stdout}");
    let answers_ = answers(&stdout);
    assert_eq!(answers_[0].1["provider"], "github");
    assert_eq!(
        answers_[1],
        (
            "200 OK".to_owned(),
            json!({"status": "duplicate", "message": "this delivery was already handled"})
        )
    );
    // --repeat on a nonce: the second is refused, and the exit status says so.
    let balances = format!("{base}/v1/user/wallet/balances");
    let (ok, stdout) = sign(args(&["inqud", "--repeat", "2", "--send", &balances])).await;
    assert!(!ok, "{stdout}");
    let answers_ = answers(&stdout);
    assert_eq!(answers_[0].0, "200 OK");
    assert_eq!(
        answers_[1],
        (
            "401 Unauthorized".to_owned(),
            json!({"error": "replayed", "message": "this request was already used"})
        )
    );

    // --stale: outside Stripe's 300 s, Linear's 60 s (its timestamp in the body), inside Slack's.
    for (sender, stale, ok_expected) in [
        ("stripe", "301", false),
        ("linear", "61", false),
        ("slack", "200", true),
    ] {
        let url = format!("{base}/webhooks/{sender}");
        let (ok, stdout) = sign(args(&[
            sender,
            "--body",
            r#"{"n":1}"#,
            "--stale",
            stale,
            "--send",
            &url,
        ]))
        .await;
        assert_eq!(ok, ok_expected, "{sender}: {stdout}");
        if !ok_expected {
            assert_eq!(
                answers(&stdout)[0],
                (
                    "401 Unauthorized".to_owned(),
                    json!({"error": "timestamp_out_of_window", "message": "the request timestamp is too old"})
                ),
                "{sender}"
            );
        }
    }

    // --body-file: any bytes, sent as signed.
    let file = std::env::temp_dir().join(format!("tower-hmac-body-{}", std::process::id()));
    let bytes = b"\x00\xffnot text\n".to_vec();
    std::fs::write(&file, &bytes).unwrap();
    let (ok, stdout) = sign(args(&[
        "shopify",
        "--body-file",
        file.to_str().unwrap(),
        "--send",
        &format!("{base}/webhooks/shopify"),
    ]))
    .await;
    std::fs::remove_file(&file).unwrap();
    assert!(ok, "{stdout}");
    assert_eq!(answers(&stdout)[0].1["body_sha256"], sha256_hex(&bytes));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_is_accepted_by_the_vendors_sdks() {
    // Each sender's delivery to a receiver verifying with the vendor's own SDK; Twilio's once as
    // a form and once as JSON (its bodySHA256 in the URL), to the URL the SDK rebuilds.
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "node",
            "verify_server.mjs",
            "github",
            r#"{"zen":"Keep it logically awesome."}"#,
        ),
        (
            "node",
            "verify_server.mjs",
            "stripe",
            r#"{"id":"evt_1","type":"charge.succeeded"}"#,
        ),
        (
            "node",
            "verify_server.mjs",
            "standard",
            r#"{"type":"user.created"}"#,
        ),
        ("node", "verify_server.mjs", "shopify", r#"{"id":1}"#),
        (
            "node",
            "verify_server.mjs",
            "paddle",
            r#"{"event_type":"transaction.paid"}"#,
        ),
        (
            "node",
            "verify_server.mjs",
            "zoom",
            r#"{"event":"meeting.started","payload":{}}"#,
        ),
        (
            "node",
            "verify_server.mjs",
            "linear",
            r#"{"action":"create","type":"Issue"}"#,
        ),
        (
            "node",
            "verify_server.mjs",
            "twilio",
            "CallSid=CA1234567890ABCDE&From=%2B14158675310",
        ),
        (
            "node",
            "verify_server.mjs",
            "twilio",
            r#"{"CallSid":"CA1"}"#,
        ),
        (
            "python3",
            "verify_server.py",
            "slack",
            r#"{"type":"event_callback"}"#,
        ),
        (
            "node",
            "verify_server.mjs",
            "discord",
            r#"{"type":2,"data":{"name":"tool"}}"#,
        ),
    ];
    for (program, script, sender, body) in cases {
        let server = SdkServer::start(program, script, sender).await;
        let url = server.url(&format!("/webhooks/{sender}"));
        let mut call = args(&[sender, "--body", body, "--send", &url]);
        if *sender == "shopify" {
            // The SDK requires the headers Shopify sends beside its signature.
            for header in [
                "X-Shopify-Topic: orders/create",
                "X-Shopify-Shop-Domain: demo-shop.myshopify.com",
                "X-Shopify-API-Version: 2025-10",
            ] {
                call.extend(args(&["--header", header]));
            }
        }
        let (ok, stdout) = sign(call.clone()).await;
        assert!(ok, "{sender}: {stdout}");
        assert_eq!(
            answers(&stdout),
            [("200 OK".to_owned(), json!({"ok": true}))],
            "{sender}"
        );
        // The same delivery signed with another secret (another private key, RFC 8032's test
        // 2, for Discord): the SDK refuses it.
        let other = if mock::signs_with_private_key(sender) {
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
        } else {
            "whsec_bm90IHRoZSBzZWNyZXQ="
        };
        call.extend(args(&["--secret", other]));
        let (ok, stdout) = sign(call).await;
        assert!(!ok, "{sender}: {stdout}");
        assert_eq!(answers(&stdout)[0].0, "401 Unauthorized", "{sender}");
    }
}

/// What a receiver got: method, path and query, headers, body.
#[derive(Debug, Clone)]
struct Captured {
    method: String,
    uri: String,
    headers: http::HeaderMap,
    body: Bytes,
}

/// A receiver that records every request and answers 200 (or the status its path names:
/// `/status/503`).
async fn capture() -> (SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<Captured>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = std::sync::Arc::clone(&seen);
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let store = std::sync::Arc::clone(&store);
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let status = parts
                .uri
                .path()
                .strip_prefix("/status/")
                .map_or(200, |code| code.parse().unwrap());
            store.lock().unwrap().push(Captured {
                method: parts.method.to_string(),
                uri: parts.uri.to_string(),
                headers: parts.headers,
                body,
            });
            (StatusCode::from_u16(status).unwrap(), "answered")
        }
    });
    (common::serve_axum(app).await, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_writes_each_delivery_as_its_vendor_does() {
    let (addr, seen) = capture().await;
    let take = || seen.lock().unwrap().drain(..).collect::<Vec<_>>();

    // Linear: webhookTimestamp (ms) set in the body, the rest as given; --stale moves it back.
    let given =
        "{\n  \"type\": \"Issue\",\n  \"action\": \"create\",\n  \"data\": {\"id\": 1.50}\n}";
    let url = format!("http://{addr}/hooks/linear?team=a");
    for stale in [0_u64, 120] {
        let before = common::now_ms();
        let stale_arg = stale.to_string();
        let (ok, stdout) = sign(args(&[
            "linear", "--body", given, "--stale", &stale_arg, "--send", &url,
        ]))
        .await;
        let after = common::now_ms();
        assert!(ok, "{stdout}");
        assert_eq!(stdout, "HTTP 200 OK\nanswered\n");
        let [got] = <[Captured; 1]>::try_from(take()).unwrap();
        assert_eq!(
            (got.method.as_str(), got.uri.as_str()),
            ("POST", "/hooks/linear?team=a")
        );
        let body = std::str::from_utf8(&got.body).unwrap();
        let (kept, stamp) = body.split_once(",\"webhookTimestamp\":").unwrap();
        assert_eq!(kept, given.trim_end_matches("\n}"));
        let ms: u64 = stamp.strip_suffix("\n}").unwrap().parse().unwrap();
        let (from, to) = (before - stale * 1000, after - stale * 1000);
        assert!((from..=to).contains(&ms), "{ms} not in {from}..={to}");
        assert_eq!(got.headers["content-type"], "application/json");
        // The signature covers the stamped body, as Linear's documented HMAC.
        let secret = Secret::new("lin_wh_demo_secret").unwrap();
        assert_eq!(
            got.headers["linear-signature"],
            tower_hmac::linear::signature(&secret, &got.body).as_str()
        );
    }

    // Twilio: a form is signed as its parameters, to the --send URL exactly.
    let token = Secret::new("12345").unwrap();
    let form = "To=%2B14155550100&CallSid=CA1&From=%2B14158675310";
    let url = format!("http://{addr}/hooks/twilio?b=2&a=1");
    let (ok, stdout) = sign(args(&["twilio", "--body", form, "--send", &url])).await;
    assert!(ok, "{stdout}");
    let [got] = <[Captured; 1]>::try_from(take()).unwrap();
    assert_eq!(got.uri, "/hooks/twilio?b=2&a=1");
    assert_eq!(got.body, form);
    assert_eq!(
        got.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let params = [
        ("To", "+14155550100"),
        ("CallSid", "CA1"),
        ("From", "+14158675310"),
    ];
    assert_eq!(
        got.headers["x-twilio-signature"],
        tower_hmac::twilio::signature(&token, &url, &params).as_str()
    );

    // Any other body: its SHA-256 in the URL's bodySHA256, the URL alone signed.
    let json_body = r#"{"CallSid": "CA1"}"#;
    let (ok, stdout) = sign(args(&["twilio", "--body", json_body, "--send", &url])).await;
    assert!(ok, "{stdout}");
    let [got] = <[Captured; 1]>::try_from(take()).unwrap();
    let hashed = format!("{url}&bodySHA256={}", sha256_hex(json_body.as_bytes()));
    assert_eq!(format!("http://{addr}{}", got.uri), hashed);
    assert_eq!(got.body, json_body);
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(
        got.headers["x-twilio-signature"],
        tower_hmac::twilio::signature(&token, &hashed, &[]).as_str()
    );

    // A non-2xx answer: printed, and the exit status says so.
    let failing = format!("http://{addr}/status/503");
    let (ok, stdout) = sign(args(&["github", "--body", "{}", "--send", &failing])).await;
    assert!(!ok, "{stdout}");
    assert_eq!(stdout, "HTTP 503 Service Unavailable\nanswered\n");
    assert_eq!(take().len(), 1);
}

//! The vendors' own documented client snippets (tests/snippets/, copied from the docs; each file
//! says what was changed) run with node, python3 and curl against the mock provider server on a
//! free port. Every one must get 200 and see its identity echoed.
//!
//! The only changes made when running them: the vendor's host is replaced by the mock's
//! `http://127.0.0.1:<port>`, one line printing the HTTP status is appended (for Spike's step 1,
//! one line printing `sign_user("my_application_user_123")`), and Spike's step-2 placeholder
//! `SIGNATURE_FROM_STEP_1` is replaced by step 1's output. node, python3 with
//! `requests`, curl and tests/snippets/node_modules (`npm ci` there) must be present:
//! `scripts/test.sh` installs them. A missing tool fails the test; it never skips.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{send, serve_mock};
use http::{Request, StatusCode};
use tower_hmac::mock::{self, MockConfig};

fn snippets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets")
}

/// Writes `name` with `host` replaced by the mock's address and `epilogue` appended into
/// tests/snippets/.run/ (so that node finds tests/snippets/node_modules), and runs it.
fn run(program: &str, name: &str, host: &str, addr: SocketAddr, epilogue: &str) -> String {
    let text = std::fs::read_to_string(snippets().join(name)).unwrap();
    assert!(text.contains(host), "{name} does not mention {host}");
    let text = text.replace(host, &format!("http://{addr}")) + "\n" + epilogue + "\n";
    run_text(program, name, &text)
}

/// Runs `text` as the snippet `name`, unchanged.
fn run_text(program: &str, name: &str, text: &str) -> String {
    let dir = snippets().join(".run");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let output = Command::new(program).arg(&path).output();
    let _ = std::fs::remove_file(&path);
    let output = output.unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}); install it (scripts/test.sh does)")
    });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{program} {name} failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn last_line(output: &str) -> &str {
    output.trim_end().lines().last().unwrap_or_default()
}

async fn mock() -> SocketAddr {
    serve_mock(mock::router(&MockConfig::default()).unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn humanos_node_snippets() {
    assert!(
        snippets().join("node_modules/node-fetch").is_dir(),
        "node-fetch is missing: run `npm ci` in tests/snippets (scripts/test.sh does)"
    );
    let addr = mock().await;
    let host = "https://api.humanos.id";
    let status = "console.log(response.status);";
    let out = run("node", "humanos_get.mjs", host, addr, status);
    assert_eq!(last_line(&out), "200", "{out}");
    assert!(
        out.contains("provider: 'humanos'") && out.contains("api_key: 'YOUR_API_KEY'"),
        "{out}"
    );
    let out = run("node", "humanos_post.mjs", host, addr, status);
    assert_eq!(last_line(&out), "200", "{out}");
    assert!(
        out.contains("'64c8e5f7d5a4f9123b7c9a1e'") && out.contains("api_key: 'YOUR_API_KEY'"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proficient_node_snippet() {
    let addr = mock().await;
    let out = run(
        "node",
        "proficient.mjs",
        "https://api.proficientai.com",
        addr,
        "console.log(response.status);",
    );
    assert_eq!(last_line(&out), "200", "{out}");
    assert!(
        out.contains("external_id: 'gtLIK8ELsHTr0Fajg28Ud9eFpJJ3'"),
        "{out}"
    );
    assert!(out.contains("hmac_verified: true"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inqud_python_snippets() {
    let addr = mock().await;
    let host = "https://api.inqud.com";
    let status = "print(http_response.status_code, http_response.content.decode())";
    for (name, mode, route) in [
        ("inqud_secret_get.py", "simple", "\"balances\""),
        ("inqud_hmac_get.py", "hmac", "\"balances\""),
        (
            "inqud_hmac_post.py",
            "hmac",
            "\"cardNumber\":\"5555555555554444\"",
        ),
    ] {
        let out = run("python3", name, host, addr, status);
        let line = last_line(&out);
        assert!(line.starts_with("200 {"), "{name}: {out}");
        let json: serde_json::Value = serde_json::from_str(&line[4..]).unwrap();
        assert_eq!(json["token_id"], "TKN-6c1296b8-6929-443b-ac06-f732e0e27be1");
        assert_eq!(json["mode"], mode, "{name}");
        assert!(line.contains(route), "{name}: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spike_python_and_curl_snippets() {
    let addr = mock().await;
    // Step 1: the doc's sign_user, in Python.
    let text = std::fs::read_to_string(snippets().join("spike_sign_user.py")).unwrap();
    let text = text + "\nprint(sign_user(\"my_application_user_123\"))\n";
    let out = run_text("python3", "spike_sign_user.py", &text);
    let signature = last_line(&out).to_owned();
    assert_eq!(signature.len(), 64, "{out}");

    // Step 2: the doc's curl, with the signature of step 1.
    let text = std::fs::read_to_string(snippets().join("spike_exchange.sh")).unwrap();
    let text = text
        .replace("https://app-api.spikeapi.com", &format!("http://{addr}"))
        .replace("SIGNATURE_FROM_STEP_1", &signature);
    let output = Command::new("bash")
        .arg("-c")
        .arg(&text)
        .output()
        .expect("bash and curl are needed");
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    let token = json["access_token"].as_str().expect("an access token");

    // The token works on the mock's userinfo and names the doc's user.
    let request = Request::get("/v3/userinfo")
        .header("authorization", format!("Bearer {token}"))
        .body(Default::default())
        .unwrap();
    let reply = send(addr, request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        serde_json::json!({"provider": "spike", "application_id": "9999",
                           "application_user_id": "my_application_user_123"})
    );
}

//! Ed25519-signed requests checked outside the crate, by the senders' own code:
//! `tests/snippets/webhooks/ed25519_verify.mjs` (discord-interactions' `verifyKey` for Discord,
//! Node's crypto for Standard Webhooks `v1a`). node and tests/snippets/node_modules (`npm ci`
//! there) must be present: `scripts/test.sh` installs them; a missing one fails, never skips.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use http::HeaderMap;
use serde_json::{Value, json};

/// One request for the script: its `scheme` (`discord` or `standard-ed25519`), the receiver's
/// `public_key` as configured (hex, or `whpk_`), and the signed headers and body.
pub fn request(
    name: &str,
    scheme: &str,
    public_key: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Value {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().into()))
        .collect();
    json!({
        "name": name,
        "scheme": scheme,
        "public_key": public_key,
        "headers": headers,
        "body_hex": const_hex::encode(body),
    })
}

/// What the senders' code answers each request: `(name, verified, by)`.
pub fn verified_outside(requests: &[Value]) -> Vec<(String, bool, String)> {
    let snippets = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets");
    assert!(
        snippets.join("node_modules/discord-interactions").is_dir(),
        "discord-interactions is missing: run `npm ci` in tests/snippets (scripts/test.sh does)"
    );
    let mut child = Command::new("node")
        .arg(snippets.join("webhooks/ed25519_verify.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); install it (scripts/test.sh does)"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::from(requests.to_vec()).to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "ed25519_verify.mjs failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Value = serde_json::from_slice(&output.stdout).unwrap();
    answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["verified"].as_bool().unwrap(),
                a["by"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

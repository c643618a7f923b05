//! `--explain`: what the mock tells about a refused request (test use only).
//!
//! From the layer's [`Explanation`], [`render`] writes the `explain` object of the answer, the
//! log line and the inspector page:
//!
//! - `signed`: each form of the signed message the server rebuilt from the request (one for most
//!   schemes), as `text` (escaped: `\n`, `\r`, `\t`, `\\`, and `\xNN` for bytes that are not
//!   printable UTF-8), `length` in bytes and `sha256` (hex), to compare with what the client
//!   signed;
//! - `algorithm`: the MAC, or `Ed25519` for a sender signing with a private key;
//! - `expected`: for a provider configured with its demo credentials only, the MAC the server
//!   expected over each form, in `hex` and `base64` (every sender uses one or the other); never
//!   for an Ed25519 sender, whose receiver holds only the public key;
//! - `server_time`: the server's clock, in `seconds` and `milliseconds` since the epoch;
//! - `hints`: the usual mistakes that fit the refusal (below), each starting with its label
//!   (`timestamp in seconds: ...`); the log line has the labels only.
//!
//! The hints look at the refusal, the request's headers and body: a timestamp in seconds where
//! the scheme wants milliseconds or the reverse, a body ending with a newline, a JSON body
//! (signatures cover bytes, not the JSON value: a body re-serialized between signing and
//! sending is refused), a signature header in the wrong encoding, and for a scheme that signs the
//! URL, the URL the server rebuilt.

use std::time::UNIX_EPOCH;

use http::HeaderMap;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::crypto::MacAlgorithm;
use crate::pipeline::Explanation;
use crate::rejection::{Rejection, RejectionKind};

/// How far from the server's time a number must be to pass for a timestamp in the wrong unit.
const DAY_SECS: u64 = 24 * 60 * 60;

/// The `explain` object of a refusal (see the [module docs](self)).
pub(super) fn render(
    explanation: &Explanation,
    rejection: &Rejection,
    headers: &HeaderMap,
    path: &str,
) -> Value {
    let signed: Vec<Value> = explanation
        .messages
        .iter()
        .map(|message| {
            json!({
                "text": escape_bytes(message),
                "length": message.len(),
                "sha256": const_hex::encode(sha2::Sha256::digest(message)),
            })
        })
        .collect();
    let now = explanation
        .now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut explain = json!({
        "signed": signed,
        "algorithm": match explanation.algorithm {
            _ if explanation.ed25519 => "Ed25519",
            MacAlgorithm::HmacSha1 => "HMAC-SHA1",
            _ => "HMAC-SHA256",
        },
        "server_time": {"seconds": now.as_secs(), "milliseconds": now.as_millis()},
        "hints": hints(explanation, rejection, headers, path),
    });
    if !explanation.expected.is_empty()
        && let Some(object) = explain.as_object_mut()
    {
        let expected: Vec<Value> = explanation
            .expected
            .iter()
            .map(|tag| json!({"hex": tag.to_hex(), "base64": tag.to_base64()}))
            .collect();
        object.insert("expected".to_owned(), Value::Array(expected));
    }
    explain
}

/// The hints that fit this refusal.
fn hints(
    explanation: &Explanation,
    rejection: &Rejection,
    headers: &HeaderMap,
    path: &str,
) -> Vec<String> {
    let now = explanation
        .now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (now_s, now_ms) = (
        now.as_secs(),
        u64::try_from(now.as_millis()).unwrap_or(u64::MAX),
    );
    let body = &explanation.body;
    let mut hints = Vec::new();
    match rejection.kind() {
        kind @ (RejectionKind::StaleTimestamp | RejectionKind::FutureTimestamp) => {
            let numbers = numbers_in(headers, body);
            let near = |n: u64, target: u64, tolerance: u64| n.abs_diff(target) <= tolerance;
            if kind == RejectionKind::StaleTimestamp
                && let Some(n) = numbers.iter().find(|n| near(**n, now_s, DAY_SECS))
            {
                hints.push(format!(
                    "timestamp in seconds: {n} is the time in seconds since the epoch, and this \
                     scheme reads milliseconds (the server's time is {now_ms} ms), so it reads \
                     as a time in January 1970. Send the time in milliseconds."
                ));
            } else if kind == RejectionKind::FutureTimestamp
                && let Some(n) = numbers.iter().find(|n| near(**n, now_ms, DAY_SECS * 1000))
            {
                hints.push(format!(
                    "timestamp in milliseconds: {n} is the time in milliseconds since the epoch, \
                     and this scheme reads seconds (the server's time is {now_s} s), so it reads \
                     as a time thousands of years ahead. Send the time in seconds."
                ));
            } else {
                hints.push(format!(
                    "timestamp outside the window: the request's timestamp is outside the \
                     scheme's window around the server's time ({now_s} s, {now_ms} ms): check \
                     the client's clock, and that it signs the time of sending, not that of a \
                     stored or retried request."
                ));
            }
        }
        RejectionKind::MalformedCredentials => hints.push(format!(
            "wrong encoding: {}. A signature is checked only in the scheme's \
             encoding and form: a hex digest where base64 is expected (or base64 of the hex \
             text), base64url for standard base64, a missing prefix such as sha256=, v0= or v1, \
             or a digest of another length (SHA-1, SHA-512) is refused before any MAC.",
            rejection.message().trim_end_matches('.')
        )),
        RejectionKind::InvalidSignature | RejectionKind::UnknownKey => {
            if explanation.messages.is_empty() {
                hints.push(
                    "not a signature: the credential is not a signature of a message (a plain \
                     secret or a token): check that it is the one configured."
                        .to_owned(),
                );
            } else {
                hints.push(
                    "compare the message: compare the message the server signed (`signed`: its \
                     text, length and SHA-256) with what the client signed: any byte of \
                     difference changes the signature."
                        .to_owned(),
                );
            }
            if !explanation.expected.is_empty() {
                hints.push(
                    "expected signature: `expected` is the MAC under the demo secret: if the \
                     client's is the same text in another encoding (hex, base64), send it in the \
                     scheme's; if it differs, the client signed other bytes or with another \
                     secret."
                        .to_owned(),
                );
            }
            if body.ends_with(b"\n") {
                hints.push(
                    "trailing newline: the body ends with a newline (\\n), which is signed like \
                     any other byte. A client that signed the body without it, or a tool that \
                     added one when sending (a file saved by an editor, echo), gets another \
                     signature."
                        .to_owned(),
                );
            }
            if serde_json::from_slice::<Value>(body).is_ok() {
                let spaced = has_whitespace_between_tokens(body);
                hints.push(format!(
                    "body re-encoded: the body is JSON ({} bytes, {}). A signature covers bytes, \
                     not the JSON value: a client that signed one serialization (Python's \
                     json.dumps writes {{\"a\": 1}}, JavaScript's JSON.stringify {{\"a\":1}}) \
                     and sent another, or a framework that re-encoded the object before \
                     sending, is refused. Sign the exact bytes you send.",
                    body.len(),
                    if spaced {
                        "with whitespace between its tokens"
                    } else {
                        "compact"
                    }
                ));
            }
            if let Some(url) = signed_url(explanation, path) {
                hints.push(format!(
                    "URL: this scheme signs the URL, and the server rebuilt {url} (from the \
                     request's Host header and path, or from the configured public URL). A \
                     sender that signed another URL (a proxy's or tunnel's public URL, https \
                     for http, another port or query) is refused: configure the public URL \
                     the sender uses (twilio_public_url)."
                ));
            }
        }
        _ => {}
    }
    hints
}

/// The numbers that may be timestamps: every run of digits in a header value, and the numbers
/// at the top level of a JSON object body.
fn numbers_in(headers: &HeaderMap, body: &[u8]) -> Vec<u64> {
    let mut numbers = Vec::new();
    for value in headers.values() {
        for run in value.as_bytes().split(|b| !b.is_ascii_digit()) {
            if let Some(n) = std::str::from_utf8(run).ok().and_then(|r| r.parse().ok()) {
                numbers.push(n);
            }
        }
    }
    if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
        numbers.extend(object.values().filter_map(Value::as_u64));
    }
    numbers
}

/// Whether a JSON text has whitespace outside its strings.
fn has_whitespace_between_tokens(json: &[u8]) -> bool {
    let (mut in_string, mut escaped) = (false, false);
    for &b in json {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (false, _, b'"') => in_string = true,
            (false, _, b' ' | b'\n' | b'\r' | b'\t') => return true,
            _ => {}
        }
    }
    false
}

/// For a scheme that signs the URL (its message starts with one): the URL, up to the request's
/// path and query.
fn signed_url(explanation: &Explanation, path: &str) -> Option<String> {
    let message = explanation.messages.first()?;
    let text = String::from_utf8_lossy(message);
    if !(text.starts_with("http://") || text.starts_with("https://")) {
        return None;
    }
    let end = text.find(path).map_or(text.len(), |at| at + path.len());
    text.get(..end).map(str::to_owned)
}

/// `bytes` as text: printable UTF-8 as it is, `\n`, `\r`, `\t` and `\\` escaped, any other
/// byte as `\xNN`.
pub(super) fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let mut buf = [0; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_escaped() {
        assert_eq!(
            escape_bytes(b"{\"a\":1}\n\t\\\x00\xff caf\xc3\xa9"),
            "{\"a\":1}\\n\\t\\\\\\x00\\xff caf\u{e9}"
        );
    }

    #[test]
    fn whitespace_between_tokens_not_in_strings() {
        assert!(!has_whitespace_between_tokens(br#"{"a b":"c\" d"}"#));
        assert!(has_whitespace_between_tokens(br#"{"a": 1}"#));
    }
}

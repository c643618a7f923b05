//! The mock's request log and its inspector page.
//!
//! Every request (but the page itself) is written as one `tracing` event, target
//! `tower_hmac::mock`, level `INFO`, message `request`, with the fields `method`, `path`,
//! `status`, `provider` (the scheme of the layer that decided, `-` for a route without one),
//! `verdict` (`accepted`, `refused`, `duplicate`, or `-`), `kind` (the refusal's
//! `RejectionKind`), `reason` (the refusal's message, as answered) and `key_id` (the key the
//! request named, once its credentials parsed). With `--explain` (see
//! [`MockConfig::set_explain`]), a refusal's event also has `signed`, `signed_len`,
//! `signed_sha256`, `expected` (hex; demo credentials only) and `hints` (their labels), and its
//! JSON answer an
//! `explain` object with the same. No secret appears, and an expected signature only with
//! `--explain` for demo credentials.
//!
//! `GET /` is the inspector: the last [`KEPT`] requests, newest first, with the same fields (and
//! the explanation when `--explain` is on), the counts per layer, and the example commands
//! for every route (those of a provider configured with its own credentials left out: the
//! page shows no secret but the published demo ones). Plain HTML rendered here, refreshing
//! itself every 2 seconds.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use super::MockConfig;
use crate::pipeline::{Counters, Outcome, Verdict};

/// The most requests the inspector keeps (the oldest are dropped first).
pub(crate) const KEPT: usize = 200;

/// The largest refusal body read back to add its explanation to (the layers' are a few hundred
/// bytes).
const ANSWER_LIMIT: usize = 64 * 1024;

/// One request, as the log and the page show it.
#[derive(Clone)]
struct Entry {
    time: SystemTime,
    method: String,
    path: String,
    status: u16,
    provider: &'static str,
    verdict: &'static str,
    kind: Option<String>,
    reason: Option<String>,
    key_id: Option<String>,
    explain: Option<Value>,
}

#[derive(Clone)]
struct Inspector {
    entries: Arc<Mutex<VecDeque<Entry>>>,
    config: MockConfig,
    counters: Counters,
}

/// `router` with the request log around it and the inspector page at `/`.
pub(super) fn mount(router: Router, config: &MockConfig, counters: Counters) -> Router {
    let inspector = Inspector {
        entries: Arc::default(),
        config: config.clone(),
        counters,
    };
    let page = Router::new()
        .route("/", get(page))
        .with_state(inspector.clone());
    router
        .merge(page)
        .layer(middleware::from_fn_with_state(inspector, record))
}

/// Logs and keeps each request's verdict, and adds the explanation to a refusal's answer.
async fn record(State(inspector): State<Inspector>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/" {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    // What the hints read (timestamps in headers); kept only when refusals are explained.
    let headers = if inspector.config.explains() {
        request.headers().clone()
    } else {
        HeaderMap::new()
    };
    let response = next.run(request).await;
    let outcome = response.extensions().get::<Outcome>().cloned();
    let mut entry = Entry {
        time: SystemTime::now(),
        method,
        path,
        status: response.status().as_u16(),
        provider: outcome.as_ref().map_or("-", |o| o.scheme),
        verdict: "-",
        kind: None,
        reason: None,
        key_id: outcome
            .as_ref()
            .and_then(|o| o.key_id.as_deref())
            .map(str::to_owned),
        explain: None,
    };
    let mut response = response;
    if let Some(outcome) = &outcome {
        match &outcome.verdict {
            Verdict::Accepted => entry.verdict = "accepted",
            Verdict::Duplicate => entry.verdict = "duplicate",
            Verdict::Refused(rejection) => {
                entry.verdict = "refused";
                entry.kind = Some(format!("{:?}", rejection.kind()));
                entry.reason = Some(rejection.message().to_owned());
                if let Some(explanation) = &outcome.explanation {
                    let explained =
                        super::explain::render(explanation, rejection, &headers, &entry.path);
                    response = with_explanation(response, &explained).await;
                    entry.explain = Some(explained);
                }
            }
        }
    }
    log(&entry);
    let mut entries = inspector.entries.lock().unwrap_or_else(|e| e.into_inner());
    if entries.len() == KEPT {
        entries.pop_front();
    }
    entries.push_back(entry);
    response
}

/// The request's log line.
fn log(entry: &Entry) {
    let explain = entry.explain.as_ref();
    let field = |name: &str| explain.and_then(|e| e.get(name));
    let signed = field("signed").and_then(|s| s.get(0));
    let text =
        |value: Option<&Value>| value.map(|v| v.as_str().map_or(v.to_string(), str::to_owned));
    tracing::info!(
        target: "tower_hmac::mock",
        method = %entry.method,
        path = %entry.path,
        status = entry.status,
        provider = entry.provider,
        verdict = entry.verdict,
        kind = entry.kind.as_deref(),
        reason = entry.reason.as_deref(),
        key_id = entry.key_id.as_deref(),
        signed = text(signed.and_then(|s| s.get("text"))).as_deref(),
        signed_len = signed.and_then(|s| s.get("length")).and_then(serde_json::Value::as_u64),
        signed_sha256 = text(signed.and_then(|s| s.get("sha256"))).as_deref(),
        expected = text(field("expected").and_then(|e| e.get(0)).and_then(|e| e.get("hex")))
            .as_deref(),
        hints = hint_labels(field("hints")).as_deref(),
        "request"
    );
}

/// The labels of the hints (what precedes each one's first colon), for the log line.
fn hint_labels(hints: Option<&Value>) -> Option<String> {
    let labels: Vec<&str> = hints?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|hint| hint.split_once(':').map(|(label, _)| label))
        .collect();
    Some(labels.join(", "))
}

/// The layer's JSON refusal with `"explain": explained` added (any other answer as it is).
async fn with_explanation(response: Response, explained: &Value) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ANSWER_LIMIT).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the refusal could not be read",
        )
            .into_response();
    };
    let mut answer = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(answer)) => answer,
        // A gRPC refusal (trailers only) or a responder's own: left as it is.
        _ => return Response::from_parts(parts, Body::from(bytes)),
    };
    answer.insert("explain".to_owned(), explained.clone());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(Value::Object(answer).to_string()))
}

/// `GET /`: the inspector page.
async fn page(State(inspector): State<Inspector>, headers: HeaderMap) -> Html<String> {
    let entries: Vec<Entry> = {
        let entries = inspector.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.iter().rev().cloned().collect()
    };
    // The commands call the mock at the address this page was asked from.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let commands = super::examples_of(
        &format!("http://{host}"),
        &inspector.config,
        "cargo run -q --example sign --",
        true,
    )
    .unwrap_or_else(|error| format!("# {error}"));

    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"2\">\
         <title>tower-hmac mock providers</title><style>\
         body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}\
         table{border-collapse:collapse;font-size:.9rem}\
         th,td{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}\
         tr.refused td{background:#fff0f0}tr.accepted td{background:#f0fff4}\
         tr.duplicate td{background:#f4f4ff}\
         pre{background:#f6f6f6;padding:.5rem;overflow-x:auto;font-size:.8rem}\
         </style></head><body>\n<h1>tower-hmac mock providers</h1>\n",
    );
    let _ = writeln!(
        html,
        "<p>The last {KEPT} requests at most, newest first; this page refreshes every 2 s. \
         Explanations of refusals (<code>--explain</code>): <b>{}</b>.</p>",
        if inspector.config.explains() {
            "on"
        } else {
            "off"
        }
    );
    html.push_str(
        "<table id=\"requests\"><thead><tr><th>time (UTC)</th><th>method</th><th>route</th>\
         <th>status</th><th>provider</th><th>verdict</th><th>kind</th><th>reason</th>\
         <th>key id</th></tr></thead><tbody>\n",
    );
    if entries.is_empty() {
        html.push_str("<tr><td colspan=\"9\">No request yet: try a command below.</td></tr>\n");
    }
    for entry in &entries {
        let _ = writeln!(
            html,
            "<tr class=\"{verdict}\"><td>{time}</td><td>{method}</td><td>{path}</td>\
             <td>{status}</td><td>{provider}</td><td>{verdict}</td><td>{kind}</td>\
             <td>{reason}</td><td>{key_id}</td></tr>",
            verdict = entry.verdict,
            time = clock_time(entry.time),
            method = escape(&entry.method),
            path = escape(&entry.path),
            status = entry.status,
            provider = entry.provider,
            kind = escape(entry.kind.as_deref().unwrap_or("")),
            reason = escape(entry.reason.as_deref().unwrap_or("")),
            key_id = escape(entry.key_id.as_deref().unwrap_or("")),
        );
        if let Some(explain) = &entry.explain {
            let pretty = serde_json::to_string_pretty(explain).unwrap_or_default();
            let _ = writeln!(
                html,
                "<tr class=\"explain\"><td colspan=\"9\"><details open><summary>why</summary>\
                 <pre>{}</pre></details></td></tr>",
                escape(&pretty)
            );
        }
    }
    html.push_str(
        "</tbody></table>\n<h2>Counts</h2>\n<table id=\"counts\"><thead><tr>\
         <th>layer</th><th>accepted</th><th>duplicates</th><th>refused</th></tr></thead><tbody>\n",
    );
    for counts in inspector.counters.snapshot() {
        let refusals: Vec<String> = counts
            .refusals()
            .map(|(kind, n)| format!("{kind:?} {n}"))
            .collect();
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            counts.scheme(),
            counts.accepted(),
            counts.duplicates(),
            escape(&refusals.join(", "))
        );
    }
    let _ = writeln!(
        html,
        "</tbody></table>\n<h2>Every route, signed with the crate's signing CLI</h2>\n\
         <pre id=\"commands\">{}</pre>\n</body></html>",
        escape(&commands)
    );
    Html(html)
}

/// `HH:MM:SS` of `time`, in UTC.
fn clock_time(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `text` for HTML text and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn clock_time_is_utc() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_763_800_000);
        assert_eq!(clock_time(t), "08:26:40");
    }
}

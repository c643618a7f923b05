//! A small signing CLI: signs a request for any scheme of the crate, with the crate's
//! client-side signers, and prints its headers, prints a curl command, or sends it. An API call
//! for one of the four API schemes, or a webhook delivery from any webhook sender (`github`,
//! `stripe`, ...: each signed by the sender's own scheme, found by name in the mock's table, so
//! the scheme names are the mock's route names).
//!
//! Every credential defaults to the mock's demo credential (`tower_hmac::mock::MockConfig`'s
//! default), so a delivery to the mock needs nothing else:
//!
//! ```text
//! cargo run --example sign -- github --body '{"zen":"hi"}' --send http://127.0.0.1:8080/webhooks/github
//! cargo run --example sign -- stripe --body-file event.json --repeat 2 --send http://127.0.0.1:8080/webhooks/stripe
//! cargo run --example sign -- slack --body '{}' --stale 600 --send http://127.0.0.1:8080/webhooks/slack
//! cargo run --example sign -- humanos --body '{"contacts":["+351912345678"]}' \
//!     --send http://127.0.0.1:8080/v0/process/generate
//! cargo run --example sign -- humanos --api-key K --secret S --curl http://127.0.0.1:8080/v0/processes
//! cargo run --example sign -- inqud [--simple] --send http://127.0.0.1:8080/v1/user/wallet/balances
//! cargo run --example sign -- proficient --user USER_ID --send http://127.0.0.1:8080/interactions
//! cargo run --example sign -- spike --user my_application_user_123 --send http://127.0.0.1:8080/v3/auth/hmac
//! cargo run --example sign -- twilio --body 'CallSid=CA1&From=%2B14158675310' --send http://127.0.0.1:8080/webhooks/twilio
//! cargo run --example sign -- standard-ed25519 --body '{"type":"ping"}' --send http://127.0.0.1:8080/webhooks/standard-ed25519
//! cargo run --example sign -- discord --secret 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60 \
//!     --body '{"type":1}' --send http://127.0.0.1:8080/webhooks/discord
//! ```
//!
//! - `--send URL` sends the signed request (hyper's client) and prints the status and the
//!   response body; the exit status is 1 if an answer is not 2xx. `--repeat N` sends the same
//!   signed request N times (a copy of a webhook delivery, to try duplicate handling).
//! - `--curl URL` prints a curl command instead; without either, the headers (and the body) are
//!   printed.
//! - `--header 'NAME: VALUE'` (`-H`, repeatable) adds a header that is not signed (Shopify's
//!   topic and shop domain, say).
//! - `--stale S` signs as if S seconds ago (schemes that sign a time; the others ignore it).
//! - `--body TEXT` or `--body-file PATH` (any bytes) is the body; none by default.
//! - An Ed25519 sender (`standard-ed25519`, `discord`) signs with its private key: `--secret` is
//!   that key (`whsk_...`, or 64 hex digits for Discord), the receiver holding its public key;
//!   by default the mock's demo key pair (RFC 8032's first test key).
//! - The URL signed, for a scheme that signs it (Twilio), is the `--send` (or `--curl`) URL
//!   exactly, or `--url` when a proxy or tunnel stands between.
//! - Linear signs its `webhookTimestamp` (milliseconds) inside the JSON body: it is set in the
//!   body given (moved back by `--stale`), the rest kept as given. Twilio signs a form body
//!   (`a=1&b=2`, sent as `application/x-www-form-urlencoded`) as its parameters, and any other
//!   body with its hash in the URL's `bodySHA256` parameter.
//!
//! Without `--send` or `--curl` the headers are printed one per line (for Spike, the exchange
//! body after them).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::{Arg, ArgMatches, Args, Command, CommandFactory, FromArgMatches, Parser, Subcommand};
use http::{HeaderMap, HeaderValue, Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioExecutor;
use tower_hmac::mock::{self, MockConfig};
use tower_hmac::{Secret, humanos, inqud, proficient, spike};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(
    about = "Sign a request (an API call or a webhook delivery) for any scheme of tower-hmac, \
                   and print it, or send it"
)]
struct Cli {
    #[command(subcommand)]
    scheme: Api,
    #[command(flatten)]
    output: Output,
}

/// What to do with the signed request, and what to sign; for every scheme.
#[derive(Args)]
struct Output {
    /// The body, as text.
    #[arg(long, global = true, value_name = "TEXT", conflicts_with = "body_file")]
    body: Option<String>,
    /// The body, the bytes of a file.
    #[arg(long, global = true, value_name = "PATH")]
    body_file: Option<PathBuf>,
    /// Send the signed request to URL, print the status and the response body; exit 1 on an
    /// answer that is not 2xx.
    #[arg(long, global = true, value_name = "URL", conflicts_with = "curl")]
    send: Option<String>,
    /// Send the same signed request N times (with --send).
    #[arg(long, global = true, value_name = "N", default_value_t = 1, requires = "send",
          value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Print a curl command for URL instead of the bare headers.
    #[arg(long, global = true, value_name = "URL")]
    curl: Option<String>,
    /// Sign as if SECONDS ago (for the schemes that sign a time).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 0)]
    stale: u64,
    /// The request's method (default: POST, or GET for an API call without a body).
    #[arg(long, global = true)]
    method: Option<Method>,
    /// One more header to send, `NAME: VALUE` (repeatable), such as the topic and shop headers
    /// Shopify sends beside its signature. Not signed, and never replacing a signed one.
    #[arg(
        long = "header",
        short = 'H',
        global = true,
        value_name = "NAME: VALUE"
    )]
    headers: Vec<String>,
}

/// The API schemes; the webhook senders are added from the mock's table.
#[derive(Subcommand)]
enum Api {
    /// Humanos: Authorization, X-Timestamp (ms) and X-Signature over the timestamp and body.
    Humanos {
        /// The API key, sent as the Authorization bearer.
        #[arg(long)]
        api_key: Option<String>,
        /// The signature secret.
        #[arg(long)]
        secret: Option<String>,
    },
    /// Inqud: X-Token-API-Id with X-HMAC-SHA256-Signature and a fresh X-Salt (or, with --simple,
    /// the secret itself).
    Inqud {
        /// The API token's id (X-Token-API-Id).
        #[arg(long)]
        token_id: Option<String>,
        /// The API token's secret.
        #[arg(long)]
        secret: Option<String>,
        /// Simple mode: send X-Token-API-Secret instead of a signature.
        #[arg(long)]
        simple: bool,
    },
    /// Proficient: X-PROFICIENT-API-KEY, X-PROFICIENT-USER-EXTERNAL-ID and
    /// X-PROFICIENT-USER-HMAC.
    Proficient {
        /// The project's API key (pk_...).
        #[arg(long)]
        api_key: Option<String>,
        /// The project's secret key (hsec_...), which signs the user's external id.
        #[arg(long)]
        secret: Option<String>,
        /// The user's external id.
        #[arg(long)]
        user: String,
    },
    /// Spike: the token-exchange body for POST /v3/auth/hmac (its body is built, not given).
    Spike {
        /// The application's id.
        #[arg(long)]
        application_id: Option<String>,
        /// The application's HMAC key.
        #[arg(long)]
        key: Option<String>,
        /// The application's user id.
        #[arg(long)]
        user: String,
    },
}

/// The credential flags of each API scheme: (subcommand, flag's argument id, configuration key,
/// field). Their defaults are the mock's demo credentials.
const API_CREDENTIALS: &[(&str, &str, &str, &str)] = &[
    ("humanos", "api_key", "humanos", "api_key"),
    ("humanos", "secret", "humanos", "secret"),
    ("inqud", "token_id", "inqud", "token_id"),
    ("inqud", "secret", "inqud", "secret"),
    ("proficient", "api_key", "proficient", "api_key"),
    ("proficient", "secret", "proficient", "secret"),
    ("spike", "application_id", "spike", "application_id"),
    ("spike", "key", "spike", "key"),
];

/// The command line: the API schemes, and one subcommand per webhook sender of the mock's table,
/// every credential defaulting to the mock's demo one.
fn command(demo: &MockConfig) -> Command {
    let mut command = Cli::command();
    for (sub, id, key, field) in API_CREDENTIALS {
        if let Some(value) = demo.credential(key, field) {
            let value: &'static str = Box::leak(value.into_boxed_str());
            command = command.mut_subcommand(sub, |c| c.mut_arg(id, |a| a.default_value(value)));
        }
    }
    for sender in mock::webhook_senders() {
        let mut secret = Arg::new("secret").long("secret");
        secret = if mock::signs_with_private_key(sender) {
            secret.value_name("PRIVATE_KEY").help(
                "The sender's Ed25519 private key (whsk_... for standard-ed25519, 64 hex digits \
                 for discord); the receiver holds its public key",
            )
        } else {
            secret
                .value_name("SECRET")
                .help("The endpoint's secret, as the sender shows it")
        };
        if let Some(value) = mock::demo_sender_credential(sender) {
            secret = secret.default_value(&*Box::leak(value.into_boxed_str()));
        }
        let url = Arg::new("url").long("url").value_name("SIGNED_URL").help(
            "The URL the sender signs when the request goes elsewhere (a proxy or tunnel in \
             front of the receiver); only Twilio signs its URL",
        );
        command = command.subcommand(
            Command::new(sender)
                .about(format!(
                    "A {sender} webhook delivery (the mock's POST /webhooks/{sender})"
                ))
                .arg(secret)
                .arg(url),
        );
    }
    command
}

/// A signed request.
struct Signed {
    method: Method,
    url: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("sign: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode, Error> {
    let demo = MockConfig::default();
    let matches = command(&demo).get_matches();
    let output = Output::from_arg_matches(&matches)?;
    let body = match (&output.body, &output.body_file) {
        (Some(text), _) => text.clone().into_bytes(),
        (None, Some(path)) => {
            std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?
        }
        (None, None) => Vec::new(),
    };
    let at = SystemTime::now() - Duration::from_secs(output.stale);
    // The URL the request goes to (and which a scheme that signs its URL signs).
    let target = output.send.clone().or_else(|| output.curl.clone());
    let signed = match matches.subcommand() {
        Some((sender, args)) if mock::webhook_senders().any(|s| s == sender) => {
            webhook(sender, args, target, body, at)?
        }
        _ => api(Api::from_arg_matches(&matches)?, target, body, at)?,
    };
    let mut signed = signed;
    for header in &output.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("--header {header:?}: expected NAME: VALUE"))?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes())?;
        if signed.headers.contains_key(&name) {
            return Err(format!("--header {name}: the signature sets it").into());
        }
        signed
            .headers
            .append(name, HeaderValue::from_str(value.trim())?);
    }
    let method = output.method.clone().unwrap_or(signed.method.clone());
    if let Some(url) = &output.send {
        let url = signed.url.as_deref().unwrap_or(url);
        return send(&method, url, &signed, output.repeat);
    }
    match (&output.curl, &signed.url) {
        (Some(_), Some(url)) => println!("{}", curl(&method, url, &signed)?),
        _ => {
            for (name, value) in &signed.headers {
                println!("{name}: {}", value.to_str()?);
            }
            if !signed.body.is_empty() {
                println!("\n{}", String::from_utf8_lossy(&signed.body));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A delivery from `sender`, signed at `at` by the sender's entry in the mock's table.
fn webhook(
    sender: &str,
    args: &ArgMatches,
    target: Option<String>,
    body: Vec<u8>,
    at: SystemTime,
) -> Result<Signed, Error> {
    let secret = args
        .get_one::<String>("secret")
        .ok_or("--secret is required: the mock has no demo credential for this sender")?;
    let to = target.as_deref().unwrap_or("http://localhost/");
    let signed_url = args.get_one::<String>("url").map_or(to, String::as_str);
    let delivery = mock::sign_webhook_at(sender, secret, to, signed_url, &body, at)?;
    // The sender may add to the URL (Twilio's bodySHA256), or stamp the body (Linear's
    // webhookTimestamp).
    let mut headers = delivery.headers;
    default_content_type(&mut headers, &delivery.body);
    Ok(Signed {
        method: Method::POST,
        url: target.map(|_| delivery.url),
        headers,
        body: delivery.body,
    })
}

/// An API call of scheme `api`.
fn api(api: Api, target: Option<String>, body: Vec<u8>, at: SystemTime) -> Result<Signed, Error> {
    let required = |value: Option<String>, flag: &str| {
        value.ok_or_else(|| format!("--{flag} is required (no demo credential configured)"))
    };
    let (mut headers, body) = match api {
        Api::Humanos { api_key, secret } => {
            let ms = u64::try_from(at.duration_since(UNIX_EPOCH)?.as_millis())?;
            let secret = Secret::new(required(secret, "secret")?)?;
            let key = required(api_key, "api-key")?;
            (humanos::sign_request(&key, &secret, ms, &body)?, body)
        }
        Api::Inqud {
            token_id,
            secret,
            simple,
        } => {
            let secret = Secret::new(required(secret, "secret")?)?;
            let token = required(token_id, "token-id")?;
            let headers = if simple {
                inqud::simple_headers(&token, &secret)?
            } else {
                inqud::sign_request(&token, &secret, &body, &inqud::new_salt()?)?
            };
            (headers, body)
        }
        Api::Proficient {
            api_key,
            secret,
            user,
        } => {
            let hmac = proficient::user_hmac(&Secret::new(required(secret, "secret")?)?, &user);
            let key = required(api_key, "api-key")?;
            (proficient::sign_request(&key, &user, Some(&hmac))?, body)
        }
        Api::Spike {
            application_id,
            key,
            user,
        } => {
            let key = Secret::new(required(key, "key")?)?;
            let application = required(application_id, "application-id")?;
            let body = spike::exchange_body(&application, &user, &key);
            (HeaderMap::new(), body.into_bytes())
        }
    };
    default_content_type(&mut headers, &body);
    Ok(Signed {
        method: if body.is_empty() {
            Method::GET
        } else {
            Method::POST
        },
        url: target,
        headers,
        body,
    })
}

/// A body without a content type is sent as JSON when it is JSON.
fn default_content_type(headers: &mut HeaderMap, body: &[u8]) {
    if !body.is_empty()
        && !headers.contains_key(header::CONTENT_TYPE)
        && serde_json::from_slice::<serde_json::Value>(body).is_ok()
    {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
}

/// Sends `signed` to `url` `repeat` times, printing each status and body: success if every
/// answer is 2xx.
fn send(method: &Method, url: &str, signed: &Signed, repeat: u32) -> Result<ExitCode, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .build_http::<Full<Bytes>>();
        let mut all_ok = true;
        for _ in 0..repeat {
            let mut request = Request::builder()
                .method(method.clone())
                .uri(url)
                .body(Full::new(Bytes::from(signed.body.clone())))?;
            request.headers_mut().extend(signed.headers.clone());
            let response = client
                .request(request)
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            println!("HTTP {status}");
            println!("{}", String::from_utf8_lossy(&body));
            all_ok &= status.is_success();
        }
        Ok(if all_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

/// Single-quotes `text` for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn curl(method: &Method, url: &str, signed: &Signed) -> Result<String, Error> {
    let mut line = format!("curl -s {}", quote(url));
    if *method != Method::GET && (signed.body.is_empty() || *method != Method::POST) {
        line += &format!(" -X {method}");
    }
    for (name, value) in &signed.headers {
        line += &format!(" -H {}", quote(&format!("{name}: {}", value.to_str()?)));
    }
    if !signed.body.is_empty() {
        let body = std::str::from_utf8(&signed.body)
            .map_err(|_| "the body is not text: send it with --send instead of --curl")?;
        // --data-binary sends the bytes exactly as signed.
        line += &format!(" --data-binary {}", quote(body));
    }
    Ok(line)
}

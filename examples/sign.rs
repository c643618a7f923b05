//! A small signing CLI: prints the headers (or a ready curl command) of a request signed for one
//! of the crate's schemes, with the crate's client-side signers: an API call for one of the four
//! API schemes, or a webhook delivery from any webhook sender (`github`, `stripe`, ...: each
//! signed by the sender's own scheme, found by name in the mock's table).
//!
//! ```text
//! cargo run --example sign -- humanos --api-key YOUR_API_KEY --secret YOUR_SIGNATURE_SECRET
//! cargo run --example sign -- humanos --api-key YOUR_API_KEY --secret YOUR_SIGNATURE_SECRET \
//!     --body '{"contacts":["+351912345678"]}' --curl http://127.0.0.1:8080/v0/process/generate
//! cargo run --example sign -- inqud --token-id TKN-... --secret ... [--simple] [--body ...]
//! cargo run --example sign -- proficient --api-key pk_... --secret hsec_... --user USER_ID
//! cargo run --example sign -- spike --application-id 9999 --key HMAC_KEY_FROM_ADMIN_CONSOLE \
//!     --user my_application_user_123 --curl http://127.0.0.1:8080/v3/auth/hmac
//! cargo run --example sign -- github --secret "It's a Secret to Everybody" --body '{"zen":"hi"}' \
//!     --curl http://127.0.0.1:8080/webhooks/github
//! cargo run --example sign -- twilio --secret 12345 \
//!     --body 'CallSid=CA1234567890ABCDE&From=%2B14158675310&Body=Hello' \
//!     --curl http://127.0.0.1:8080/webhooks/twilio
//! cargo run --example sign -- standard-ed25519 \
//!     --secret whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A= --body '{"type":"ping"}' \
//!     --curl http://127.0.0.1:8080/webhooks/standard-ed25519
//! cargo run --example sign -- discord \
//!     --secret 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60 \
//!     --body '{"type":1}' --curl http://127.0.0.1:8080/webhooks/discord
//! ```
//!
//! An Ed25519 sender (`standard-ed25519`, `discord`) signs with its private key: `--secret` is
//! that key (`whsk_...`, or hex for Discord), the receiver holding its public key.
//!
//! Without `--curl` the headers are printed one per line (for Spike, the exchange body).

use std::time::{SystemTime, UNIX_EPOCH};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use http::HeaderMap;
use tower_hmac::{Secret, humanos, inqud, mock, proficient, spike};

#[derive(Parser)]
#[command(
    about = "Sign a request (an API call or a webhook delivery) for any scheme of tower-hmac"
)]
struct Cli {
    #[command(subcommand)]
    scheme: Scheme,
    /// Print a curl command for this URL instead of the bare headers.
    #[arg(long, global = true)]
    curl: Option<String>,
}

#[derive(Subcommand)]
enum Scheme {
    /// Authorization, X-Timestamp (now) and X-Signature over the timestamp and body.
    Humanos {
        #[arg(long)]
        api_key: String,
        #[arg(long)]
        secret: String,
        /// The request body (POST); none for a GET.
        #[arg(long, default_value = "")]
        body: String,
    },
    /// X-Token-API-Id with X-HMAC-SHA256-Signature and a fresh X-Salt (or, with --simple, the
    /// secret itself).
    Inqud {
        #[arg(long)]
        token_id: String,
        #[arg(long)]
        secret: String,
        #[arg(long, default_value = "")]
        body: String,
        /// Simple mode: send X-Token-API-Secret instead of a signature.
        #[arg(long)]
        simple: bool,
    },
    /// X-PROFICIENT-API-KEY, X-PROFICIENT-USER-EXTERNAL-ID and X-PROFICIENT-USER-HMAC.
    Proficient {
        #[arg(long)]
        api_key: String,
        #[arg(long)]
        secret: String,
        #[arg(long)]
        user: String,
    },
    /// The token-exchange body for POST /v3/auth/hmac.
    Spike {
        #[arg(long)]
        application_id: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        user: String,
    },
    /// A webhook delivery: SENDER --secret S [--body B] [--curl URL].
    #[command(external_subcommand)]
    Webhook(Vec<String>),
}

/// The arguments of a webhook delivery.
#[derive(Parser)]
struct Delivery {
    /// The endpoint's secret, as the sender shows it (`whsec_...` for Standard Webhooks); for
    /// an Ed25519 sender, its private key (`whsk_...` for standard-ed25519, 64 hex digits for
    /// discord).
    #[arg(long)]
    secret: String,
    #[arg(long, default_value = "")]
    body: String,
    /// Print a curl command for this URL (which a sender signing it signs) instead of the
    /// bare headers.
    #[arg(long)]
    curl: Option<String>,
    /// The URL the sender signs when the delivery goes elsewhere (a proxy or tunnel in front
    /// of the receiver); only Twilio signs its URL.
    #[arg(long)]
    url: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let senders: Vec<_> = mock::webhook_senders().collect();
    let help = format!(
        "Webhook senders: {} (SENDER --secret S [--body B] [--curl URL] [--url SIGNED_URL]); a\n\
         Twilio body that is a form (a=1&b=2) is signed as its parameters, any other with its hash\n\
         in the URL",
        senders.join(", ")
    );
    let cli = Cli::from_arg_matches(&Cli::command().after_help(help).get_matches())?;
    let mut curl_url = cli.curl;
    let (headers, body) = match cli.scheme {
        Scheme::Humanos {
            api_key,
            secret,
            body,
        } => {
            let now = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
            let secret = Secret::new(secret)?;
            let headers = humanos::sign_request(&api_key, &secret, now, body.as_bytes())?;
            (headers, body)
        }
        Scheme::Inqud {
            token_id,
            secret,
            body,
            simple,
        } => {
            let secret = Secret::new(secret)?;
            let headers = if simple {
                inqud::simple_headers(&token_id, &secret)?
            } else {
                inqud::sign_request(&token_id, &secret, body.as_bytes(), &inqud::new_salt()?)?
            };
            (headers, body)
        }
        Scheme::Proficient {
            api_key,
            secret,
            user,
        } => {
            let hmac = proficient::user_hmac(&Secret::new(secret)?, &user);
            (
                proficient::sign_request(&api_key, &user, Some(&hmac))?,
                String::new(),
            )
        }
        Scheme::Webhook(args) => {
            let sender = args.first().cloned().unwrap_or_default();
            let delivery = Delivery::parse_from(&args);
            // The URL the delivery goes to; a sender that signs its URL (Twilio) signs this one,
            // or --url.
            let url = delivery.curl.or(curl_url.take());
            let target = url.as_deref().unwrap_or("/");
            let signed = delivery.url.as_deref().unwrap_or(target);
            let body = delivery.body.as_bytes();
            let signed =
                mock::sign_webhook_behind(&sender, &delivery.secret, target, signed, body)?;
            // The sender may add to the URL (Twilio's bodySHA256), or stamp the body (Linear's
            // webhookTimestamp).
            curl_url = url.map(|_| signed.url);
            (signed.headers, String::from_utf8(signed.body)?)
        }
        Scheme::Spike {
            application_id,
            key,
            user,
        } => {
            let body = spike::exchange_body(&application_id, &user, &Secret::new(key)?);
            let mut headers = HeaderMap::new();
            headers.insert(http::header::CONTENT_TYPE, "application/json".parse()?);
            (headers, body)
        }
    };
    match curl_url {
        Some(url) => println!("{}", curl(&url, &headers, &body)?),
        None => {
            for (name, value) in &headers {
                println!("{name}: {}", value.to_str()?);
            }
            if !body.is_empty() {
                println!("\n{body}");
            }
        }
    }
    Ok(())
}

/// Single-quotes `text` for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn curl(
    url: &str,
    headers: &HeaderMap,
    body: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let mut line = format!("curl -s {}", quote(url));
    for (name, value) in headers {
        line += &format!(" -H {}", quote(&format!("{name}: {}", value.to_str()?)));
    }
    if !body.is_empty() {
        // --data-binary sends the bytes exactly as signed.
        line += &format!(" --data-binary {}", quote(body));
    }
    Ok(line)
}

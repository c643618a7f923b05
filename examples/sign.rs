//! A small signing CLI: prints the headers (or a ready curl command) of a request signed for one
//! of the four schemes, with the crate's client-side signers.
//!
//! ```text
//! cargo run --example sign -- humanos --api-key YOUR_API_KEY --secret YOUR_SIGNATURE_SECRET
//! cargo run --example sign -- humanos --api-key YOUR_API_KEY --secret YOUR_SIGNATURE_SECRET \
//!     --body '{"contacts":["+351912345678"]}' --curl http://127.0.0.1:8080/v0/process/generate
//! cargo run --example sign -- inqud --token-id TKN-... --secret ... [--simple] [--body ...]
//! cargo run --example sign -- proficient --api-key pk_... --secret hsec_... --user USER_ID
//! cargo run --example sign -- spike --application-id 9999 --key HMAC_KEY_FROM_ADMIN_CONSOLE \
//!     --user my_application_user_123 --curl http://127.0.0.1:8080/v3/auth/hmac
//! ```
//!
//! Without `--curl` the headers are printed one per line (for Spike, the exchange body).

use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use http::HeaderMap;
use tower_hmac::github::{GitHub, GitHubSigner};
use tower_hmac::linear::{self, Linear, LinearSigner};
use tower_hmac::standard::{self, StandardSigner, StandardWebhooks};
use tower_hmac::stripe::{Stripe, StripeSigner};
use tower_hmac::zoom::{Zoom, ZoomSigner};
use tower_hmac::{Secret, humanos, inqud, proficient, spike};

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
    /// GitHub: X-Hub-Signature-256 over the body, and a fresh X-GitHub-Delivery.
    Github {
        /// The webhook's secret.
        #[arg(long)]
        secret: String,
        #[arg(long, default_value = "")]
        body: String,
    },
    /// Stripe: Stripe-Signature, t=now and v1 over "{t}.{body}".
    Stripe {
        /// The endpoint's secret, whsec_... (used as is).
        #[arg(long)]
        secret: String,
        #[arg(long, default_value = "")]
        body: String,
    },
    /// Standard Webhooks: webhook-id (fresh), webhook-timestamp (now), webhook-signature v1.
    Standard {
        /// The endpoint's secret, whsec_<base64>.
        #[arg(long)]
        secret: String,
        #[arg(long, default_value = "")]
        body: String,
    },
    /// Zoom: x-zm-request-timestamp (now) and x-zm-signature v0 over "v0:{ts}:{body}".
    Zoom {
        /// The app's Secret Token.
        #[arg(long)]
        secret: String,
        #[arg(long, default_value = "")]
        body: String,
    },
    /// Linear: Linear-Signature over the body, stamped with webhookTimestamp (now), and a fresh
    /// Linear-Delivery.
    Linear {
        /// The webhook's signing secret.
        #[arg(long)]
        secret: String,
        /// A JSON object; its webhookTimestamp is set to now.
        #[arg(long, default_value = "{}")]
        body: String,
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
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let cli = Cli::parse();
    // The URL a signer that signs it sees (Twilio's); any other ignores it.
    let target = cli.curl.clone().unwrap_or_else(|| "/".to_owned());
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
        Scheme::Github { secret, body } => {
            let signer = GitHubSigner::new(GitHub::default(), Secret::new(secret)?);
            (signer.headers(&target, body.as_bytes())?, body)
        }
        Scheme::Stripe { secret, body } => {
            let signer = StripeSigner::new(Stripe::default(), Secret::new(secret)?);
            (signer.headers(&target, body.as_bytes())?, body)
        }
        Scheme::Standard { secret, body } => {
            let signer =
                StandardSigner::new(StandardWebhooks::default(), standard::secret(&secret)?);
            (signer.headers(&target, body.as_bytes())?, body)
        }
        Scheme::Zoom { secret, body } => {
            let signer = ZoomSigner::new(Zoom::default(), Secret::new(secret)?);
            (signer.headers(&target, body.as_bytes())?, body)
        }
        Scheme::Linear { secret, body } => {
            let body = linear::with_timestamp(body.as_bytes(), SystemTime::now())
                .ok_or("the Linear body must be a JSON object")?;
            let body = String::from_utf8(body)?;
            let signer = LinearSigner::new(Linear::default(), Secret::new(secret)?);
            (signer.headers(&target, body.as_bytes())?, body)
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
    match cli.curl {
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

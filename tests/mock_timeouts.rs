//! Finding 3, "no timeouts anywhere": the served mock closes a connection whose headers never
//! end, and answers a request whose body stalls below its Content-Length, within its configured
//! timeouts. Raw TCP on loopback, so that the client can stop mid-request.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower_hmac::humanos;
use tower_hmac::mock::{self, MockConfig, ServeOptions};
use tower_hmac::{Secret, proficient};

// The mock's demo credentials: the vendors' documented examples.
const HUMANOS_API_KEY: &str = "YOUR_API_KEY";
const HUMANOS_SECRET: &str = "YOUR_SIGNATURE_SECRET";
const PROFICIENT_API_KEY: &str =
    "pk_40NDqyJqjBe6DJyLn44HBEgi0loTunwLdjWHhcOUGONSkpomQx0qInkWLtu0ouwSr6qqE7HQ";
const PROFICIENT_SECRET: &str =
    "hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA";

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How late past its timeout the server may act (scheduling on a loaded machine).
const SLACK: Duration = Duration::from_millis(1500);

/// The mock as its example serves it, with short timeouts.
async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = ServeOptions::default()
        .header_read_timeout(HEADER_TIMEOUT)
        .request_timeout(REQUEST_TIMEOUT);
    let router = mock::router(&MockConfig::default()).unwrap();
    tokio::spawn(mock::serve(listener, router, options));
    addr
}

/// Sends `bytes` on a fresh connection, sends nothing more, and reads until the server closes it.
/// Returns what the server wrote and how long after connecting it closed; panics if it is still
/// open after `bound`.
async fn stall(addr: SocketAddr, bytes: &[u8], bound: Duration) -> (String, Duration) {
    // Before connecting, so that no server timer can have started earlier.
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(bound, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&received).into_owned();
    assert!(
        read.is_ok(),
        "the connection is still open after {bound:?}; the server wrote {text:?}"
    );
    (text, start.elapsed())
}

fn assert_near(elapsed: Duration, timeout: Duration) {
    assert!(
        elapsed >= timeout && elapsed <= timeout + SLACK,
        "closed after {elapsed:?}, expected about {timeout:?}"
    );
}

#[tokio::test]
async fn no_timeouts_half_sent_headers_are_closed_after_the_header_timeout() {
    let addr = serve().await;
    let (written, elapsed) = stall(
        addr,
        b"GET /v0/processes HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer YOUR_API_KEY\r\n",
        HEADER_TIMEOUT + SLACK,
    )
    .await;
    // hyper closes without an answer: the request never began.
    assert_eq!(written, "");
    assert_near(elapsed, HEADER_TIMEOUT);
}

#[tokio::test]
async fn no_timeouts_an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let addr = serve().await;
    // A complete request without credentials (answered at once), then nothing.
    let (written, elapsed) = stall(
        addr,
        b"GET /v0/processes HTTP/1.1\r\nHost: mock\r\n\r\n",
        HEADER_TIMEOUT + SLACK,
    )
    .await;
    assert!(
        written.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
        "{written}"
    );
    assert_near(elapsed, HEADER_TIMEOUT);
}

/// A Humanos POST whose headers announce `len` body bytes, signed (with `secret`) for those
/// bytes, followed by only the first ten of them.
fn humanos_post_stalled(secret: &str, len: usize) -> Vec<u8> {
    let body = vec![b' '; len];
    let headers = humanos::sign_request(
        HUMANOS_API_KEY,
        &Secret::new(secret).unwrap(),
        common::now_ms(),
        &body,
    )
    .unwrap();
    let mut request = format!(
        "POST /v0/process/generate HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n"
    );
    for (name, value) in &headers {
        request += &format!("{name}: {}\r\n", value.to_str().unwrap());
    }
    request += "\r\n";
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(&body[..10]);
    bytes
}

#[tokio::test]
async fn no_timeouts_a_body_stalled_below_its_content_length_gets_408_after_the_request_timeout() {
    let addr = serve().await;
    // Signed with the right secret, and with a wrong one for a 1 MiB body (unauthenticated: the
    // MAC can only be checked once the body is in).
    for request in [
        humanos_post_stalled(HUMANOS_SECRET, 100),
        humanos_post_stalled("wrong", 1024 * 1024),
    ] {
        let (written, elapsed) = stall(addr, &request, REQUEST_TIMEOUT + SLACK).await;
        assert!(
            written.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{written}"
        );
        assert!(written.ends_with("\r\n\r\n"), "no body: {written}");
        assert_near(elapsed, REQUEST_TIMEOUT);
    }
}

/// hyper already closed such a connection before the fix (it drops a request body the service
/// did not read to its end); this guards that a header-only route keeps answering at once.
#[tokio::test]
async fn no_timeouts_a_stalled_body_on_a_header_only_route_is_not_waited_for() {
    let addr = serve().await;
    let user = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";
    let hmac = proficient::user_hmac(&Secret::new(PROFICIENT_SECRET).unwrap(), user);
    let request = format!(
        "GET /interactions HTTP/1.1\r\nHost: mock\r\nX-PROFICIENT-API-KEY: {}\r\n\
         X-PROFICIENT-USER-EXTERNAL-ID: {user}\r\nX-PROFICIENT-USER-HMAC: {hmac}\r\n\
         Content-Length: 1048576\r\n\r\n0123456789",
        PROFICIENT_API_KEY
    );
    let (written, elapsed) = stall(addr, request.as_bytes(), REQUEST_TIMEOUT + SLACK).await;
    assert!(written.starts_with("HTTP/1.1 200 OK\r\n"), "{written}");
    assert!(
        written.ends_with(&format!(r#""external_id":"{user}","hmac_verified":true,"interactions":[],"provider":"proficient"}}"#)),
        "{written}"
    );
    // Answered and closed at once, without waiting for the body (nor for the request timeout).
    assert!(elapsed < HEADER_TIMEOUT, "{elapsed:?}");
}

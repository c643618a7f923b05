//! The client-side signers against the vendors' vectors (computed by their own Node and Python
//! code, see tests/vectors/), and the SignLayer's body handling.

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_hmac::sign::{SignErrorKind, SignLayer, SignedBody, Signer};
use tower_hmac::{ManualClock, Secret, humanos, inqud, proficient, spike};

fn vectors(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn parts() -> http::request::Parts {
    Request::new(()).into_parts().0
}

#[test]
fn humanos_signer_matches_vendor_vectors() {
    for v in vectors("humanos")["vectors"].as_array().unwrap() {
        let body = const_hex::decode(s(&v["body_hex"])).unwrap();
        let ts: u64 = s(&v["timestamp"]).parse().unwrap();
        let secret = Secret::new(s(&v["secret"])).unwrap();
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_millis(ts));
        let signer = humanos::HumanosSigner::new(s(&v["api_key"]), secret)
            .unwrap()
            .clock(clock);
        assert!(signer.signs_body());
        let mut p = parts();
        signer.sign(&mut p, &body).unwrap();
        assert_eq!(
            p.headers["x-signature"],
            s(&v["signature"]),
            "{}",
            v["name"]
        );
        assert_eq!(p.headers["x-timestamp"], s(&v["timestamp"]));
        assert_eq!(
            p.headers["authorization"],
            format!("Bearer {}", s(&v["api_key"]))
        );
    }
}

#[test]
fn inqud_headers_match_vendor_vectors() {
    for v in vectors("inqud")["vectors"].as_array().unwrap() {
        let body = const_hex::decode(s(&v["body_hex"])).unwrap();
        let secret = Secret::new(s(&v["secret"])).unwrap();
        let h = inqud::sign_request(s(&v["token_id"]), &secret, &body, s(&v["salt"])).unwrap();
        assert_eq!(
            h["x-hmac-sha256-signature"],
            s(&v["signature"]),
            "{}",
            v["name"]
        );
        assert_eq!(h["x-salt"], s(&v["salt"]));
        assert_eq!(h["x-token-api-id"], s(&v["token_id"]));
        assert_eq!(h.len(), 3);
    }
}

#[test]
fn inqud_signer_uses_a_fresh_salt_per_request() {
    let secret = Secret::new("token secret").unwrap();
    let signer = inqud::InqudSigner::hmac("TKN-1", secret.clone()).unwrap();
    let (mut a, mut b) = (parts(), parts());
    signer.sign(&mut a, b"{}").unwrap();
    signer.sign(&mut b, b"{}").unwrap();
    let salt = a.headers["x-salt"].to_str().unwrap();
    assert_eq!(salt.len(), 64);
    assert!(salt.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a.headers["x-salt"], b.headers["x-salt"]);
    assert_eq!(
        a.headers["x-hmac-sha256-signature"],
        inqud::signature(&secret, b"{}", salt).as_str()
    );

    let simple = inqud::InqudSigner::simple("TKN-1", secret).unwrap();
    assert!(!simple.signs_body());
    let mut p = parts();
    simple.sign(&mut p, b"").unwrap();
    assert_eq!(p.headers["x-token-api-secret"], "token secret");
    assert!(p.headers["x-token-api-secret"].is_sensitive());
    assert!(p.headers.get("x-salt").is_none());
}

#[test]
fn proficient_signer_matches_vendor_vectors() {
    let doc = vectors("proficient");
    for v in doc["valid"].as_array().unwrap() {
        let secret = Secret::new(s(&v["secret"])).unwrap();
        let signer =
            proficient::ProficientSigner::new(s(&doc["api_key"]), &secret, s(&v["external_id"]))
                .unwrap();
        let mut p = parts();
        signer.sign(&mut p, b"").unwrap();
        assert_eq!(
            p.headers["x-proficient-user-hmac"],
            s(&v["hmac"]),
            "{}",
            v["name"]
        );
        assert_eq!(p.headers["x-proficient-api-key"], s(&doc["api_key"]));
        assert_eq!(
            p.headers["x-proficient-user-external-id"],
            s(&v["external_id"])
        );
        assert!(!format!("{signer:?}").contains(s(&v["hmac"])));
    }
    let signer = proficient::ProficientSigner::without_hmac("pk_1", "user").unwrap();
    let mut p = parts();
    signer.sign(&mut p, b"").unwrap();
    assert_eq!(p.headers.len(), 2);
}

#[test]
fn spike_exchange_body_matches_vendor_vectors() {
    for v in vectors("spike")["vectors"].as_array().unwrap() {
        let key = Secret::new(s(&v["key"])).unwrap();
        let body: Value = serde_json::from_str(&spike::exchange_body(
            "9999",
            s(&v["application_user_id"]),
            &key,
        ))
        .unwrap();
        assert_eq!(body["signature"], v["signature"], "{}", v["name"]);
        assert_eq!(body["application_user_id"], v["application_user_id"]);
        assert_eq!(body["application_id"], "9999");
    }
    let h = spike::bearer_headers("a.b.c").unwrap();
    assert_eq!(h["authorization"], "Bearer a.b.c");
    assert!(spike::bearer_headers("a\nb").is_err());
}

#[test]
fn header_values_that_cannot_be_sent_are_errors() {
    let secret = Secret::new("x").unwrap();
    let e = humanos::HumanosSigner::new("key\r\n", secret.clone()).unwrap_err();
    assert_eq!(e.kind(), SignErrorKind::InvalidHeader);
    assert_eq!(
        e.to_string(),
        "the value for the Authorization header is not a valid header value"
    );
    assert!(inqud::InqudSigner::hmac("TKN-\n", secret).is_err());
    assert!(proficient::ProficientSigner::without_hmac("pk_1", "a\0b").is_err());
}

/// What the inner client of a SignLayer received: headers and body bytes.
async fn through_layer(
    layer: SignLayer<impl Signer>,
    body: &'static [u8],
) -> Result<(http::HeaderMap, Bytes), tower_hmac::BoxError> {
    let client = ServiceBuilder::new().layer(layer).service(service_fn(
        |req: Request<SignedBody<Full<Bytes>>>| async move {
            let (parts, body) = req.into_parts();
            let bytes = body.collect().await.unwrap().to_bytes();
            Ok::<_, std::convert::Infallible>(Response::new((parts.headers, bytes)))
        },
    ));
    let request = Request::post("/x")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    Ok(client.oneshot(request).await?.into_body())
}

#[tokio::test]
async fn sign_layer_sends_the_bytes_it_signed_and_refuses_bodies_over_its_limit() {
    let secret = Secret::new("s").unwrap();
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_millis(1_700_000_000_000));
    let signer = || {
        humanos::HumanosSigner::new("k", secret.clone())
            .unwrap()
            .clock(clock.clone())
    };
    let (headers, body) = through_layer(SignLayer::new(signer()), b"hello")
        .await
        .unwrap();
    assert_eq!(&body[..], b"hello");
    assert_eq!(
        headers["x-signature"],
        humanos::signature(&secret, 1_700_000_000_000, b"hello").as_str()
    );

    let error = through_layer(SignLayer::new(signer()).body_limit(4), b"hello")
        .await
        .unwrap_err();
    let error = error.downcast_ref::<tower_hmac::sign::SignError>().unwrap();
    assert_eq!(error.kind(), SignErrorKind::BodyTooLarge);

    // A header-only signer leaves a body over the limit alone.
    let proficient = proficient::ProficientSigner::without_hmac("pk_1", "u").unwrap();
    let (_, body) = through_layer(SignLayer::new(proficient).body_limit(1), b"hello")
        .await
        .unwrap();
    assert_eq!(&body[..], b"hello");
}

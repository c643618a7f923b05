//! Strict header readers, the ones every scheme of this crate uses.
//!
//! A credential header is read strictly: exactly once, not empty, not longer than
//! [`MAX_HEADER_LEN`], visible ASCII (inner spaces allowed), trimmed of surrounding spaces and
//! tabs. Anything else is a [`Rejection`] naming the header (401 `missing_credentials` or
//! `malformed_credentials`), never a panic and never a lenient guess.
//!
//! ```
//! use http::{HeaderName, Request};
//! use tower_hmac::pipeline::headers;
//! use tower_hmac::RejectionKind;
//!
//! const X_HUB_SIGNATURE: HeaderName = HeaderName::from_static("x-hub-signature");
//!
//! let parts = Request::post("/").header("x-hub-signature", " sha1=abc ").body(()).unwrap().into_parts().0;
//! assert_eq!(headers::single(&parts, &X_HUB_SIGNATURE, "X-Hub-Signature").unwrap(), "sha1=abc");
//!
//! let parts = Request::post("/").body(()).unwrap().into_parts().0;
//! let refused = headers::single(&parts, &X_HUB_SIGNATURE, "X-Hub-Signature").unwrap_err();
//! assert_eq!(refused.kind(), RejectionKind::MissingCredentials);
//! assert_eq!(refused.message(), "missing X-Hub-Signature header");
//! assert_eq!(headers::optional(&parts, &X_HUB_SIGNATURE, "X-Hub-Signature").unwrap(), None);
//! ```

use http::HeaderName;
use http::request::Parts;

use crate::rejection::Rejection;

/// Longest credential header value accepted. Longer values are malformed, whatever the scheme.
pub const MAX_HEADER_LEN: usize = 8 * 1024;

/// The single value of `name`, trimmed of surrounding spaces and tabs.
///
/// Absent: missing. Repeated, empty, longer than [`MAX_HEADER_LEN`] or not visible ASCII (with
/// inner spaces allowed): malformed.
pub fn single<'a>(
    parts: &'a Parts,
    name: &HeaderName,
    display: &str,
) -> Result<&'a str, Rejection> {
    let mut values = parts.headers.get_all(name).iter();
    let value = values.next().ok_or_else(|| Rejection::missing(display))?;
    if values.next().is_some() {
        return Err(Rejection::malformed(format!(
            "{display} header appears more than once"
        )));
    }
    let bytes = value.as_bytes();
    if bytes.len() > MAX_HEADER_LEN {
        return Err(Rejection::malformed(format!(
            "{display} header is too long"
        )));
    }
    let trimmed = bytes.trim_ascii();
    if trimmed.is_empty() {
        return Err(Rejection::malformed(format!("{display} header is empty")));
    }
    if !trimmed.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(Rejection::malformed(format!(
            "{display} header must be printable ASCII"
        )));
    }
    // Printable ASCII is valid UTF-8.
    std::str::from_utf8(trimmed)
        .map_err(|_| Rejection::malformed(format!("{display} header must be printable ASCII")))
}

/// The value of `name` read as [`single`] does, or `None` when the header is absent. A header
/// that is present must be well-formed.
pub fn optional<'a>(
    parts: &'a Parts,
    name: &HeaderName,
    display: &str,
) -> Result<Option<&'a str>, Rejection> {
    if parts.headers.contains_key(name) {
        single(parts, name, display).map(Some)
    } else {
        Ok(None)
    }
}

/// The token of an `Authorization: Bearer <token>` header, read as [`single`] reads a header and
/// as [`bearer_token`] reads its value; `token` names the token in the refusal of another form
/// ("Authorization header must be `Bearer <api key>`").
pub fn bearer<'a>(parts: &'a Parts, token: &str) -> Result<&'a str, Rejection> {
    let authorization = single(parts, &http::header::AUTHORIZATION, "Authorization")?;
    bearer_token(authorization).ok_or_else(|| {
        Rejection::malformed(format!("Authorization header must be `Bearer <{token}>`"))
    })
}

/// `Bearer <token>`: the scheme word case-insensitively, then one or more spaces, then a token
/// without spaces.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::rejection::RejectionKind;

    fn parts(values: &[&[u8]]) -> Parts {
        let mut req = http::Request::new(());
        for v in values {
            req.headers_mut()
                .append("x-test", HeaderValue::from_bytes(v).unwrap());
        }
        req.into_parts().0
    }

    fn get(values: &[&[u8]]) -> Result<String, Rejection> {
        let p = parts(values);
        single(&p, &HeaderName::from_static("x-test"), "X-Test").map(str::to_owned)
    }

    #[test]
    fn accepts_one_trimmed_value() {
        assert_eq!(get(&[b" \tabc def\t "]).unwrap(), "abc def");
    }

    #[test]
    fn refuses_absent_repeated_empty_long_and_binary() {
        let missing = get(&[]).unwrap_err();
        assert_eq!(missing.kind(), RejectionKind::MissingCredentials);
        assert_eq!(missing.message(), "missing X-Test header");
        for bad in [
            vec![b"a".as_slice(), b"b".as_slice()],
            vec![b"   ".as_slice()],
            vec![&[0xff, 0xfe][..]],
            vec![&[b'a'; MAX_HEADER_LEN + 1][..]],
        ] {
            assert_eq!(
                get(&bad).unwrap_err().kind(),
                RejectionKind::MalformedCredentials
            );
        }
    }

    #[test]
    fn bearer_forms() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer a b"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}

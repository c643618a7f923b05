//! Strict header readers, the ones every scheme of this crate uses.
//!
//! A credential header is read strictly: exactly once, not empty, not longer than
//! [`MAX_HEADER_LEN`], visible ASCII (inner spaces allowed), trimmed of surrounding spaces and
//! tabs. Anything else is a [`Rejection`] naming the header (401 `missing_credentials` or
//! `malformed_credentials`), never a panic and never a lenient guess.
//!
//! What credentials keep of a header for the check can be kept without a copy: [`single_kept`]
//! and [`bearer_kept`] read as [`single`] and [`bearer`] do and answer a [`HeaderText`], which
//! shares the request's bytes.
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

use http::request::Parts;
use http::{HeaderName, HeaderValue};

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
    single_value(parts, name, display).map(|(_, text)| text)
}

/// [`single`], kept as a [`HeaderText`]: for what a scheme's credentials keep of a header
/// without copying it.
pub fn single_kept(
    parts: &Parts,
    name: &HeaderName,
    display: &str,
) -> Result<HeaderText, Rejection> {
    let (value, text) = single_value(parts, name, display)?;
    Ok(HeaderText::within(value, text))
}

/// [`single`], with the value it was read from.
fn single_value<'a>(
    parts: &'a Parts,
    name: &HeaderName,
    display: &str,
) -> Result<(&'a HeaderValue, &'a str), Rejection> {
    optional_value(parts, name, display)?.ok_or_else(|| Rejection::missing(display))
}

/// [`single_value`], or `None` when the header is absent: one lookup of the name either way.
fn optional_value<'a>(
    parts: &'a Parts,
    name: &HeaderName,
    display: &str,
) -> Result<Option<(&'a HeaderValue, &'a str)>, Rejection> {
    let mut values = parts.headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
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
    // Every byte looked at, without stopping at the first bad one: the loop vectorizes, and a
    // well-formed value (the usual case) is read to its end anyway.
    let printable = trimmed
        .iter()
        .fold(true, |printable, b| printable & (0x20..0x7f).contains(b));
    if !printable {
        return Err(Rejection::malformed(format!(
            "{display} header must be printable ASCII"
        )));
    }
    // Printable ASCII is valid UTF-8.
    std::str::from_utf8(trimmed)
        .map(|text| Some((value, text)))
        .map_err(|_| Rejection::malformed(format!("{display} header must be printable ASCII")))
}

/// The value of `name` read as [`single`] does, or `None` when the header is absent. A header
/// that is present must be well-formed.
pub fn optional<'a>(
    parts: &'a Parts,
    name: &HeaderName,
    display: &str,
) -> Result<Option<&'a str>, Rejection> {
    optional_value(parts, name, display).map(|value| value.map(|(_, text)| text))
}

/// The token of an `Authorization: Bearer <token>` header, read as [`single`] reads a header and
/// as [`bearer_token`] reads its value; `token` names the token in the refusal of another form
/// ("Authorization header must be `Bearer <api key>`").
pub fn bearer<'a>(parts: &'a Parts, token: &str) -> Result<&'a str, Rejection> {
    bearer_value(parts, token).map(|(_, text)| text)
}

/// [`bearer`], kept as a [`HeaderText`].
pub fn bearer_kept(parts: &Parts, token: &str) -> Result<HeaderText, Rejection> {
    let (value, text) = bearer_value(parts, token)?;
    Ok(HeaderText::within(value, text))
}

/// [`bearer`], with the `Authorization` value it was read from.
fn bearer_value<'a>(
    parts: &'a Parts,
    token: &str,
) -> Result<(&'a HeaderValue, &'a str), Rejection> {
    let (value, authorization) =
        single_value(parts, &http::header::AUTHORIZATION, "Authorization")?;
    let token = bearer_token(authorization).ok_or_else(|| {
        Rejection::malformed(format!("Authorization header must be `Bearer <{token}>`"))
    })?;
    Ok((value, token))
}

/// `Bearer <token>`: the scheme word case-insensitively, then one or more spaces, then a token
/// without spaces.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// Text a scheme keeps from a header (or part of one) while the request is checked, without
/// copying it: a clone of the request's `HeaderValue`, which shares its bytes, and where the text
/// lies in them. Made by [`single_kept`] and [`bearer_kept`], or from any `&str` (then copied).
///
/// Keep it for the check, not beyond: a value a server parsed shares the buffer the request was
/// read into and keeps all of it alive. What reaches a handler (a caller's identity) is better
/// copied.
///
/// ```
/// use http::Request;
/// use tower_hmac::pipeline::headers::{self, HeaderText};
///
/// let parts = Request::get("/").header("authorization", "Bearer  key-1").body(()).unwrap().into_parts().0;
/// let kept: HeaderText = headers::bearer_kept(&parts, "api key").unwrap();
/// assert_eq!(kept.as_str(), "key-1");
/// assert_eq!(kept.as_bytes(), b"key-1");
/// assert_eq!(HeaderText::from("key-1").as_str(), "key-1");
/// ```
#[derive(Clone)]
pub struct HeaderText(Kept);

#[derive(Clone)]
enum Kept {
    Shared {
        value: HeaderValue,
        start: usize,
        end: usize,
    },
    Copied(Box<str>),
}

impl HeaderText {
    /// `text`, a part of `value`'s bytes (as the readers above return it), kept by sharing them;
    /// copied when it is not such a part.
    fn within(value: &HeaderValue, text: &str) -> Self {
        let bytes = value.as_bytes();
        let start = (text.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
        match start.checked_add(text.len()) {
            Some(end) if end <= bytes.len() && bytes.get(start..end) == Some(text.as_bytes()) => {
                Self(Kept::Shared {
                    value: value.clone(),
                    start,
                    end,
                })
            }
            _ => Self::from(text),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Checked to be these bytes of a `&str` when made: valid UTF-8.
            Kept::Shared { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            Kept::Copied(text) => text,
        }
    }

    /// The text's bytes: what a MAC's message takes, without validating them as UTF-8 again as
    /// [`as_str`](Self::as_str) must.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Kept::Shared { value, start, end } => {
                value.as_bytes().get(*start..*end).unwrap_or_default()
            }
            Kept::Copied(text) => text.as_bytes(),
        }
    }
}

impl From<&str> for HeaderText {
    fn from(text: &str) -> Self {
        Self(Kept::Copied(text.into()))
    }
}

impl From<String> for HeaderText {
    fn from(text: String) -> Self {
        Self(Kept::Copied(text.into_boxed_str()))
    }
}

impl std::ops::Deref for HeaderText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for HeaderText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {

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

    /// Kept text is the trimmed value or the bearer token, shares the request's bytes, and reads
    /// as the text whatever it came from.
    #[test]
    fn kept_text_shares_the_value() {
        let p = parts(&[b"  Bearer   tok-1 "]);
        let name = HeaderName::from_static("x-test");
        let kept = single_kept(&p, &name, "X-Test").unwrap();
        assert_eq!(kept.as_str(), "Bearer   tok-1");
        assert!(matches!(
            kept.0,
            Kept::Shared {
                start: 2,
                end: 16,
                ..
            }
        ));
        let mut p = p;
        let value = p.headers.remove(&name).unwrap();
        p.headers.insert(http::header::AUTHORIZATION, value);
        let token = bearer_kept(&p, "token").unwrap();
        assert_eq!(&*token, "tok-1");
        assert_eq!(format!("{token:?}"), "\"tok-1\"");
        // Text that is not part of the value is copied, not misread.
        let value = HeaderValue::from_static("abc");
        let elsewhere = String::from("abc");
        let copied = HeaderText::within(&value, &elsewhere);
        assert!(matches!(copied.0, Kept::Copied(_)));
        assert_eq!(copied.as_str(), "abc");
        assert_eq!(HeaderText::from(String::from("xyz")).as_str(), "xyz");
        // Refusals are those of the plain readers.
        let refused = single_kept(&parts(&[b""]), &name, "X-Test").unwrap_err();
        assert_eq!(refused.message(), "X-Test header is empty");
    }
}

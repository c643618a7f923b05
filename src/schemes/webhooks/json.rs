//! Reading one field of a JSON body: a timestamp a sender signs inside the body (Linear), the
//! token of a handshake (Zoom).
//!
//! Only the top-level object's keys are looked at; every other value is skipped as it is parsed,
//! without building the document and without requiring its strings to be UTF-8 (a body is
//! verified as raw bytes, and a string holding other bytes is still skipped). A skipped value is
//! walked without recursion, however deep. Invalid JSON, trailing bytes, a top level that is not
//! an object and a field given twice are errors, never panics.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, Visitor};

/// The value of the top-level field `name` of the JSON object `body`, read as a `T`; `None`
/// when the object has no such field.
pub(crate) fn field<'de, T: de::Deserialize<'de>>(
    body: &'de [u8],
    name: &str,
) -> Result<Option<T>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = deserializer.deserialize_map(FieldOf {
        name,
        value: PhantomData,
    })?;
    deserializer.end()?;
    Ok(value)
}

struct FieldOf<'n, T> {
    name: &'n str,
    value: PhantomData<T>,
}

impl<'de, T: de::Deserialize<'de>> Visitor<'de> for FieldOf<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let mut found = None;
        while let Some(is_it) = map.next_key_seed(KeyIs(self.name))? {
            if !is_it {
                map.next_value::<IgnoredAny>()?;
            } else if found.is_some() {
                // JSON.parse keeps the last, other parsers the first: neither is a guess to make.
                return Err(de::Error::custom(format_args!(
                    "the field `{}` is given twice",
                    self.name
                )));
            } else {
                found = Some(map.next_value::<T>()?);
            }
        }
        Ok(found)
    }
}

/// Whether a key is `name` (its escapes decoded; a key that is not UTF-8 is not `name`).
struct KeyIs<'n>(&'n str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        // As bytes: a key holding bytes that are not UTF-8 is another key, not an error.
        deserializer.deserialize_bytes(self)
    }
}

impl Visitor<'_> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<bool, E> {
        Ok(key == self.0.as_bytes())
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(body: &[u8]) -> Result<Option<u64>, serde_json::Error> {
        field::<u64>(body, "webhookTimestamp")
    }

    #[test]
    fn reads_the_top_level_field_only() {
        let body = br#"{"data":{"webhookTimestamp":1},"webhookTimestamp":1763800000000,"x":[1,{"a":"b"}]}"#;
        assert_eq!(stamp(body).unwrap(), Some(1_763_800_000_000));
        assert_eq!(stamp(br#"{"data":{"webhookTimestamp":1}}"#).unwrap(), None);
        assert_eq!(stamp(b" {} ").unwrap(), None);
        // Escapes in a key are decoded, as JSON.parse decodes them.
        assert_eq!(stamp(br#"{"webhook\u0054imestamp":5}"#).unwrap(), Some(5));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_skipped() {
        let mut body = br#"{"data":{"title":""#.to_vec();
        body.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
        body.extend_from_slice(b"\",\"k\xff\":1},\"webhookTimestamp\":7}");
        assert_eq!(stamp(&body).unwrap(), Some(7));
        let mut key = b"{\"webhookTimestamp\xff\":1,\"webhookTimestamp\":2".to_vec();
        key.push(b'}');
        assert_eq!(stamp(&key).unwrap(), Some(2));
    }

    #[test]
    fn refuses_what_is_not_one_integer_field_of_an_object() {
        for body in [
            &b""[..],
            b"hello",
            b"[1]",
            b"1763800000000",
            br#"{"webhookTimestamp":1,"webhookTimestamp":1}"#,
            br#"{"webhookTimestamp":"1763800000000"}"#,
            br#"{"webhookTimestamp":1763800000000.0}"#,
            br#"{"webhookTimestamp":1.7638e12}"#,
            br#"{"webhookTimestamp":-1}"#,
            br#"{"webhookTimestamp":18446744073709551616}"#,
            br#"{"webhookTimestamp":null}"#,
            br#"{"webhookTimestamp":1} x"#,
            br#"{"webhookTimestamp":1"#,
            b"\xef\xbb\xbf{\"webhookTimestamp\":1}",
        ] {
            assert!(stamp(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn deep_nesting_is_skipped_without_recursion() {
        let deep = |n| {
            format!(
                "{{\"a\":{}{},\"webhookTimestamp\":3}}",
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert_eq!(stamp(deep(200_000).as_bytes()).unwrap(), Some(3));
        let unclosed = format!("{{\"a\":{}", "[{\"b\":".repeat(100_000));
        assert!(stamp(unclosed.as_bytes()).is_err());
    }

    #[test]
    fn strings_are_decoded() {
        let body = br#"{"payload":{"plainToken":"a\"b\u00e9"},"event":"endpoint.url_validation"}"#;
        assert_eq!(
            field::<String>(body, "event").unwrap().as_deref(),
            Some("endpoint.url_validation")
        );
        let payload = field::<serde_json::Value>(body, "payload")
            .unwrap()
            .unwrap();
        assert_eq!(payload["plainToken"], "a\"bé");
    }
}

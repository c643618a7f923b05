//! The committed seed corpus: a handful of inputs per target, as the bytes libFuzzer hands the
//! target (`arbitrary` decodes them back into exactly these inputs).
//!
//! Each target gets requests the harness signs (accepted, and refused for the key, the timestamp
//! or the mode), malformed credentials, a body over the limit where the layer reads one, and a
//! forgery: the right MAC (Spike: also the right token) with only its last byte changed, which
//! only a compare that stops early would accept. They start the fuzzer in the interesting places,
//! and `cargo test` (`tests/fuzz_corpus.rs` in the crate) replays them through the targets'
//! checks on every run.
//!
//! The files are `corpus/<target>/seed-<name>`; regenerate them after changing an input type with
//! `UPDATE_FUZZ_SEEDS=1 cargo test --test fuzz_corpus committed_seeds` in the crate.

use tower_hmac::crypto::Tag;
use tower_hmac::spike::sign_user;
use tower_hmac::{Secret, humanos as humanos_scheme, inqud as inqud_scheme, proficient as pro};

use super::spike::{BearerInput, BodyInput, SpikeInput};
use super::{BODY_LIMIT, EXTRA, Input, METHODS, NOW_MS, SECRET, Signed, decode};

/// One seed file.
#[derive(Debug)]
pub struct Seed {
    /// The fuzz target (a directory of `corpus/`).
    pub target: &'static str,
    /// The file name: `seed-` and what it holds.
    pub file: String,
    /// The bytes libFuzzer reads.
    pub bytes: Vec<u8>,
    /// The input they encode, as `Debug` prints it.
    pub input: String,
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    humanos(&mut seeds);
    inqud(&mut seeds);
    proficient(&mut seeds);
    spike(&mut seeds);
    ed25519(&mut seeds);
    seeds
}

/// How `bytes` decode for `target`, as `Debug` prints it; `None` if they do not decode.
pub fn decoded(target: &str, bytes: &[u8]) -> Option<String> {
    match target {
        "spike" => decode::<SpikeInput>(bytes).map(|input| format!("{input:?}")),
        _ => decode::<Input>(bytes).map(|input| format!("{input:?}")),
    }
}

fn push<T: Encode + std::fmt::Debug>(
    seeds: &mut Vec<Seed>,
    target: &'static str,
    name: &str,
    input: T,
) {
    let mut bytes = Vec::new();
    input.encode(&mut bytes);
    seeds.push(Seed {
        target,
        file: format!("seed-{name}"),
        bytes,
        input: format!("{input:?}"),
    });
}

fn secret() -> Secret {
    Secret::new(SECRET).unwrap()
}

fn method(name: &str) -> u8 {
    let i = METHODS.iter().position(|m| m.as_str() == name).unwrap();
    u8::try_from(i).unwrap()
}

/// A header the fuzzer sets: the index of `name` in `names` then [`EXTRA`], and the value.
fn header(names: &[&str], name: &str, value: impl Into<Vec<u8>>) -> (u8, Vec<u8>) {
    let i = names
        .iter()
        .chain(EXTRA.iter())
        .position(|n| *n == name)
        .unwrap_or_else(|| panic!("{name} is not a header the harness sets"));
    (u8::try_from(i).unwrap(), value.into())
}

fn key(keys: &[&str], id: &str) -> u8 {
    u8::try_from(keys.iter().position(|k| *k == id).unwrap()).unwrap()
}

fn signed(key: u8, offset_ms: i32, text: &str, variant: u8) -> Option<Signed> {
    Some(Signed {
        key,
        offset_ms,
        text: text.into(),
        variant,
    })
}

/// A body one byte over the harness's limit.
fn oversized() -> Vec<u8> {
    vec![b'x'; BODY_LIMIT + 1]
}

/// `tag` with its last byte changed.
fn last_byte_changed(tag: Tag) -> Tag {
    let mut bytes: [u8; 32] = tag.as_bytes().try_into().expect("an HMAC-SHA256 tag");
    bytes[31] ^= 0x01;
    Tag::from_bytes(bytes)
}

fn humanos(seeds: &mut Vec<Seed>) {
    use super::humanos::{KEYS, NAMES};
    let live = key(&KEYS, "KEY_LIVE");
    let body = br#"{"amount":1}"#.to_vec();
    let mut add = |name: &str, input: Input| push(seeds, "humanos", name, input);
    add(
        "signed-post",
        Input {
            method: method("POST"),
            signed: signed(live, 0, "", 0),
            headers: vec![header(&NAMES, "content-type", "application/json")],
            body: body.clone(),
        },
    );
    add(
        "signed-get-upper-hex-edge-of-window",
        Input {
            method: method("GET"),
            signed: signed(live, -300_000, "", 1),
            headers: vec![],
            body: vec![],
        },
    );
    add(
        "signed-outside-window-and-revoked-key",
        Input {
            method: method("POST"),
            signed: signed(key(&KEYS, "KEY_REVOKED"), 300_001, "", 0),
            headers: vec![],
            body: body.clone(),
        },
    );
    add(
        "malformed-headers",
        Input {
            method: method("PUT"),
            signed: None,
            headers: vec![
                header(&NAMES, "authorization", "Basic S0VZX0xJVkU6"),
                header(&NAMES, "x-timestamp", "1763800000"),
                header(&NAMES, "x-timestamp", "-1"),
                header(&NAMES, "x-signature", "zz"),
                header(&NAMES, "x-signature", vec![0xff, 0x80]),
                header(&NAMES, "content-length", "99999999999999999999999"),
            ],
            body: b"{}".to_vec(),
        },
    );
    add(
        "grpc-signed-with-extra-signature",
        Input {
            method: method("POST"),
            signed: signed(live, 1, "", 0),
            headers: vec![
                header(&NAMES, "content-type", "application/grpc"),
                header(&NAMES, "x-signature", "00"),
            ],
            body: b"\0\0\0\0\0".to_vec(),
        },
    );
    add(
        "signed-oversized-body",
        Input {
            method: method("POST"),
            signed: signed(live, 0, "", 0),
            headers: vec![],
            body: oversized(),
        },
    );
    let right = humanos_scheme::signature(&secret(), NOW_MS, &body);
    let forged = last_byte_changed(Tag::from_hex(right.as_bytes()).unwrap());
    add(
        "forged-last-byte",
        Input {
            method: method("POST"),
            signed: None,
            headers: vec![
                header(&NAMES, "authorization", "Bearer KEY_LIVE"),
                header(&NAMES, "x-timestamp", NOW_MS.to_string()),
                header(&NAMES, "x-signature", forged.to_hex()),
            ],
            body,
        },
    );
}

fn inqud(seeds: &mut Vec<Seed>) {
    use super::inqud::{KEYS, NAMES};
    let live = key(&KEYS, "TKN-live");
    let body = br#"{"amount": 50, "currency": "USD"}"#.to_vec();
    let mut add = |name: &str, input: Input| push(seeds, "inqud", name, input);
    add(
        "hmac-post",
        Input {
            method: method("POST"),
            signed: signed(live, 0, "5f2b8e0c91d34a7f", 0),
            headers: vec![header(&NAMES, "content-type", "application/json")],
            body: body.clone(),
        },
    );
    add(
        "simple-get",
        Input {
            method: method("GET"),
            signed: signed(live, 0, "", 1),
            headers: vec![],
            body: vec![],
        },
    );
    add(
        "hmac-upper-hex-on-a-simple-only-token",
        Input {
            method: method("POST"),
            signed: signed(key(&KEYS, "TKN-simple-only"), 0, "salt-2", 2),
            headers: vec![],
            body: b"a=1".to_vec(),
        },
    );
    add(
        "both-modes-and-malformed-salts",
        Input {
            method: method("DELETE"),
            signed: None,
            headers: vec![
                header(&NAMES, "x-token-api-id", "TKN-live"),
                header(&NAMES, "x-token-api-secret", SECRET),
                header(&NAMES, "x-hmac-sha256-signature", "0".repeat(64)),
                header(&NAMES, "x-salt", "salt with spaces"),
                header(&NAMES, "x-salt", ""),
            ],
            body: vec![],
        },
    );
    add(
        "hmac-oversized-body",
        Input {
            method: method("POST"),
            signed: signed(live, 0, "salt-big", 0),
            headers: vec![],
            body: oversized(),
        },
    );
    let salt = "salt-forged";
    let right = inqud_scheme::signature(&secret(), &body, salt);
    let forged = last_byte_changed(Tag::from_hex(right.as_bytes()).unwrap());
    add(
        "forged-last-byte",
        Input {
            method: method("POST"),
            signed: None,
            headers: vec![
                header(&NAMES, "x-token-api-id", "TKN-live"),
                header(&NAMES, "x-hmac-sha256-signature", forged.to_hex()),
                header(&NAMES, "x-salt", salt),
            ],
            body,
        },
    );
}

fn proficient(seeds: &mut Vec<Seed>) {
    use super::proficient::{KEYS, NAMES};
    let required = key(&KEYS, "pk_required");
    let mut add = |name: &str, input: Input| push(seeds, "proficient", name, input);
    add(
        "required-signed",
        Input {
            method: method("GET"),
            signed: signed(required, 0, "user-42", 0),
            headers: vec![],
            body: vec![],
        },
    );
    add(
        "optional-unsigned-with-a-body",
        Input {
            method: method("POST"),
            signed: signed(key(&KEYS, "pk_optional"), 0, "user-42", 1),
            headers: vec![],
            body: oversized(),
        },
    );
    add(
        "revoked-signed",
        Input {
            method: method("GET"),
            signed: signed(key(&KEYS, "pk_revoked"), 0, "user-42", 0),
            headers: vec![],
            body: vec![],
        },
    );
    add(
        "malformed-headers",
        Input {
            method: method("GET"),
            signed: None,
            headers: vec![
                header(&NAMES, "x-proficient-api-key", "hsec_leaked"),
                header(&NAMES, "x-proficient-user-external-id", " padded "),
                header(&NAMES, "x-proficient-user-hmac", "not base64!"),
                header(&NAMES, "x-proficient-user-hmac", "AAAA"),
            ],
            body: vec![],
        },
    );
    let right = pro::user_hmac(&secret(), "user-42");
    let forged = last_byte_changed(Tag::from_base64(right.as_bytes()).unwrap());
    add(
        "forged-last-byte",
        Input {
            method: method("GET"),
            signed: None,
            headers: vec![
                header(&NAMES, "x-proficient-api-key", "pk_required"),
                header(&NAMES, "x-proficient-user-external-id", "user-42"),
                header(&NAMES, "x-proficient-user-hmac", forged.to_base64()),
            ],
            body: vec![],
        },
    );
}

fn spike(seeds: &mut Vec<Seed>) {
    let mut add = |name: &str, input: SpikeInput| push(seeds, "spike", name, input);
    let signed = |user: &str, app_as_number, upper, extra: &str| BodyInput::Signed {
        user: user.into(),
        app_as_number,
        upper,
        extra: extra.into(),
    };
    add(
        "exchange-then-token",
        SpikeInput {
            body: signed("user-123", true, false, ""),
            bearer: BearerInput::Issued { at: 0, mask: 0 },
        },
    );
    add(
        "string-app-upper-hex-then-changed-token",
        SpikeInput {
            body: signed("alice", false, true, ""),
            bearer: BearerInput::Issued { at: 60, mask: 1 },
        },
    );
    add(
        "extra-field-and-user-id-too-long",
        SpikeInput {
            body: signed(&"u".repeat(129), true, false, r#", "unknown": 1"#),
            bearer: BearerInput::Raw(b"Bearer ".to_vec()),
        },
    );
    add(
        "malformed-body-and-bearer",
        SpikeInput {
            body: BodyInput::Raw(
                br#"{"application_id": -1, "application_user_id": "", "signature": "zz""#.to_vec(),
            ),
            bearer: BearerInput::Raw(b"Basic YWxpY2U6".to_vec()),
        },
    );
    let right = sign_user(&secret(), "alice");
    let forged = last_byte_changed(Tag::from_hex(right.as_bytes()).unwrap());
    let body = format!(
        r#"{{"application_id": 9999, "application_user_id": "alice", "signature": "{}"}}"#,
        forged.to_hex()
    );
    // The token's HS256 signature is its last segment, unpadded base64url: its last character
    // holds the last byte's low four bits and two zero bits. Another character with zero low
    // bits changes only the last byte, and keeps the encoding canonical.
    let value = format!("Bearer {}", super::spike::issued_token("alice"));
    let last = value.len() - 1;
    let digit = BASE64URL
        .iter()
        .position(|c| *c == value.as_bytes()[last])
        .unwrap();
    assert_eq!(digit & 0b11, 0, "canonical base64url");
    let mask = value.as_bytes()[last] ^ BASE64URL[digit ^ 0b100];
    add(
        "forged-exchange-last-byte",
        SpikeInput {
            body: BodyInput::Raw(body.into_bytes()),
            bearer: BearerInput::Raw(Vec::new()),
        },
    );
    add(
        "forged-token-last-byte",
        SpikeInput {
            body: signed("alice", true, false, ""),
            bearer: BearerInput::Issued {
                at: u16::try_from(last).unwrap(),
                mask,
            },
        },
    );
}

fn ed25519(seeds: &mut Vec<Seed>) {
    use super::ed25519::{KEYS, NAMES, private_key};
    let live = key(&KEYS, "public-key-live");
    let body = br#"{"type":2,"data":{"name":"ping"}}"#.to_vec();
    let mut add = |name: &str, input: Input| push(seeds, "ed25519", name, input);
    // Variant bit 0: Discord; bit 1: upper-case hex (Discord) or a wrong v1a first (Standard);
    // bit 2: a leading zero on the timestamp (Discord) or a v1 beside the v1a (Standard).
    add(
        "discord-signed",
        Input {
            method: method("POST"),
            signed: signed(live, 0, "", 1),
            headers: vec![header(&NAMES, "content-type", "application/json")],
            body: body.clone(),
        },
    );
    add(
        "discord-signed-ping-upper-hex-leading-zero",
        Input {
            method: method("POST"),
            signed: signed(live, -300_000, "", 7),
            headers: vec![],
            body: br#"{"type":1}"#.to_vec(),
        },
    );
    add(
        "standard-v1a-after-a-wrong-one",
        Input {
            method: method("POST"),
            signed: signed(live, 299_000, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 2),
            headers: vec![],
            body: body.clone(),
        },
    );
    add(
        "standard-v1-and-v1a-under-a-secret",
        Input {
            method: method("POST"),
            signed: signed(key(&KEYS, "secret-only"), 0, "msg_1", 4),
            headers: vec![],
            body: body.clone(),
        },
    );
    add(
        "standard-v1a-under-a-secret-and-a-stray-discord-header",
        Input {
            method: method("POST"),
            signed: signed(key(&KEYS, "secret-only"), 0, "msg_1", 0),
            headers: vec![header(&NAMES, "x-signature-timestamp", NOW_MS.to_string())],
            body: body.clone(),
        },
    );
    add(
        "signed-outside-window-and-retired-key",
        Input {
            method: method("POST"),
            signed: signed(key(&KEYS, "public-key-retired"), 301_000, "msg_2", 1),
            headers: vec![],
            body: body.clone(),
        },
    );
    add(
        "signed-oversized-body",
        Input {
            method: method("POST"),
            signed: signed(live, 0, "msg_3", 0),
            headers: vec![],
            body: oversized(),
        },
    );
    add(
        "malformed-headers",
        Input {
            method: method("PUT"),
            signed: None,
            headers: vec![
                header(&NAMES, "x-signature-ed25519", "0g"),
                header(&NAMES, "x-signature-timestamp", "-1"),
                header(&NAMES, "webhook-id", "msg a"),
                header(&NAMES, "webhook-timestamp", "1763800000.5"),
                header(&NAMES, "webhook-signature", "v1a, v1a,AAAA= v1,"),
                header(&NAMES, "svix-signature", vec![0xff, 0x80]),
            ],
            body: b"{}".to_vec(),
        },
    );
    // The right signatures with their last byte changed (in S), which only a verification that
    // stops early, or a lenient one, would accept.
    let ts = (NOW_MS / 1000).to_string();
    let mut right = private_key()
        .sign(&[ts.as_bytes(), &body].concat())
        .as_bytes()
        .to_vec();
    right[63] ^= 0x01;
    let forged: String = right.iter().map(|b| format!("{b:02x}")).collect();
    let v1a = format!(
        "v1a,{}",
        tower_hmac::standard::signature_v1a(&private_key(), "msg_4", NOW_MS / 1000, &body)
    );
    let mut v1a_forged = v1a.clone().into_bytes();
    // The last character before "==" carries two bits of the last byte: flip one of them.
    let last = v1a_forged.len() - 3;
    v1a_forged[last] = match v1a_forged[last] {
        b'A' => b'Q',
        b'Q' => b'A',
        b'g' => b'w',
        _ => b'g',
    };
    add(
        "forged-last-byte",
        Input {
            method: method("POST"),
            signed: None,
            headers: vec![
                header(&NAMES, "x-signature-ed25519", forged),
                header(&NAMES, "x-signature-timestamp", ts.clone()),
                header(&NAMES, "webhook-id", "msg_4"),
                header(&NAMES, "webhook-timestamp", ts),
                header(&NAMES, "webhook-signature", v1a_forged),
            ],
            body,
        },
    );
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Writes a value as the bytes `arbitrary` (1.x) decodes back into it: integers little-endian,
/// `bool` and `Option` as one byte (0 or 1) before the value, each element of a `Vec` after a 1
/// byte and a 0 byte after the last, an enum variant as the `u32` whose share of the range picks
/// it, then its fields. The seed test decodes every seed and compares, so a change of that format
/// is noticed.
trait Encode {
    fn encode(&self, out: &mut Vec<u8>);
}

impl Encode for u8 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
}

impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Encode for u16 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend(self.to_le_bytes());
    }
}

impl Encode for i32 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend(self.to_le_bytes());
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.is_some().encode(out);
        if let Some(value) = self {
            value.encode(out);
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        for item in self {
            true.encode(out);
            item.encode(out);
        }
        false.encode(out);
    }
}

impl<A: Encode, B: Encode> Encode for (A, B) {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
        self.1.encode(out);
    }
}

/// The variant `index` of an enum with `count` variants.
fn variant(index: u32, count: u32, out: &mut Vec<u8>) {
    let share = (u64::from(index) << 32).div_ceil(u64::from(count));
    out.extend(u32::try_from(share).unwrap().to_le_bytes());
}

impl Encode for Input {
    fn encode(&self, out: &mut Vec<u8>) {
        self.method.encode(out);
        self.signed.encode(out);
        self.headers.encode(out);
        self.body.encode(out);
    }
}

impl Encode for Signed {
    fn encode(&self, out: &mut Vec<u8>) {
        self.key.encode(out);
        self.offset_ms.encode(out);
        self.text.encode(out);
        self.variant.encode(out);
    }
}

impl Encode for SpikeInput {
    fn encode(&self, out: &mut Vec<u8>) {
        self.body.encode(out);
        self.bearer.encode(out);
    }
}

impl Encode for BodyInput {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            BodyInput::Raw(bytes) => {
                variant(0, 2, out);
                bytes.encode(out);
            }
            BodyInput::Signed {
                user,
                app_as_number,
                upper,
                extra,
            } => {
                variant(1, 2, out);
                user.encode(out);
                app_as_number.encode(out);
                upper.encode(out);
                extra.encode(out);
            }
        }
    }
}

impl Encode for BearerInput {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            BearerInput::Raw(bytes) => {
                variant(0, 2, out);
                bytes.encode(out);
            }
            BearerInput::Issued { at, mask } => {
                variant(1, 2, out);
                at.encode(out);
                mask.encode(out);
            }
        }
    }
}

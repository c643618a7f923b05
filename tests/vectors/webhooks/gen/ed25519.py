"""Writes discord.json and standard-ed25519.json: Ed25519 webhook vectors signed with PyNaCl
(libsodium) with RFC 8032's test keys, each checked with PyNaCl's VerifyKey.verify.
gen/ed25519_node.mjs then re-signs them with Node's crypto (Ed25519 is deterministic: the bytes
must be the same) and adds what Node's crypto.verify and Discord's own discord-interactions
(verifyKey) answer.

Discord signs "{X-Signature-Timestamp}{body}" (X-Signature-Ed25519, hex); Standard Webhooks v1a
signs "{webhook-id}.{webhook-timestamp}.{body}" (webhook-signature: v1a,<base64>). No published
Standard Webhooks library verifies v1a, so its vectors come from the specification's rule alone.

The non-canonical signatures are made from outside the crate too: S + L with Python integers,
and a signature whose R is the identity point (a point of small order) with libsodium's scalar
arithmetic (nacl.bindings): S = k * a, so [S]B - [k]A is the identity and a cofactorless
verifier that does not refuse small-order R accepts it; verify_strict refuses it.

`vectors` are requests a handler receives once verified (or refusals); Discord's `handshakes`
are PINGs, answered by the receiver itself once the signature verified.

Run from tests/vectors/webhooks (after `npm ci` and
`python3 -m venv .venv && .venv/bin/pip install -r requirements.txt`):
    .venv/bin/python gen/ed25519.py && node gen/ed25519_node.mjs
"""
import base64
import hashlib
import hmac
import json
import os
import platform
from importlib.metadata import version

from nacl import bindings
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

HERE = os.path.dirname(os.path.abspath(__file__))
COMMAND = "cd tests/vectors/webhooks && .venv/bin/python gen/ed25519.py && node gen/ed25519_node.mjs"
PYNACL = f"PyNaCl=={version('PyNaCl')}"

# RFC 8032, section 7.1: TEST 1 (the demo key) and TEST 2 (a wrong key, or the old key of a rotation).
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
OTHER_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
PUBLIC = bytes(SigningKey(SEED).verify_key)
assert PUBLIC.hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
# RFC 8032 TEST 1's signature of the empty message: the signer is the RFC's.
assert SigningKey(SEED).sign(b"").signature.hex().startswith("e5564300c360ac72")
WHPK = "whpk_" + base64.b64encode(PUBLIC).decode()
WHSK = "whsk_" + base64.b64encode(SEED).decode()
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
T = 1763800000
L = 2**252 + 27742317777372353535851937790883648493


def sign(message: bytes, seed=SEED) -> bytes:
    return SigningKey(seed).sign(message).signature


def malleable(signature: bytes) -> bytes:
    """The same signature with S + L: the point equation still holds, S is not reduced."""
    s = int.from_bytes(signature[32:], "little") + L
    return signature[:32] + s.to_bytes(32, "little")


def small_order_r(message: bytes, seed=SEED) -> bytes:
    """R = the identity point (order 1), S = k * a mod L, k = SHA-512(R || A || M): valid for a
    cofactorless verifier that accepts small-order R, refused by strict verification."""
    h = hashlib.sha512(seed).digest()
    a = bytearray(h[:32])
    a[0] &= 248
    a[31] &= 127
    a[31] |= 64
    a = bindings.crypto_core_ed25519_scalar_reduce(bytes(a) + bytes(32))
    public = bytes(SigningKey(seed).verify_key)
    r = (1).to_bytes(32, "little")
    k = bindings.crypto_core_ed25519_scalar_reduce(hashlib.sha512(r + public + message).digest())
    return r + bindings.crypto_core_ed25519_scalar_mul(k, a)


def pynacl_verify(message: bytes, signature: bytes):
    try:
        VerifyKey(PUBLIC).verify(message, signature)
        return {"returned": True}
    except BadSignatureError as e:
        return {"threw": f"BadSignatureError: {e}"}
    except Exception as e:  # record exactly what the library raised
        return {"threw": f"{type(e).__name__}: {e}"}


def body_fields(body: bytes) -> dict:
    try:
        utf8 = body.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    return {"body_utf8": utf8, "body_hex": body.hex(), "body_is_valid_utf8": utf8 is not None}


def write(name: str, doc: dict):
    doc["python"] = platform.python_version()
    with open(os.path.join(HERE, "..", name), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote", name, len(doc["vectors"]), "vectors")


# --------------------------------------------------------------------------------------------
# Discord

PING = b'{"application_id":"1234567890","id":"987654321","token":"aW50ZXJhY3Rpb24","type":1,"user":{"id":"111"},"version":1}'
COMMAND_BODY = b'{"application_id":"1234567890","id":"987654322","token":"aW50ZXJhY3Rpb24","type":2,"data":{"id":"5","name":"ping","type":1},"version":1}'


def discord(name, kind, expected, body, ts, signature, made_by, now=T, signed=None, note=None, headers=None):
    """A Discord request: `signature` is the X-Signature-Ed25519 text (None: header absent)."""
    if headers is None:
        headers = {}
        if signature is not None:
            headers["X-Signature-Ed25519"] = signature
        if ts is not None:
            headers["X-Signature-Timestamp"] = ts
    message = (ts or "").encode() + body
    try:
        presented = bytes.fromhex(signature or "")
        result = pynacl_verify(message, presented) if signature else {"threw": "no signature"}
    except ValueError as e:
        result = {"threw": f"bytes.fromhex: {e}"}
    vector = {
        "name": name,
        "kind": kind,
        "expected": expected,
        "secret": PUBLIC.hex(),
        **body_fields(body),
        "now": now,
        "headers": headers,
        "signed_message_hex": (signed if signed is not None else message).hex(),
        "made_by": made_by,
        "sdk_verify_pynacl": {
            "call": f"{PYNACL} VerifyKey(public).verify(timestamp + body, bytes.fromhex(signature))",
            **result,
        },
    }
    if note:
        vector["note"] = note
    return vector


def discord_vectors():
    ts = str(T)
    good = lambda body, t=ts, seed=SEED: sign(t.encode() + body, seed).hex()  # noqa: E731
    unicode_body = '{"type":2,"data":{"name":"café ✓ 😀"}}'.encode()
    non_utf8 = b'{"type":2,"x":"\xff\xfe\xc3("}'
    sig = good(COMMAND_BODY)
    vectors = [
        discord("application_command", "positive", "valid", COMMAND_BODY, ts, sig,
                "PyNaCl SigningKey(RFC 8032 TEST 1).sign(timestamp + body)"),
        discord("unicode_body", "positive", "valid", unicode_body, ts, good(unicode_body),
                "signed over the UTF-8 bytes"),
        discord("empty_body", "positive", "valid", b"", ts, good(b""), "the timestamp alone is signed"),
        discord("non_utf8_body", "positive", "valid", non_utf8, ts, good(non_utf8),
                "signed over bytes that are not UTF-8"),
        discord("uppercase_hex", "positive", "valid (hex is case-insensitive)", COMMAND_BODY, ts, sig.upper(),
                "the signature in upper-case hex"),
        discord("timestamp_leading_zero", "positive", "valid: the timestamp is signed as sent", COMMAND_BODY,
                "0" + ts, good(COMMAND_BODY, "0" + ts), "signed over '0' + timestamp, sent as such"),
        discord("ts_300s_old_ok", "positive", "valid (edge of the 300 s window)", COMMAND_BODY, ts, sig,
                "now = t + 300", now=T + 300),
        discord("ts_300s_future_ok", "positive", "valid (edge of the 300 s window)", COMMAND_BODY, ts, sig,
                "now = t - 300", now=T - 300),
        discord("neg_ts_301s_old", "negative", "outside the 300 s window (Discord documents none)", COMMAND_BODY,
                ts, sig, "now = t + 301", now=T + 301),
        discord("neg_ts_301s_future", "negative", "outside the 300 s window", COMMAND_BODY, ts, sig,
                "now = t - 301", now=T - 301),
        discord("neg_one_day_old", "negative", "a day old: verifyKey checks no time and accepts", COMMAND_BODY,
                str(T - 86400), good(COMMAND_BODY, str(T - 86400)), "signed a day before now"),
        discord("neg_tampered_body", "negative", "invalid", COMMAND_BODY.replace(b'"ping"', b'"pong"'), ts, sig,
                "the application_command signature, body changed", signed=ts.encode() + COMMAND_BODY),
        discord("neg_tampered_timestamp", "negative", "invalid", COMMAND_BODY, str(T + 1), sig,
                "the application_command signature, timestamp + 1", signed=ts.encode() + COMMAND_BODY),
        discord("neg_body_only_signed", "negative", "invalid", COMMAND_BODY, ts, sign(COMMAND_BODY).hex(),
                "signed over the body without the timestamp", signed=COMMAND_BODY),
        discord("neg_wrong_key", "negative", "invalid", COMMAND_BODY, ts, good(COMMAND_BODY, ts, OTHER_SEED),
                "signed with RFC 8032 TEST 2's key"),
        discord("neg_truncated_signature", "negative", "malformed", COMMAND_BODY, ts, sig[:64],
                "the first 32 bytes of the signature"),
        discord("neg_empty_signature", "negative", "malformed", COMMAND_BODY, ts, "", "X-Signature-Ed25519: (empty)"),
        discord("neg_odd_length_hex", "negative", "malformed", COMMAND_BODY, ts, sig + "0", "one more hex digit"),
        discord("neg_non_hex_character", "negative", "malformed (verifyKey's parseInt reads '0g' as 0)",
                COMMAND_BODY, ts, non_hex(sig), "a '0' digit of the signature followed by 'g' in place of its pair"),
        discord("neg_malleable_s_plus_l", "negative", "invalid under strict verification", COMMAND_BODY, ts,
                malleable(bytes.fromhex(sig)).hex(), "the application_command signature with S + L"),
        discord("neg_small_order_r", "negative", "invalid under strict verification", COMMAND_BODY, ts,
                small_order_r(ts.encode() + COMMAND_BODY).hex(),
                "R = identity, S = k * a (libsodium scalar arithmetic): only the key's holder can make it"),
        discord("neg_timestamp_not_digits", "negative", "malformed: the window needs unix seconds",
                COMMAND_BODY, ts + ".5", good(COMMAND_BODY, ts + ".5"), "signed over '1763800000.5'"),
        discord("neg_missing_signature", "negative", "missing", COMMAND_BODY, ts, None, "no X-Signature-Ed25519"),
        discord("neg_missing_timestamp", "negative", "missing", COMMAND_BODY, None, sig, "no X-Signature-Timestamp"),
    ]
    handshakes = [
        discord("ping", "positive", "signed PING: answered by the receiver itself", PING, ts, good(PING),
                "PyNaCl SigningKey(RFC 8032 TEST 1).sign(timestamp + PING)"),
        discord("ping_minimal", "positive", "signed PING: answered by the receiver itself", b'{"type":1}', ts,
                good(b'{"type":1}'), "the smallest PING"),
        discord("neg_ping_unsigned", "negative", "no signature: refused, never answered", PING, ts, None,
                "no X-Signature-Ed25519"),
        discord("neg_ping_wrong_key", "negative", "badly signed: refused, never answered", PING, ts,
                good(PING, ts, OTHER_SEED), "signed with RFC 8032 TEST 2's key"),
        discord("neg_ping_stale", "negative", "signed, 301 s old: refused, never answered", PING, ts, good(PING),
                "now = t + 301", now=T + 301),
    ]
    for h in handshakes:
        h["expected_response"] = (
            {"status": 200, "content_type": "application/json", "body": '{"type":1}'}
            if h["kind"] == "positive" else {"status": 401}
        )
    return vectors, handshakes


def non_hex(sig: str) -> str:
    """Replaces the first byte written '0x' (x a hex digit) by 'xg': parseInt('xg', 16) == x,
    so discord-interactions decodes the genuine byte; any strict decoder refuses it."""
    for i in range(0, len(sig), 2):
        if sig[i] == "0":
            return sig[:i] + sig[i + 1] + "g" + sig[i + 2:]
    raise ValueError("no byte below 0x10 in this signature")


vectors, handshakes = discord_vectors()
write("discord.json", {
    "scheme": "discord",
    "header": "X-Signature-Ed25519: hex(Ed25519 signature); X-Signature-Timestamp: unix seconds",
    "signed_message": "X-Signature-Timestamp (as sent) + raw body, no separator",
    "key": "the application's public key, 64 hex digits (here RFC 8032 section 7.1 TEST 1's)",
    "secret": PUBLIC.hex(),
    "signing_key_hex": SEED.hex(),
    "generator": {"scripts": ["gen/ed25519.py", "gen/ed25519_node.mjs"], "command": COMMAND},
    "packages": [PYNACL],
    "vectors": vectors,
    "handshakes": handshakes,
})


# --------------------------------------------------------------------------------------------
# Standard Webhooks v1a

MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
EVENT = b'{"type":"contact.created","timestamp":"2025-11-22T08:26:40.000000Z","data":{"id":"1f81eb52-5198-4599-803e-771906343485"}}'


def v1a(body, msg_id=MSG_ID, ts=T, seed=SEED) -> str:
    return "v1a," + base64.b64encode(sign(f"{msg_id}.{ts}.".encode() + body, seed)).decode()


def v1(body, msg_id=MSG_ID, ts=T) -> str:
    key = base64.b64decode(WHSEC[len("whsec_"):])
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def standard(name, kind, expected, body, signature, made_by, msg_id=MSG_ID, ts=T, now=T, secret=WHPK,
             signed=None, note=None, names=("webhook-id", "webhook-timestamp", "webhook-signature")):
    headers = {names[0]: msg_id, names[1]: str(ts), names[2]: signature}
    message = f"{msg_id}.{ts}.".encode() + body
    results = []
    for entry in signature.split(" "):
        version_, _, text = entry.partition(",")
        if version_ != "v1a":
            continue
        try:
            results.append(pynacl_verify(message, base64.b64decode(text, validate=True)))
        except Exception as e:  # record exactly what the decoder raised
            results.append({"threw": f"{type(e).__name__}: {e}"})
    vector = {
        "name": name,
        "kind": kind,
        "expected": expected,
        "secret": secret,
        **body_fields(body),
        "now": now,
        "headers": headers,
        "signed_message_hex": (signed if signed is not None else message).hex(),
        "made_by": made_by,
        "sdk_verify_pynacl": {
            "call": f"{PYNACL} VerifyKey(public).verify(id.ts.body, b64decode(each v1a entry))",
            "results": results,
        },
    }
    if note:
        vector["note"] = note
    return vector


def standard_vectors():
    good = v1a(EVENT)
    sig = base64.b64decode(good[4:])
    unicode_body = '{"x":"café ✓ 😀"}'.encode()
    non_utf8 = b'{"x":"\xff\xfe\xc3("}'
    old = v1a(EVENT, seed=OTHER_SEED)
    return [
        standard("json_body", "positive", "valid", EVENT, good, "PyNaCl SigningKey(RFC 8032 TEST 1).sign(id.ts.body)"),
        standard("empty_body", "positive", "valid", b"", v1a(b""), "v1a over 'id.ts.'"),
        standard("non_utf8_body", "positive", "valid", non_utf8, v1a(non_utf8), "v1a over bytes that are not UTF-8"),
        standard("unicode_body", "positive", "valid", unicode_body, v1a(unicode_body), "v1a over UTF-8 bytes"),
        standard("mixed_v1_v1a", "positive", "valid: the v1a entry verifies with the public key", EVENT,
                 v1(EVENT) + " " + good, "'v1,<HMAC with whsec> v1a,<Ed25519>' (dual signing)"),
        standard("mixed_v1_v1a_under_whsec", "positive", "valid: the v1 entry verifies with the secret", EVENT,
                 v1(EVENT) + " " + good, "the same header, the receiver holding the whsec_ secret", secret=WHSEC),
        standard("two_v1a_rotation", "positive", "valid: the second entry verifies", EVENT, old + " " + good,
                 "the old key's (RFC 8032 TEST 2) v1a first, the current key's second"),
        standard("unknown_versions_ignored", "positive", "valid", EVENT, "v2,AAAA " + good + " v1b,xyz",
                 "entries of unknown versions around the v1a"),
        standard("ts_300s_old_ok", "positive", "valid (edge of the window)", EVENT, good, "now = t + 300", now=T + 300),
        standard("ts_300s_future_ok", "positive", "valid (edge of the window)", EVENT, good, "now = t - 300",
                 now=T - 300),
        standard("svix_header_names", "positive", "valid", EVENT, good, "svix-id, svix-timestamp, svix-signature",
                 names=("svix-id", "svix-timestamp", "svix-signature")),
        standard("neg_ts_301s_old", "negative", "outside the window", EVENT, good, "now = t + 301", now=T + 301),
        standard("neg_ts_301s_future", "negative", "outside the window", EVENT, good, "now = t - 301", now=T - 301),
        standard("neg_tampered_body", "negative", "invalid", EVENT.replace(b"contact", b"kontact"), good,
                 "json_body's signature, body changed", signed=f"{MSG_ID}.{T}.".encode() + EVENT),
        standard("neg_tampered_id", "negative", "invalid", EVENT, good, "json_body's signature, webhook-id changed",
                 msg_id="msg_other", signed=f"{MSG_ID}.{T}.".encode() + EVENT),
        standard("neg_tampered_timestamp", "negative", "invalid", EVENT, good,
                 "json_body's signature, timestamp + 1", ts=T + 1, signed=f"{MSG_ID}.{T}.".encode() + EVENT),
        standard("neg_wrong_key", "negative", "invalid", EVENT, old, "signed with RFC 8032 TEST 2's key"),
        standard("neg_v1a_under_whsec", "negative", "invalid: a v1a is never checked with an HMAC secret", EVENT,
                 good, "json_body's v1a, the receiver holding only the whsec_ secret", secret=WHSEC),
        standard("neg_v1_under_whpk", "negative", "invalid: a v1 is never checked with a public key", EVENT,
                 v1(EVENT), "a correct v1 (HMAC with whsec_), the receiver holding only the public key"),
        standard("neg_v1_label_on_ed25519", "negative", "malformed: a v1 is 32 bytes", EVENT, "v1," + good[4:],
                 "the Ed25519 signature labelled v1"),
        standard("neg_truncated_signature", "negative", "malformed", EVENT,
                 "v1a," + base64.b64encode(sig[:32]).decode(), "the first 32 bytes of the signature"),
        standard("neg_empty_signature", "negative", "malformed", EVENT, "v1a,", "'v1a,' with nothing after it"),
        standard("neg_unpadded_base64", "negative", "malformed", EVENT, good.rstrip("="), "padding removed"),
        standard("neg_url_safe_base64", "negative", "malformed", EVENT,
                 "v1a," + base64.urlsafe_b64encode(sig).decode(), "URL-safe alphabet"
                 ) if base64.urlsafe_b64encode(sig) != base64.b64encode(sig) else None,
        standard("neg_five_v1a", "negative", "malformed: at most 4 v1a entries", EVENT, " ".join([old] * 4 + [good]),
                 "four wrong entries, then the right one"),
        standard("neg_malleable_s_plus_l", "negative", "invalid under strict verification", EVENT,
                 "v1a," + base64.b64encode(malleable(sig)).decode(), "json_body's signature with S + L"),
        standard("neg_small_order_r", "negative", "invalid under strict verification", EVENT,
                 "v1a," + base64.b64encode(small_order_r(f"{MSG_ID}.{T}.".encode() + EVENT)).decode(),
                 "R = identity, S = k * a (libsodium scalar arithmetic)"),
    ]


write("standard-ed25519.json", {
    "scheme": "standard-ed25519",
    "header": "webhook-id, webhook-timestamp, webhook-signature: space-separated 'v1a,<base64 Ed25519>' (and 'v1,<base64 HMAC>') entries",
    "signed_message": "webhook-id + '.' + webhook-timestamp + '.' + raw body",
    "key": "whpk_ + base64(public key); the private key whsk_ + base64(32-byte seed) (RFC 8032 section 7.1 TEST 1)",
    "secret": WHPK,
    "signing_key": WHSK,
    "whsec_for_v1_entries": WHSEC,
    "generator": {"scripts": ["gen/ed25519.py", "gen/ed25519_node.mjs"], "command": COMMAND},
    "packages": [PYNACL],
    "vectors": [v for v in standard_vectors() if v is not None],
})

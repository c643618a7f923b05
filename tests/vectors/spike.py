# Computes the Spike test vectors with the vendor's own sign_user (Python hmac/hashlib).
# Run: python3 tests/vectors/spike.py > tests/vectors/spike.json
import base64
import hashlib
import hmac
import json


# Verbatim from the Spike authentication doc.
# Example: sign_user("my_application_user_123")
def sign_user(user_id: str) -> str:
    hmac_key = b"HMAC_KEY_FROM_ADMIN_CONSOLE"
    h = hmac.new(hmac_key, user_id.encode(), hashlib.sha256)
    return h.hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_jwt(key: bytes, header: dict, claims: dict) -> str:
    """A compact HS256 JWS (RFC 7515), computed independently of the crate under test."""
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


user_ids = [
    ("doc example", "my_application_user_123"),
    ("all allowed punctuation", "user-42.a_B"),
    ("128 characters, the longest allowed", "u" * 127 + "9"),
]

vectors = [
    {"name": name, "key": "HMAC_KEY_FROM_ADMIN_CONSOLE", "application_user_id": uid,
     "signature": sign_user(uid)}
    for name, uid in user_ids
]

# User ids the exchange must refuse (400) before any MAC work; their signatures are valid HMACs,
# so a refusal can only come from the id check.
invalid_user_ids = [
    {"name": "empty", "application_user_id": ""},
    {"name": "129 characters", "application_user_id": "u" * 129},
    {"name": "space", "application_user_id": "my user"},
    {"name": "slash", "application_user_id": "a/b"},
    {"name": "at sign", "application_user_id": "user@example.com"},
    {"name": "non-ASCII letter", "application_user_id": "jos\u00e9"},
]
for v in invalid_user_ids:
    v["signature"] = sign_user(v["application_user_id"])

# The doc's example access token: header and payload decoded, to compare claim shapes.
doc_token = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiI5OTk5Iiwic3ViIjoiYXBwbGljYXRpb24tdXN"
             "lci1pZC0xMjMifQ.XnI1y4tkRjdiSeHwUqdmk9em-hTPojtMzbOU30nMd_Y")
head_b64, payload_b64, _ = doc_token.split(".")
pad = lambda s: s + "=" * (-len(s) % 4)

# A known-answer HS256 token: the crate checks its JWT backend against it at start-up.
kat_key = "tower-hmac spike known-answer key, 32+ bytes"
kat = hs256_jwt(kat_key.encode(), {"alg": "HS256", "typ": "JWT"}, {"iss": "kat", "sub": "kat"})

print(json.dumps({
    "generated_by": "python3 tests/vectors/spike.py > tests/vectors/spike.json",
    "vectors": vectors,
    "invalid_user_ids": invalid_user_ids,
    "doc_token": {
        "token": doc_token,
        "header": json.loads(base64.urlsafe_b64decode(pad(head_b64))),
        "payload": json.loads(base64.urlsafe_b64decode(pad(payload_b64))),
    },
    "hs256_known_answer": {"key": kat_key, "iss": "kat", "sub": "kat", "token": kat},
}, indent=2, ensure_ascii=False))

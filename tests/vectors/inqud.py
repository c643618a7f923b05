# Computes the Inqud test vectors with the vendor's own Python signing code (hmac + hashlib).
# Run: python3 tests/vectors/inqud.py > tests/vectors/inqud.json
import hashlib
import hmac
import json

# From the Inqud authentication doc.
token_id = "TKN-6c1296b8-6929-443b-ac06-f732e0e27be1"
token_secret = "dBajIp3wHnw5euxohPiZvsCEorG3Fhl9gsHl1UIBlsImHjWRdSJdp4Gh6e3y2PNs"
# The doc uses secrets.token_hex(32); a fixed value of the same shape keeps the vectors stable.
salt = "5f2b8e0c91d34a7f6e08b1c2d3e4f5a60718293a4b5c6d7e8f90a1b2c3d4e5f6"


def doc_signature(data, salt):
    # Verbatim from the doc's "HmacSHA256 GET/POST example": str body + salt, UTF-8, hex digest.
    data_s = data + salt
    dig = hmac.new(token_secret.encode('utf-8'), msg=data_s.encode('utf-8'),
                   digestmod=hashlib.sha256).digest()
    return dig.hex()


def bytes_signature(body, salt):
    # The same message for a body that is not text: the raw bytes, then the salt.
    return hmac.new(token_secret.encode('utf-8'), msg=body + salt.encode('utf-8'),
                    digestmod=hashlib.sha256).hexdigest()


# The doc's POST example body, serialised exactly as the doc does (json.dumps defaults).
doc_post = json.dumps({"amount": 50, "cardNumber": "5555555555554444", "firstName": "John",
                       "lastName": "Doe", "phoneNumber": "+111111111111",
                       "method": "CC_VISAMC", "currency": "USD"})
non_ascii = {"firstName": "José", "lastName": "Müller", "note": "naïve – 🙂 日本"}
# Sent as raw UTF-8 (what a client using ensure_ascii=False, or another language, sends).
non_ascii_utf8 = json.dumps(non_ascii, ensure_ascii=False)
# json.dumps' default escapes non-ASCII as \uXXXX: the bytes signed are the bytes sent.
non_ascii_escaped = json.dumps(non_ascii)
binary = bytes([0x00, 0xff, 0x80, 0x7f, 0x0a, 0x0d, 0xc3, 0x28, 0xfe, 0x00])


def vector(name, method, body_bytes, signature):
    return {"name": name, "method": method, "token_id": token_id, "secret": token_secret,
            "salt": salt, "body_hex": body_bytes.hex(), "signature": signature}


vectors = [
    vector("doc GET balance, empty body", "GET", b"", doc_signature('', salt)),
    vector("doc POST payout, json.dumps body", "POST", doc_post.encode('utf-8'),
           doc_signature(doc_post, salt)),
    vector("non-ASCII body sent as UTF-8", "POST", non_ascii_utf8.encode('utf-8'),
           doc_signature(non_ascii_utf8, salt)),
    vector("non-ASCII body with json.dumps escapes", "POST", non_ascii_escaped.encode('utf-8'),
           doc_signature(non_ascii_escaped, salt)),
    vector("binary body (not UTF-8)", "POST", binary, bytes_signature(binary, salt)),
]

# Signatures a careless client might compute; the server must refuse each of them.
negative = [
    {"name": "salt before body", "body_hex": doc_post.encode('utf-8').hex(), "salt": salt,
     "signature": doc_signature(salt, doc_post)},
    {"name": "body without salt", "body_hex": doc_post.encode('utf-8').hex(), "salt": salt,
     "signature": doc_signature(doc_post, '')},
    {"name": "GET signed with the salt twice", "body_hex": "", "salt": salt,
     "signature": doc_signature(salt, salt)},
    {"name": "secret as the message, salt as the key", "body_hex": "", "salt": salt,
     "signature": hmac.new(salt.encode('utf-8'), msg=token_secret.encode('utf-8'),
                           digestmod=hashlib.sha256).hexdigest()},
]

print(json.dumps({"generated_by": "python3 tests/vectors/inqud.py > tests/vectors/inqud.json",
                  "token_id": token_id, "secret": token_secret,
                  "vectors": vectors, "negative": negative}, indent=2, ensure_ascii=False))

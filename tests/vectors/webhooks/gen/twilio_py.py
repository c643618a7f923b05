"""Writes twilio.json: Twilio webhook vectors signed by the official Python SDK
(twilio.request_validator.RequestValidator(token).compute_signature) and checked with
RequestValidator.validate; gen/twilio_node.mjs then adds twilio-node's answers
(getExpectedTwilioSignature, validateRequest, validateRequestWithBody).

Run from tests/vectors/webhooks (after `npm ci` and
`python3 -m venv .venv && .venv/bin/pip install -r requirements.txt`):
    .venv/bin/python gen/twilio_py.py && node gen/twilio_node.mjs
"""
import base64
import hashlib
import hmac
import json
import os
import platform
from importlib.metadata import version
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "twilio.json")
COMMAND = "cd tests/vectors/webhooks && .venv/bin/python gen/twilio_py.py && node gen/twilio_node.mjs"
PKG = f"twilio=={version('twilio')}"
TOKEN = "12345"
V = RequestValidator(TOKEN)


class MultiParams(dict):
    """A Django-QueryDict-like container (name -> list of values, getlist()), what a framework
    hands the SDK for a form with repeated names."""

    def __init__(self, pairs):
        super().__init__()
        for k, val in pairs:
            self.setdefault(k, []).append(val)

    def getlist(self, k):
        return self[k]


def data_to_sign(url, pairs, order=None):
    """What both SDKs feed the HMAC: url + for each name sorted, each distinct value sorted: name + value.
    order=None sorts by code point (Python); order='utf16' by UTF-16 code unit (JavaScript)."""
    key = (lambda s: s.encode("utf-16-be")) if order == "utf16" else None
    mp = MultiParams(pairs)
    s = url
    for k in sorted(mp, key=key):
        for val in sorted(set(mp[k]), key=key):
            s += k + val
    return s


def outcome(fn):
    try:
        return {"returned": fn()}
    except Exception as e:  # noqa: BLE001 - the SDK's answer, whatever it is
        return {"raised": f"{type(e).__name__}: {e}"}


def body_fields(b):
    d = {"body_hex": b.hex(), "body_len": len(b)}
    try:
        d["body_utf8"] = b.decode("utf-8")
    except UnicodeDecodeError:
        d["body_utf8"] = None
    return d


vectors = []


def add(name, description, *, url_signed, url_verify=None, method="POST", form=None, body=None,
        params_signed=None, signature=None, data=None, token_signed=TOKEN, algorithm=None,
        expected, note=None, published=None, source=None, extra_headers=None):
    """form: the x-www-form-urlencoded body as sent. body: raw bytes of a JSON delivery.
    params_signed: the (name, value) pairs signed, when not the form's (to build negatives).
    data: the exact string to HMAC-SHA1 with the token, when the SDK cannot produce it."""
    url_verify = url_verify or url_signed
    v = {"name": name, "description": description, "method": method,
         "url_signed": url_signed, "url_verify": url_verify}
    if form is not None:
        pairs = parse_qsl(form, keep_blank_values=True)
        raw = form.encode()
        v["content_type"] = "application/x-www-form-urlencoded"
        v.update(body_fields(raw))
        v["params_wire_order"] = pairs
    else:
        pairs = []
        raw = body if body is not None else b""
        v["content_type"] = "application/json" if body is not None else None
        v.update(body_fields(raw))
        v["params_wire_order"] = []
    sign_pairs = params_signed if params_signed is not None else pairs
    if data is not None:
        signature = base64.b64encode(hmac.new(token_signed.encode(), data.encode(), "sha1").digest()).decode()
        v["signed_with"] = "python hmac.new(token, data_to_sign_utf8, 'sha1'), base64"
    elif signature is None:
        signature = RequestValidator(token_signed).compute_signature(url_signed, MultiParams(sign_pairs), algorithm)
        v["signed_with"] = f"{PKG} RequestValidator(token).compute_signature(url_signed, params)"
    else:
        v["signed_with"] = "given (mangled on purpose)"
    v["signing_token"] = token_signed
    v["verify_token"] = TOKEN
    v["algorithm"] = algorithm or "HMAC_SHA1"
    v["data_to_sign_utf8"] = data if data is not None else data_to_sign(url_signed, sign_pairs)
    v["headers"] = {"X-Twilio-Signature": signature, **(extra_headers or {})}
    v["expected_by_scheme"] = expected
    if published:
        v["published_signature"] = published
        v["published_matches_sdk"] = published == signature
    if source:
        v["source"] = source
    if note:
        v["note"] = note
    v["command"] = COMMAND
    if body is not None:
        try:
            text = raw.decode("utf-8")
            res = outcome(lambda: V.validate(url_verify, text, signature, algorithm))
        except UnicodeDecodeError as e:
            res = {"not_run": f"RequestValidator.validate needs the body as str; bytes.decode('utf-8') raised {e}"}
    else:
        res = outcome(lambda: V.validate(url_verify, MultiParams(pairs), signature, algorithm))
    v["sdk_results"] = {f"{PKG} RequestValidator(token).validate(url_verify, params_or_body_str, sig)": res}
    vectors.append(v)


DOCS = "https://www.twilio.com/docs/usage/webhooks/webhooks-security"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"


def doc_form(num):
    return f"CallSid=CA1234567890ABCDE&Caller=%2B{num}&Digits=1234&From=%2B{num}&To=%2B18005551212"


add("doc_example_current", "Twilio's documented example (Caller/From +14158675310), auth token 12345",
    url_signed=DOC_URL, form=doc_form("14158675310"), expected="valid", published="GvWf1cFY/Q7PnoempGyD5oXAezc=",
    source=DOCS)
add("doc_example_legacy", "the older documentation's example (Caller/From +12349013030)",
    url_signed=DOC_URL, form=doc_form("12349013030"), expected="valid", published="0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
    source="https://www.twilio.com/docs/usage/security")
add("sdk_test_fixture", "the fixture of twilio-python's, twilio-node's and twilio-php's tests (+14158675309)",
    url_signed=DOC_URL, form=doc_form("14158675309"), expected="valid", published="RSOYDt4T1cUTdK1PDd93/VVr8B8=",
    source="twilio-python tests/unit/test_request_validator.py")
FORM = ("To=%2B18005551212&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm%2Fb&Body=Hello+World+%26+%C3%A9+%F0%9F%98%80"
        "&From=%2B14158675310&FromCity=&Tag=zeta&Tag=alpha&Tag=alpha&_x=1&a=2&B=3")
add("form_repeated_unsorted", "unsorted names, a repeated name (Tag) with an exact duplicate pair, a blank value, '+' and %XX decoding, mixed-case names",
    url_signed="https://example.com/twilio/sms", form=FORM, expected="valid",
    note="both SDKs sign each distinct (name, value) once, values sorted within a name; names sorted by code unit ('B' < '_x' < 'a')")
DUP_DATA = ("https://example.com/twilio/smsB3BodyHello World & é 😀From+14158675310FromCityMediaUrl0https://api.twilio.com/m/b"
            "TagalphaTagalphaTagzetaTo+18005551212_x1a2")
add("form_duplicates_not_deduped", "the same form, signed WITHOUT de-duplicating Tag=alpha (Tagalpha twice)",
    url_signed="https://example.com/twilio/sms", form=FORM, expected="invalid", data=DUP_DATA,
    note="the SDKs cannot verify a signature that includes a duplicate pair twice")
add("get_query_only", "GET with its parameters in the query: the URL alone is signed",
    method="GET", url_signed="https://example.com/twilio/voice?CallSid=CA123&From=%2B14158675310&Digits=", expected="valid")
JSON_BODY = b'{"property": "value", "boolean": true}'
add("json_bodySHA256", "JSON delivery: the URL carries bodySHA256 = hex SHA-256 of the raw body; the URL alone is signed",
    url_signed=DOC_URL + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", body=JSON_BODY,
    expected="valid", published="a9nBmqA0ju/hNViExpshrM61xv4=", source="twilio-python and twilio-node tests (bodySHA256 fixture)")
NONUTF8 = b'{"property": "\xff\xfe", "boolean": true}'
add("json_bodySHA256_non_utf8", "bodySHA256 of a body that is not UTF-8",
    url_signed="https://example.com/twilio/json?bodySHA256=" + hashlib.sha256(NONUTF8).hexdigest(), body=NONUTF8, expected="valid")
add("json_bodySHA256_empty", "bodySHA256 of an empty body",
    url_signed="https://example.com/twilio/json?bodySHA256=" + hashlib.sha256(b"").hexdigest(), body=b"", expected="valid")
add("json_body_tampered", "body changed, URL and signature unchanged (bodySHA256 no longer matches)",
    url_signed=DOC_URL + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
    body=b'{"property": "value", "boolean": false}', expected="invalid")
add("json_bodySHA256_uppercase", "bodySHA256 in upper-case hex, signed as sent",
    url_signed="https://example.com/twilio/json?bodySHA256=" + hashlib.sha256(JSON_BODY).hexdigest().upper(), body=JSON_BODY,
    expected="invalid", note="both SDKs compare the lower-case hex digest with the query's text")
PF = "CallSid=CA1&From=%2B14158675310"
add("port_signed_with_443", "signed with https://...:443, the server sees the URL without port",
    url_signed="https://example.com:443/twilio/sms", url_verify="https://example.com/twilio/sms", form=PF, expected="valid")
add("port_verify_with_443", "signed without port, the server's URL has :443",
    url_signed="https://example.com/twilio/sms", url_verify="https://example.com:443/twilio/sms", form=PF, expected="valid")
add("port_http_80", "http, signed with :80, the server sees the URL without port",
    url_signed="http://example.com:80/twilio/sms", url_verify="http://example.com/twilio/sms", form=PF, expected="valid")
add("port_nondefault_stripped", "signed WITHOUT port, the server's URL has the non-default :8443",
    url_signed="https://example.com/twilio/sms", url_verify="https://example.com:8443/twilio/sms", form=PF, expected="valid",
    note="both SDKs' remove-port strips ANY port")
add("port_nondefault_kept", "signed with :8443, the server sees the URL without port",
    url_signed="https://example.com:8443/twilio/sms", url_verify="https://example.com/twilio/sms", form=PF, expected="invalid",
    note="add-port only ever adds :443 or :80")
add("userinfo_port_443", "HTTP authentication credentials in the URL, signed with :443, the server's URL without port",
    url_signed="https://user:pass@example.com:443/twilio/sms", url_verify="https://user:pass@example.com/twilio/sms", form=PF,
    expected="valid")
add("url_quote_normalisation", "the signed URL has %27, the server's URL a literal apostrophe",
    url_signed="https://example.com/a?name=O%27Neil", url_verify="https://example.com/a?name=O'Neil", form=PF,
    expected="sdk_dependent", note="twilio-node also tries new URL(url).toString() (percent-encodes ') and accepts; twilio-python compares the URL as given")
add("host_case", "signed with a lower-case host, the server's URL has an upper-case host",
    url_signed="https://example.com/twilio/sms", url_verify="https://EXAMPLE.com/twilio/sms", form=PF,
    expected="sdk_dependent", note="twilio-node's new URL() fallback lower-cases the host; twilio-python does not")
add("hmac_sha256_sharedkey", "HMAC_SHA256 (SharedKey, Webhooks rules): X-Twilio-Webhooks-Signature-Settings names the algorithm",
    url_signed="https://example.com/twilio/sms", form=PF, algorithm="HMAC_SHA256", expected="valid",
    extra_headers={"X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_demo,algorithm=HMAC_SHA256"},
    note="the key is the SharedKey's secret (12345 here); the same data, base64 of the 32-byte HMAC-SHA256")
add("trailing_question_mark", "the URL ends with an empty query '?', the same string signed and verified",
    url_signed="https://example.com/twilio/sms?", form=PF, expected="valid",
    note="twilio-python rebuilds both spellings with urlparse().geturl(), which drops the empty '?', so it never matches")
add("uppercase_scheme", "the URL 'HTTPS://Example.com/...', the same string signed and verified",
    url_signed="HTTPS://Example.com/twilio/sms", form=PF, expected="valid",
    note="urlparse lower-cases the scheme in geturl(); twilio-node tries the string as received first")
# Sort order: U+FF48 is FF48 in UTF-16, U+1F600 is D83D DE00: JavaScript sorts the emoji first,
# Python (code points) sorts it last.
SORT_FORM = "Tag=%EF%BD%88&Tag=%F0%9F%98%80"
SORT_PAIRS = parse_qsl(SORT_FORM, keep_blank_values=True)
add("sort_utf16_order", "a repeated name with the values U+FF48 and U+1F600, signed in UTF-16 code unit order (twilio-node's)",
    url_signed="https://example.com/twilio/sms", form=SORT_FORM, expected="sdk_dependent",
    data=data_to_sign("https://example.com/twilio/sms", SORT_PAIRS, order="utf16"),
    note="the string twilio-node's getExpectedTwilioSignature signs (gen/twilio_node.mjs checks it); twilio-python sorts by code point and refuses it")
add("sort_codepoint_order", "the same form, signed by twilio-python (code point order)",
    url_signed="https://example.com/twilio/sms", form=SORT_FORM, expected="sdk_dependent",
    note="twilio-node sorts by UTF-16 code unit and refuses it")
# negatives
good_pairs = parse_qsl(PF, keep_blank_values=True)
add("tampered_param", "From changed after signing", url_signed="https://example.com/twilio/sms",
    form="CallSid=CA1&From=%2B14158675311", params_signed=good_pairs, expected="invalid")
add("missing_param", "a parameter dropped after signing", url_signed="https://example.com/twilio/sms",
    form="CallSid=CA1", params_signed=good_pairs, expected="invalid")
add("wrong_token", "signed with the auth token 54321", url_signed="https://example.com/twilio/sms", form=PF,
    token_signed="54321", expected="invalid")
sig_ok = RequestValidator(TOKEN).compute_signature("https://example.com/twilio/sms", MultiParams(good_pairs))
add("truncated_sig", "the signature cut to 14 characters", url_signed="https://example.com/twilio/sms", form=PF,
    signature=sig_ok[:14], expected="invalid")
add("empty_sig", "an empty X-Twilio-Signature", url_signed="https://example.com/twilio/sms", form=PF, signature="",
    expected="invalid")
add("sig_without_padding", "the base64 signature without its trailing '='", url_signed="https://example.com/twilio/sms",
    form=PF, signature=sig_ok.rstrip("="), expected="invalid")
add("scheme_mismatch", "signed for https, the server rebuilds http", url_signed="https://example.com/twilio/sms",
    url_verify="http://example.com/twilio/sms", form=PF, expected="invalid")
add("trailing_slash", "the server's URL has an extra trailing slash", url_signed="https://example.com/twilio/sms",
    url_verify="https://example.com/twilio/sms/", form=PF, expected="invalid")

doc = {
    "scheme": "twilio",
    "header": "X-Twilio-Signature: base64(HMAC-SHA1(auth token, data_to_sign)), standard alphabet, padded",
    "data_to_sign": "the full URL Twilio requested (scheme, host, port if any, path, query) + for each parameter name sorted: for each distinct value sorted: name + value (form-decoded, no separators)",
    "key": "the UTF-8 bytes of the auth token",
    "auth_token": TOKEN,
    "generator": {"scripts": ["gen/twilio_py.py", "gen/twilio_node.mjs"], "command": COMMAND},
    "packages": [PKG],
    "python": platform.python_version(),
    "vectors": vectors,
}
with open(OUT, "w") as f:
    json.dump(doc, f, indent=2, ensure_ascii=False)
    f.write("\n")
print("wrote twilio.json", len(vectors), "vectors")

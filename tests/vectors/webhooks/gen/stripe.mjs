// Generates vectors/stripe.json with the official SDK (stripe-node):
//   stripe.webhooks.generateTestHeaderString({payload, secret, timestamp})
// and records what stripe.webhooks.signature.verifyHeader(...) and constructEvent(...) answer.
// receivedAt (ms) is passed to verifyHeader so that fixed timestamps are checked at a fixed "now".
// Run from tests/vectors/webhooks (after `npm ci`):  node gen/stripe.mjs
import Stripe from "stripe";
import { createHmac } from "node:crypto";
import { writeFileSync, readFileSync } from "node:fs";

const SDK_VERSION = JSON.parse(readFileSync(new URL("../node_modules/stripe/package.json", import.meta.url))).version;
const stripe = new Stripe("sk_test_dummy_not_used"); // no network use: only .webhooks helpers
const SECRET = "whsec_test_secret";
const OTHER = "whsec_previous_secret_for_rotation";
const T = 1763800000;
const hex = (b) => Buffer.from(b).toString("hex");

function run(fn) {
  try { return { returned: fn() }; } catch (e) { return { threw: `${e.constructor.name}: ${e.message.split("\n")[0]}` }; }
}
const gen = (payload, secret = SECRET, timestamp = T) => stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
const sigOf = (h) => h.split(",").find((x) => x.startsWith("v1=")).slice(3);
const rawSig = (bytes, ts = T, secret = SECRET) => createHmac("sha256", secret).update(Buffer.concat([Buffer.from(`${ts}.`), bytes])).digest("hex");

const vectors = [];
function add(v) {
  const body = v.body_bytes;
  const payloadForSdk = v.payload_for_sdk ?? body; // Buffer (raw body) unless stated
  const nowMs = (v.now ?? T) * 1000;
  const tol = v.tolerance ?? 300;
  const out = {
    name: v.name, kind: v.kind, expected: v.expected,
    secret: v.verify_secret ?? SECRET,
    body_utf8: v.utf8 === false ? null : Buffer.from(body).toString("utf8"),
    body_hex: hex(body),
    body_is_valid_utf8: v.utf8 !== false,
    timestamp: v.timestamp ?? T,
    now: v.now ?? T,
    tolerance: tol,
    headers: { "Stripe-Signature": v.header, "Content-Type": "application/json; charset=utf-8" },
    signed_message_hex: v.signed_message_hex ?? hex(Buffer.concat([Buffer.from(`${v.timestamp ?? T}.`), body])),
    made_by: v.made_by,
    sdk_verify: {
      call: `stripe.webhooks.signature.verifyHeader(${Buffer.isBuffer(payloadForSdk) ? "Buffer(rawBody)" : "string"}, header, secret, ${tol}, undefined, receivedAt=${nowMs})`,
      ...run(() => stripe.webhooks.signature.verifyHeader(payloadForSdk, v.header, v.verify_secret ?? SECRET, tol, undefined, nowMs)),
    },
    sdk_construct_event: {
      call: `stripe.webhooks.constructEvent(same args) — also JSON.parse()s the body`,
      ...(() => { const r = run(() => stripe.webhooks.constructEvent(payloadForSdk, v.header, v.verify_secret ?? SECRET, tol, undefined, nowMs)); if (r.returned !== undefined) r.returned = "event object"; return r; })(),
    },
  };
  if (v.note) out.note = v.note;
  vectors.push(out);
}

const JSON_BODY = '{"id":"evt_test_webhook","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_123","amount":2000}}}';
const JB = Buffer.from(JSON_BODY);
const H = gen(JSON_BODY);

add({ name: "json_body", kind: "positive", expected: "valid", body_bytes: JB, header: H, made_by: "stripe.webhooks.generateTestHeaderString({payload, secret, timestamp: 1763800000})" });
add({ name: "json_body_string_payload", kind: "positive", expected: "valid", body_bytes: JB, payload_for_sdk: JSON_BODY, header: H, made_by: "same header as json_body; SDK given a string instead of Buffer" });
{
  const s = '{"id":"evt_utf8","object":"event","description":"héllo wörld — ✓ 日本語 🎉"}';
  add({ name: "non_ascii_utf8_body", kind: "positive", expected: "valid", body_bytes: Buffer.from(s), header: gen(s), made_by: "generateTestHeaderString" });
}
{
  const h = gen("");
  add({ name: "empty_body", kind: "positive", expected: "valid signature over '1763800000.' but SDK refuses empty string payload", body_bytes: Buffer.alloc(0), payload_for_sdk: "", header: h,
    made_by: "generateTestHeaderString({payload: ''})", note: "string '' is falsy -> 'No webhook payload was provided.'" });
  add({ name: "empty_body_as_empty_buffer", kind: "positive", expected: "valid signature; SDK verifyHeader accepts empty Buffer (truthy), constructEvent then fails in JSON.parse", body_bytes: Buffer.alloc(0), header: h,
    made_by: "generateTestHeaderString({payload: ''})" });
}
{
  const bytes = Buffer.from([0x7b, 0x22, 0x62, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x22, 0x7d]);
  const sdkHeader = gen(bytes); // SDK stringifies the Buffer with UTF-8 replacement
  const lossy = Buffer.from(bytes.toString("utf8"), "utf8");
  add({ name: "non_utf8_body_sdk_signed", kind: "positive", expected: "valid in stripe-node (both sides decode lossily)", utf8: false, body_bytes: bytes, header: sdkHeader,
    signed_message_hex: hex(Buffer.concat([Buffer.from(`${T}.`), lossy])),
    made_by: "generateTestHeaderString({payload: Buffer(non-UTF-8)}) — template literal makes Buffer -> UTF-8 string with U+FFFD",
    note: "HMAC input is the U+FFFD-replaced body (signed_message_hex), NOT the raw bytes. stripe-node verifyHeader also decodes Buffer with TextDecoder('utf8') (non-fatal) before HMAC." });
  const rawHeader = `t=${T},v1=${rawSig(bytes)}`;
  add({ name: "non_utf8_body_raw_bytes_hmac", kind: "positive", expected: "valid byte-wise, REJECTED by stripe-node", utf8: false, body_bytes: bytes, header: rawHeader,
    made_by: "node:crypto HMAC over `${t}.` + raw bytes",
    note: "stripe-node cannot verify a raw-bytes HMAC of a non-UTF-8 body. Stripe only sends UTF-8 JSON, so this never occurs in practice." });
}
{
  // Rotation: two v1 signatures (old + current secret), plus a v0 test-mode style decoy.
  const oldSig = sigOf(gen(JSON_BODY, OTHER));
  const curSig = sigOf(H);
  add({ name: "rotation_two_v1_signatures", kind: "positive", expected: "valid", body_bytes: JB, header: `t=${T},v1=${oldSig},v1=${curSig}`,
    made_by: `generateTestHeaderString with '${OTHER}' and with '${SECRET}', v1 values joined` });
  add({ name: "rotation_verify_with_old_secret", kind: "positive", expected: "valid", body_bytes: JB, header: `t=${T},v1=${oldSig},v1=${curSig}`, verify_secret: OTHER,
    made_by: "same header, verified with the other secret" });
  const v0 = sigOf(gen(JSON_BODY, "whsec_unknown_v0", T));
  add({ name: "with_v0_scheme_present", kind: "positive", expected: "valid (v0 ignored)", body_bytes: JB, header: `t=${T},v1=${curSig},v0=${v0}`, made_by: "json_body header + appended v0=<hmac with unknown secret>" });
  add({ name: "scheme_order_v1_before_t", kind: "positive", expected: "valid (order-independent)", body_bytes: JB, header: `v1=${curSig},t=${T}`, made_by: "json_body header reordered" });
}
// Timestamp tolerance
add({ name: "ts_age_300_ok", kind: "positive", expected: "valid (age == tolerance)", body_bytes: JB, header: H, now: T + 300, made_by: "json_body header, now = t+300" });
add({ name: "neg_ts_age_301", kind: "negative", expected: "invalid: too old", body_bytes: JB, header: H, now: T + 301, made_by: "json_body header, now = t+301" });
add({ name: "ts_in_future_accepted", kind: "positive", expected: "valid: stripe-node checks only age (past side)", body_bytes: JB, header: H, now: T - 86400, made_by: "json_body header, now = t-86400 (timestamp 1 day in the future)" });
add({ name: "ts_old_tolerance_zero_disables", kind: "positive", expected: "valid: tolerance 0 disables the check", body_bytes: JB, header: H, now: T + 10_000_000, tolerance: 0, made_by: "json_body header, tolerance=0" });
{
  // Timestamp parsing: parseInt(), and the HMAC uses the PARSED number, not the header text.
  const h = `t=0${T},v1=${sigOf(H)}`;
  add({ name: "ts_leading_zero_normalised", kind: "positive", expected: "valid in stripe-node: parseInt('01763800000') = 1763800000 and HMAC input is `${number}.`", body_bytes: JB, header: h,
    signed_message_hex: hex(Buffer.concat([Buffer.from(`${T}.`), JB])), made_by: "json_body v1 with t=01763800000" });
  const h2 = `t=${T}abc,v1=${sigOf(H)}`;
  add({ name: "ts_trailing_garbage_accepted", kind: "positive", expected: "valid in stripe-node (parseInt stops at 'a')", body_bytes: JB, header: h2, made_by: "json_body v1 with t=1763800000abc" });
  const h3 = `t=${T - 5},t=${T},v1=${sigOf(H)}`;
  add({ name: "ts_duplicate_last_wins", kind: "positive", expected: "valid in stripe-node (last t wins); stripe-python uses first t", body_bytes: JB, header: h3, made_by: "two t= elements, last is the signed one" });
  const nanSig = createHmac("sha256", SECRET).update(`NaN.${JSON_BODY}`).digest("hex");
  add({ name: "ts_non_numeric_NaN_quirk", kind: "positive", expected: "valid in stripe-node: t=abc -> NaN, HMAC over 'NaN.'+body, NaN age passes the tolerance check", body_bytes: JB, header: `t=abc,v1=${nanSig}`,
    signed_message_hex: hex(Buffer.from(`NaN.${JSON_BODY}`)), made_by: "node:crypto HMAC over 'NaN.' + body (needs the secret; not a bypass, but no replay protection)" });
}
// Negatives
const tampered = Buffer.from(JSON_BODY.replace("2000", "2001"));
add({ name: "neg_tampered_body", kind: "negative", expected: "invalid", body_bytes: tampered, header: H, made_by: "json_body header, body changed" });
add({ name: "neg_wrong_secret", kind: "negative", expected: "invalid", body_bytes: JB, header: gen(JSON_BODY, "whsec_wrong"), made_by: "generateTestHeaderString with whsec_wrong" });
add({ name: "neg_truncated_signature", kind: "negative", expected: "invalid", body_bytes: JB, header: `t=${T},v1=${sigOf(H).slice(0, 32)}`, made_by: "v1 cut to 32 hex chars" });
add({ name: "neg_empty_signature_v1_eq", kind: "negative", expected: "invalid", body_bytes: JB, header: `t=${T},v1=`, made_by: "literal 't=1763800000,v1='",
  note: "stripe-node throws a plain Error('secureCompare must receive two arguments'), not StripeSignatureVerificationError" });
add({ name: "neg_empty_signature_v1_no_eq", kind: "negative", expected: "invalid", body_bytes: JB, header: `t=${T},v1`, made_by: "literal 't=1763800000,v1'" });
add({ name: "neg_empty_header", kind: "negative", expected: "invalid", body_bytes: JB, header: "", made_by: "''" });
add({ name: "neg_only_v0", kind: "negative", expected: "invalid: no v1", body_bytes: JB, header: `t=${T},v0=${sigOf(H)}`, made_by: "valid hex under v0 scheme" });
add({ name: "neg_uppercase_hex", kind: "negative", expected: "invalid (exact lowercase string compare)", body_bytes: JB, header: `t=${T},v1=${sigOf(H).toUpperCase()}`, made_by: "v1 hex uppercased" });
add({ name: "neg_space_after_comma", kind: "negative", expected: "invalid in stripe-node (key ' v1' != 'v1')", body_bytes: JB, header: `t=${T}, v1=${sigOf(H)}`, made_by: "'t=..., v1=...'" });
add({ name: "space_before_t_value", kind: "positive", expected: "valid in stripe-node (parseInt skips leading space)", body_bytes: JB, header: `t= ${T},v1=${sigOf(H)}`, made_by: "'t= 1763800000,v1=...'" });
add({ name: "neg_missing_t", kind: "negative", expected: "invalid", body_bytes: JB, header: `v1=${sigOf(H)}`, made_by: "no t element" });
add({ name: "neg_uppercase_keys", kind: "negative", expected: "invalid (keys case-sensitive)", body_bytes: JB, header: `T=${T},V1=${sigOf(H)}`, made_by: "'T=..,V1=..'" });
add({ name: "neg_secret_without_prefix", kind: "negative", expected: "invalid: key is the full 'whsec_...' string", body_bytes: JB, header: H, verify_secret: "test_secret", made_by: "json_body header verified with 'test_secret'" });

const doc = {
  scheme: "stripe",
  header: "Stripe-Signature",
  sdk: { name: "stripe (stripe-node)", version: SDK_VERSION, language: "node " + process.version },
  generator: { script: "gen/stripe.mjs", command: "cd tests/vectors/webhooks && npm ci && node gen/stripe.mjs" },
  secret: SECRET,
  key_bytes_hex: hex(Buffer.from(SECRET, "utf8")),
  signed_message: "`${t}.` + body  (t = decimal seconds as parsed by the SDK)",
  vectors,
};
writeFileSync(new URL("../stripe.json", import.meta.url), JSON.stringify(doc, null, 2) + "\n");
for (const v of vectors) console.log(v.name.padEnd(34), JSON.stringify(v.sdk_verify.returned ?? v.sdk_verify.threw), "| constructEvent:", JSON.stringify(v.sdk_construct_event.returned ?? v.sdk_construct_event.threw));

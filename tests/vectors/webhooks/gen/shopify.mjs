// Generates shopify.json. The official SDK (@shopify/shopify-api) has no public signer for webhooks;
// its own test helper `getHmac(body, secret)` from '@shopify/shopify-api/test-helpers' (node:crypto, base64) is used,
// cross-checked against node:crypto directly. Verification uses shopify.webhooks.validate({rawBody, rawRequest, rawResponse})
// with the node adapter (the same call a server would make).
// Run from tests/vectors/webhooks (after `npm ci`):  node gen/shopify.mjs
import "@shopify/shopify-api/adapters/node";
import { shopifyApi, ApiVersion, LogSeverity } from "@shopify/shopify-api";
import { getHmac } from "@shopify/shopify-api/test-helpers";
import { createHmac } from "node:crypto";
import { writeFileSync, readFileSync } from "node:fs";

const SDK_VERSION = JSON.parse(readFileSync(new URL("../node_modules/@shopify/shopify-api/package.json", import.meta.url))).version;
const SECRET = "shopify_demo_secret";
const hex = (b) => Buffer.from(b).toString("hex");
const shopify = shopifyApi({ apiKey: "demo_api_key", apiSecretKey: SECRET, scopes: [], hostName: "localhost", apiVersion: ApiVersion.October25,
  isEmbeddedApp: false, logger: { level: LogSeverity.Error, log: () => {} } });
const shopifyOther = shopifyApi({ apiKey: "demo_api_key", apiSecretKey: "other_secret", scopes: [], hostName: "localhost", apiVersion: ApiVersion.October25,
  isEmbeddedApp: false, logger: { level: LogSeverity.Error, log: () => {} } });

const WEBHOOK_ID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043";
function stdHeaders(hmac) {
  return {
    "X-Shopify-Hmac-Sha256": hmac,
    "X-Shopify-Topic": "orders/create",
    "X-Shopify-Shop-Domain": "demo-shop.myshopify.com",
    "X-Shopify-API-Version": "2025-10",
    "X-Shopify-Webhook-Id": WEBHOOK_ID,
    "X-Shopify-Triggered-At": "2025-11-22T08:26:40.000Z",
    "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
    "Content-Type": "application/json",
  };
}
async function validate(rawBody, headers, inst = shopify) {
  // node adapter: rawRequest is an http.IncomingMessage-like object (lower-cased header names as Node gives them)
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  try {
    const r = await inst.webhooks.validate({ rawBody, rawRequest: { headers: lower, method: "POST", url: "/webhooks" }, rawResponse: {} });
    return { returned: r.valid ? { valid: true } : { valid: false, reason: r.reason, ...(r.missingHeaders ? { missingHeaders: r.missingHeaders } : {}) } };
  } catch (e) { return { threw: `${e.constructor.name}: ${e.message}` }; }
}

const vectors = [];
async function add(v) {
  const headers = v.headers ?? stdHeaders(v.hmac);
  const rawBody = v.raw_body_for_sdk ?? v.body_bytes.toString("utf8");
  const out = {
    name: v.name, kind: v.kind, expected: v.expected,
    secret: v.verify_secret ?? SECRET,
    body_utf8: v.utf8 === false ? null : v.body_bytes.toString("utf8"),
    body_hex: hex(v.body_bytes),
    body_is_valid_utf8: v.utf8 !== false,
    headers,
    signed_message_hex: v.signed_message_hex ?? hex(v.body_bytes),
    made_by: v.made_by,
    sdk_verify: { call: `shopify.webhooks.validate({rawBody: ${typeof rawBody === "string" ? "string" : "Buffer"}, rawRequest, rawResponse}) [node adapter]`,
      ...(await validate(rawBody, headers, v.verify_secret === "other_secret" ? shopifyOther : shopify)) },
  };
  if (v.note) out.note = v.note;
  vectors.push(out);
}
function helperSign(body) {
  const a = getHmac(body, SECRET);
  const b = createHmac("sha256", SECRET).update(body).digest("base64");
  if (a !== b) throw new Error("getHmac != node:crypto");
  return a;
}

const JSON_BODY = '{"id":820982911946154508,"email":"jon@example.com","total_price":"254.98","line_items":[{"title":"IPod Nano - 8GB","quantity":1}]}';
const JB = Buffer.from(JSON_BODY);
const H = helperSign(JSON_BODY);
await add({ name: "json_body", kind: "positive", expected: "valid", body_bytes: JB, hmac: H, made_by: "getHmac(body, secret) from @shopify/shopify-api/test-helpers (== node:crypto base64)" });
await add({ name: "json_body_rawbody_as_buffer", kind: "positive", expected: "valid", body_bytes: JB, raw_body_for_sdk: JB, hmac: H, made_by: "same; rawBody passed as Buffer" });
{
  const s = '{"id":1,"note":"héllo wörld — ✓ 日本語 🎉"}';
  await add({ name: "non_ascii_utf8_body", kind: "positive", expected: "valid", body_bytes: Buffer.from(s), hmac: helperSign(s), made_by: "getHmac (string -> UTF-8)" });
}
await add({ name: "empty_body", kind: "positive", expected: "HMAC well-defined, but SDK rejects empty body (reason missing_body)", body_bytes: Buffer.alloc(0), hmac: helperSign(""), made_by: "getHmac('', secret)" });
{
  const bytes = Buffer.from([0x7b, 0x22, 0x62, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x22, 0x7d]);
  const rawH = createHmac("sha256", SECRET).update(bytes).digest("base64");
  if (getHmac(bytes, SECRET) !== rawH) throw new Error("getHmac(Buffer) mismatch");
  await add({ name: "non_utf8_body_raw_bytes_hmac", kind: "positive", expected: "valid byte-wise; SDK rejects (it UTF-8-encodes a JS string)", utf8: false, body_bytes: bytes, raw_body_for_sdk: bytes, hmac: rawH,
    made_by: "getHmac(Buffer(raw bytes), secret) == node:crypto over raw bytes",
    note: "validate() does TextEncoder.encode(rawBody): a Buffer is stringified as UTF-8 with U+FFFD first, so only the lossy-body HMAC would pass" });
  const lossy = Buffer.from(bytes.toString("utf8"));
  await add({ name: "non_utf8_body_lossy_hmac", kind: "positive", expected: "accepted by SDK (lossy), not what a byte-exact verifier accepts", utf8: false, body_bytes: bytes, raw_body_for_sdk: bytes,
    hmac: createHmac("sha256", SECRET).update(lossy).digest("base64"), signed_message_hex: hex(lossy), made_by: "node:crypto over the U+FFFD-replaced body" });
}
await add({ name: "header_names_any_case", kind: "positive", expected: "valid (SDK canonicalises header names)", body_bytes: JB,
  headers: Object.fromEntries(Object.entries(stdHeaders(H)).map(([k, v]) => [k.toUpperCase(), v])), made_by: "json_body headers upper-cased" });
{
  const h = { "shopify-hmac-sha256": H, "shopify-topic": "orders/create", "shopify-shop-domain": "demo-shop.myshopify.com", "shopify-api-version": "2025-10", "shopify-webhook-id": WEBHOOK_ID };
  await add({ name: "events_style_headers_no_x_prefix", kind: "positive", expected: "valid (SDK 15 also accepts the un-prefixed 'Shopify-*' Events headers)", body_bytes: JB, headers: h, made_by: "json_body HMAC under shopify-hmac-sha256 etc." });
}
{
  // Both header families at once: the SDK reads the un-prefixed (Events) one when it is present.
  const both = (events, x) => ({ ...stdHeaders(x), "shopify-hmac-sha256": events, "shopify-topic": "orders/create", "shopify-shop-domain": "demo-shop.myshopify.com",
    "shopify-api-version": "2025-10", "shopify-webhook-id": "0b7e1f37-events-id" });
  const wrong = createHmac("sha256", "other_secret").update(JB).digest("base64");
  await add({ name: "both_header_families_events_one_good", kind: "positive", expected: "valid (the SDK verifies shopify-hmac-sha256 when present, X-Shopify-Hmac-Sha256 is not read)",
    body_bytes: JB, headers: both(H, wrong), made_by: "json_body HMAC under shopify-hmac-sha256, another secret's under X-Shopify-Hmac-Sha256" });
  await add({ name: "neg_both_header_families_events_one_bad", kind: "negative", expected: "invalid (the SDK verifies shopify-hmac-sha256 when present, X-Shopify-Hmac-Sha256 is not read)",
    body_bytes: JB, headers: both(wrong, H), made_by: "another secret's HMAC under shopify-hmac-sha256, json_body HMAC under X-Shopify-Hmac-Sha256" });
}
// negatives
await add({ name: "neg_tampered_body", kind: "negative", expected: "invalid", body_bytes: Buffer.from(JSON_BODY.replace("254.98", "0.01")), hmac: H, made_by: "json_body HMAC, body changed" });
await add({ name: "neg_wrong_secret", kind: "negative", expected: "invalid", body_bytes: JB, hmac: H, verify_secret: "other_secret", made_by: "json_body HMAC verified with 'other_secret'" });
await add({ name: "neg_truncated_signature", kind: "negative", expected: "invalid", body_bytes: JB, hmac: H.slice(0, 20), made_by: "first 20 base64 chars" });
await add({ name: "neg_unpadded_base64", kind: "negative", expected: "invalid (string compare of base64 text)", body_bytes: JB, hmac: H.replace(/=+$/, ""), made_by: "padding removed" });
await add({ name: "neg_empty_signature", kind: "negative", expected: "invalid", body_bytes: JB, hmac: "", made_by: "''" });
await add({ name: "neg_hex_instead_of_base64", kind: "negative", expected: "invalid", body_bytes: JB, hmac: createHmac("sha256", SECRET).update(JB).digest("hex"), made_by: "hex digest" });
await add({ name: "neg_base64url_alphabet", kind: "negative", expected: "invalid", body_bytes: JB, hmac: H.replace(/\+/g, "-").replace(/\//g, "_"), made_by: "base64url alphabet" });
{
  const h = stdHeaders(H); delete h["X-Shopify-Topic"]; delete h["X-Shopify-Webhook-Id"];
  await add({ name: "neg_valid_hmac_missing_other_headers", kind: "negative", expected: "SDK: invalid (missing_headers) although the HMAC is correct", body_bytes: JB, headers: h,
    made_by: "json_body with X-Shopify-Topic and X-Shopify-Webhook-Id removed" });
}

const doc = {
  scheme: "shopify",
  header: "X-Shopify-Hmac-Sha256",
  sdk: { name: "@shopify/shopify-api", version: SDK_VERSION, language: "node " + process.version + " (package declares engines node>=22; works on 20 for this)" },
  generator: { script: "gen/shopify.mjs", command: "cd tests/vectors/webhooks && npm ci && node gen/shopify.mjs" },
  secret: SECRET,
  key_bytes_hex: hex(Buffer.from(SECRET)),
  signed_message: "raw request body bytes",
  vectors,
};
writeFileSync(new URL("../shopify.json", import.meta.url), JSON.stringify(doc, null, 2) + "\n");
for (const v of vectors) console.log(v.name.padEnd(38), JSON.stringify(v.sdk_verify.returned ?? v.sdk_verify.threw));

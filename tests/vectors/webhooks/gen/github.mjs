// Generates vectors/github.json with the official SDK @octokit/webhooks-methods (node build),
// and records what the SDK's verify() answers for positive and negative cases.
// Run from tests/vectors/webhooks (after `npm ci`):  node gen/github.mjs
import { sign, verify } from "@octokit/webhooks-methods";
import * as web from "../node_modules/@octokit/webhooks-methods/dist-web/index.js";
import { createHmac } from "node:crypto";
import { writeFileSync, readFileSync } from "node:fs";

const SDK_VERSION = JSON.parse(readFileSync(new URL("../node_modules/@octokit/webhooks-methods/package.json", import.meta.url))).version;
const SECRET = "It's a Secret to Everybody";
const OTHER = "another secret";
const DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

const hex = (b) => Buffer.from(b).toString("hex");
async function run(fn) {
  try { return { returned: await fn() }; } catch (e) { return { threw: `${e.constructor.name}: ${e.message}` }; }
}
function rawHmac(secret, bytes) { return "sha256=" + createHmac("sha256", secret).update(bytes).digest("hex"); }

const vectors = [];
async function add(v) {
  const body = v.body_bytes;
  const bodyStr = v.body_str; // string handed to the SDK (verify needs a string)
  const sig = v.header;
  v.sdk_verify = {
    call: "verify(secret, bodyString, signatureHeader)  [@octokit/webhooks-methods node build]",
    ...(await run(() => verify(v.verify_secret ?? SECRET, bodyStr, sig))),
  };
  v.sdk_verify_web_build = {
    call: "verify(...) from dist-web (WebCrypto build, used by bundlers/Deno/CF workers)",
    ...(await run(() => web.verify(v.verify_secret ?? SECRET, bodyStr, sig))),
  };
  const out = {
    name: v.name,
    kind: v.kind,
    expected: v.expected,
    secret: v.verify_secret ?? SECRET,
    body_utf8: v.utf8 === false ? null : Buffer.from(body).toString("utf8"),
    body_hex: hex(body),
    body_is_valid_utf8: v.utf8 !== false,
    signed_message_hex: hex(body),
    headers: { "X-Hub-Signature-256": sig, "X-GitHub-Delivery": DELIVERY, "X-GitHub-Event": "ping", "Content-Type": "application/json" },
    made_by: v.made_by,
    sdk_verify: v.sdk_verify,
    sdk_verify_web_build: v.sdk_verify_web_build,
  };
  if (v.note) out.note = v.note;
  vectors.push(out);
}

// --- positives -----------------------------------------------------------
{
  const s = "Hello, World!";
  const h = await sign(SECRET, s);
  await add({ name: "docs_test_vector_hello_world", kind: "positive", expected: "valid", body_bytes: Buffer.from(s), body_str: s, header: h,
    made_by: "sign(secret, payload) — @octokit/webhooks-methods",
    note: "GitHub docs test vector: expected sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" });
  if (h !== "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17") throw new Error("doc vector mismatch");
}
const JSON_BODY = '{"action":"opened","issue":{"number":1347},"repository":{"full_name":"octocat/Hello-World"}}';
const JSON_SIG = await sign(SECRET, JSON_BODY);
await add({ name: "json_body", kind: "positive", expected: "valid", body_bytes: Buffer.from(JSON_BODY), body_str: JSON_BODY, header: JSON_SIG,
  made_by: "sign(secret, payload) — @octokit/webhooks-methods" });
{
  const s = '{"comment":"héllo wörld — ✓ 日本語 🎉","n":1}';
  await add({ name: "non_ascii_utf8_body", kind: "positive", expected: "valid", body_bytes: Buffer.from(s, "utf8"), body_str: s, header: await sign(SECRET, s),
    made_by: "sign(secret, payload) — @octokit/webhooks-methods (payload string is UTF-8 encoded by createHmac.update)" });
}
{
  // Empty body: SDK sign() refuses (TypeError). Signature computed with node:crypto over zero bytes.
  const r = await run(() => sign(SECRET, ""));
  await add({ name: "empty_body", kind: "positive", expected: "valid (HMAC of zero bytes); but SDK cannot sign/verify it", body_bytes: Buffer.alloc(0), body_str: "",
    header: rawHmac(SECRET, Buffer.alloc(0)),
    made_by: "node:crypto createHmac('sha256', secret).update(<0 bytes>) — SDK sign() threw: " + r.threw,
    note: "SDK sign('') and verify(...,'',...) throw TypeError because of `!payload` guard; GitHub never sends an empty body in practice." });
}
{
  // Non-UTF-8 body: SDK only takes strings; raw bytes signed with node:crypto.
  const bytes = Buffer.from([0x7b, 0x22, 0x62, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x22, 0x7d]); // {"b":"<ff fe c3 28 80>"}
  const hdr = rawHmac(SECRET, bytes);
  await add({ name: "non_utf8_body_raw_bytes", kind: "positive", expected: "valid per GitHub (HMAC over raw bytes); SDK cannot express it", utf8: false,
    body_bytes: bytes, body_str: bytes.toString("utf8"), header: hdr,
    made_by: "node:crypto createHmac over raw bytes (SDK accepts only strings)",
    note: "SDK verify was given bytes.toString('utf8') (lossy, U+FFFD) because it only accepts strings -> false. A byte-exact verifier must HMAC the raw bytes." });
}

// --- negatives -----------------------------------------------------------
const tampered = JSON_BODY.replace("1347", "1348");
await add({ name: "neg_tampered_body", kind: "negative", expected: "invalid", body_bytes: Buffer.from(tampered), body_str: tampered, header: JSON_SIG, made_by: "sign() of json_body, body changed afterwards" });
await add({ name: "neg_wrong_secret", kind: "negative", expected: "invalid", body_bytes: Buffer.from(JSON_BODY), body_str: JSON_BODY, header: await sign(OTHER, JSON_BODY), made_by: `sign('${OTHER}', body)` });
await add({ name: "neg_truncated_signature", kind: "negative", expected: "invalid", body_bytes: Buffer.from(JSON_BODY), body_str: JSON_BODY, header: JSON_SIG.slice(0, 7 + 32), made_by: "json_body signature cut to 32 hex chars" });
await add({ name: "neg_truncated_signature_odd", kind: "negative", expected: "invalid", body_bytes: Buffer.from(JSON_BODY), body_str: JSON_BODY, header: JSON_SIG.slice(0, -1), made_by: "json_body signature minus last hex char (63 hex chars)" });
await add({ name: "neg_empty_signature_prefix_only", kind: "negative", expected: "invalid", body_bytes: Buffer.from(JSON_BODY), body_str: JSON_BODY, header: "sha256=", made_by: "literal 'sha256='" });
await add({ name: "neg_empty_header_value", kind: "negative", expected: "invalid", body_bytes: Buffer.from(JSON_BODY), body_str: JSON_BODY, header: "", made_by: "literal ''" });
await add({ name: "uppercase_hex", kind: "negative", expected: "SDK-dependent (node build rejects, web build accepts)", body_bytes: Buffer.from(JSON_BODY), body_str: JSON_BODY,
  header: "sha256=" + JSON_SIG.slice(7).toUpperCase(), made_by: "json_body signature hex uppercased" });
await add({ name: "uppercase_prefix", kind: "negative", expected: "invalid", body_bytes: Buffer.from(JSON_BODY), body_str: JSON_BODY, header: "SHA256=" + JSON_SIG.slice(7), made_by: "prefix 'SHA256='" });
await add({ name: "neg_missing_prefix", kind: "negative", expected: "invalid", body_bytes: Buffer.from(JSON_BODY), body_str: JSON_BODY, header: JSON_SIG.slice(7), made_by: "bare hex without 'sha256='" });
await add({ name: "neg_sha1_header_value", kind: "negative", expected: "invalid", body_bytes: Buffer.from(JSON_BODY), body_str: JSON_BODY,
  header: "sha1=" + createHmac("sha1", SECRET).update(JSON_BODY).digest("hex"), made_by: "legacy X-Hub-Signature value (sha1=...) put in the sha256 header" });
await add({ name: "whitespace_around_signature", kind: "negative", expected: "invalid in SDK (no trimming); HTTP servers usually strip OWS", body_bytes: Buffer.from(JSON_BODY), body_str: JSON_BODY,
  header: " " + JSON_SIG + " ", made_by: "valid signature with leading+trailing space" });

const doc = {
  scheme: "github",
  header: "X-Hub-Signature-256",
  sdk: { name: "@octokit/webhooks-methods", version: SDK_VERSION, language: "node " + process.version },
  generator: { script: "gen/github.mjs", command: "cd tests/vectors/webhooks && npm ci && node gen/github.mjs" },
  secret: SECRET,
  key_bytes_hex: hex(Buffer.from(SECRET, "utf8")),
  signed_message: "raw request body bytes",
  vectors,
};
writeFileSync(new URL("../github.json", import.meta.url), JSON.stringify(doc, null, 2) + "\n");
for (const v of vectors) console.log(v.name.padEnd(36), JSON.stringify(v.sdk_verify.returned ?? v.sdk_verify.threw), "| web:", JSON.stringify(v.sdk_verify_web_build.returned ?? v.sdk_verify_web_build.threw));

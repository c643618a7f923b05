// Adds twilio-node's answers to twilio.json (written first by gen/twilio_py.py): recomputes each
// signature with getExpectedTwilioSignature (it must equal the one in the file, unless the vector
// was made otherwise on purpose) and verifies with validateRequest / validateRequestWithBody.
// Form parameters are parsed with node:querystring.parse, which is what
// express.urlencoded({extended: false}) gives (repeated names become arrays).
// Run from tests/vectors/webhooks (after `npm ci`, and gen/twilio_py.py):  node gen/twilio_node.mjs
import querystring from "node:querystring";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const twilio = require("twilio");
const PATH = new URL("../twilio.json", import.meta.url);
const VERSION = JSON.parse(readFileSync(new URL("../node_modules/twilio/package.json", import.meta.url))).version;
const PKG = `twilio@${VERSION}`;

async function outcome(fn) {
  try {
    return { returned: await fn() };
  } catch (e) {
    return { raised: `${e?.constructor?.name ?? "Error"}: ${e?.message ?? e}` };
  }
}

// Vectors whose signature was deliberately made from other data than the request's.
const OTHER_DATA = new Set(["tampered_param", "missing_param", "form_duplicates_not_deduped", "sort_codepoint_order"]);
const MANGLED = new Set(["truncated_sig", "empty_sig", "sig_without_padding"]);

const doc = JSON.parse(readFileSync(PATH, "utf8"));
for (const v of doc.vectors) {
  const body = Buffer.from(v.body_hex, "hex");
  const sig = v.headers["X-Twilio-Signature"];
  const algo = v.algorithm;
  const isJson = v.content_type === "application/json";
  const signParams = {};
  for (const [k, val] of v.params_wire_order) (signParams[k] ??= []).push(val);
  if (OTHER_DATA.has(v.name) || MANGLED.has(v.name)) {
    v.node_sdk_signature = null;
    v.node_sdk_signature_matches = "n/a (signature made from other data, or mangled, on purpose)";
  } else {
    v.node_sdk_signature = twilio.getExpectedTwilioSignature(v.signing_token, v.url_signed, isJson ? {} : signParams, algo);
    v.node_sdk_signature_matches = v.node_sdk_signature === sig;
  }
  if (isJson) {
    v.sdk_results[`${PKG} validateRequestWithBody(token, sig, url_verify, rawBodyBuffer)`] =
      await outcome(() => twilio.validateRequestWithBody(v.verify_token, sig, v.url_verify, body, algo));
    v.sdk_results[`${PKG} validateRequestWithBody(token, sig, url_verify, rawBody.toString('utf8'))`] =
      await outcome(() => twilio.validateRequestWithBody(v.verify_token, sig, v.url_verify, body.toString("utf8"), algo));
  } else {
    const params = v.content_type ? querystring.parse(body.toString("utf8")) : {};
    v.sdk_results[`${PKG} validateRequest(token, sig, url_verify, querystring.parse(body))`] =
      await outcome(() => twilio.validateRequest(v.verify_token, sig, v.url_verify, params, algo));
  }
}
doc.packages = [...new Set([...doc.packages, PKG])];
doc.node = process.version;
writeFileSync(PATH, JSON.stringify(doc, null, 2) + "\n");
for (const v of doc.vectors) {
  console.log(v.name.padEnd(28), v.expected_by_scheme.padEnd(14), String(v.node_sdk_signature_matches).slice(0, 5).padEnd(6),
    JSON.stringify(Object.values(v.sdk_results).map((r) => r.returned ?? r.raised ?? r.not_run)));
}

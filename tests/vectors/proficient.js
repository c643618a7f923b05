// Computes the Proficient test vectors with the vendor's own backend code (Node crypto).
// Run: node tests/vectors/proficient.js > tests/vectors/proficient.json
const { createHmac } = require("crypto");

// Verbatim from the Proficient authentication doc (server.ts).
function userHmac(secret, userExternalId) {
  return createHmac("sha256", secret).update(userExternalId).digest("base64");
}

// The doc's publishable key and HMAC secret.
const apiKey = "pk_40NDqyJqjBe6DJyLn44HBEgi0loTunwLdjWHhcOUGONSkpomQx0qInkWLtu0ouwSr6qqE7HQ";
const secret = "hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA";
const docUser = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";

// The longest external id the layer accepts: 256 characters.
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const longId = Array.from({ length: 256 }, (_, i) => alphabet[(i * 7) % alphabet.length]).join("");

const valid = [
  { name: "doc example", external_id: docUser },
  { name: "id with - _ . and @", external_id: "user-42_test.account@example.com" },
  { name: "Auth0-style id with |", external_id: "auth0|5f7c8ec7c33c6c004bbafe82" },
  { name: "256-character id", external_id: longId },
].map((v) => ({ ...v, secret, hmac: userHmac(secret, v.external_id) }));

// Requests for the doc user, checked against the doc secret; `error` is the expected JSON error code.
const raw = (key, id) => createHmac("sha256", key).update(id);
const invalid = [
  { name: "hex instead of base64", hmac: raw(secret, docUser).digest("hex"),
    error: "malformed_credentials" },
  { name: "url-safe base64, unpadded", hmac: raw(secret, docUser).digest("base64url"),
    error: "malformed_credentials" },
  { name: "url-safe base64, padded", hmac: raw(secret, docUser).digest("base64url") + "=",
    error: "malformed_credentials" },
  { name: "standard base64 without padding", hmac: userHmac(secret, docUser).replace(/=+$/, ""),
    error: "malformed_credentials" },
  { name: "HMAC of another user", hmac: userHmac(secret, "someone-else"),
    error: "invalid_credentials" },
  { name: "HMAC under another secret",
    hmac: userHmac("hsec_notTheProjectSecret000000000000000000000000000000000000000000000000", docUser),
    error: "invalid_credentials" },
].map((v) => ({ name: v.name, external_id: docUser, secret, hmac: v.hmac, error: v.error }));

console.log(JSON.stringify({ generated_by: "node tests/vectors/proficient.js", api_key: apiKey, valid, invalid }, null, 2));

// Spike access tokens whose header names an algorithm other than HS256, made with Node's built-in
// crypto so that the public-key signatures are real ones (keys generated on each run, public keys
// kept as JWKs so the signatures can be checked), plus the HMAC-based and unsigned cases.
// Run: node tests/vectors/spike_alg.mjs > tests/vectors/spike_alg.json
import { createHmac, generateKeyPairSync, sign } from "node:crypto";

// The claims of a valid token of the test application, and the tests' token key (32 bytes 0x42):
// only the algorithm differs from a token the bearer layer accepts.
const claims = { iss: "9999", sub: "alice" };
const tokenKey = Buffer.alloc(32, 0x42);

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const signingInput = (alg) =>
  b64url(JSON.stringify({ alg, typ: "JWT" })) + "." + b64url(JSON.stringify(claims));
const hmac = (hash, input) => createHmac(hash, tokenKey).update(input).digest();

const tokens = [];
const add = (name, alg, signature, publicJwk, note) => {
  const input = signingInput(alg);
  tokens.push({ name, alg, ...(note && { note }), ...(publicJwk && { public_jwk: publicJwk }),
    token: input + "." + b64url(signature(input)) });
};

// The control: HS256 with the token key, accepted.
add("HS256 with the token key", "HS256", (input) => hmac("sha256", input));

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
add("RS256, RSA 2048 PKCS#1 v1.5", "RS256",
  (input) => sign("sha256", Buffer.from(input), rsa.privateKey),
  rsa.publicKey.export({ format: "jwk" }));

const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
add("ES256, P-256 (JOSE r||s signature)", "ES256",
  (input) => sign("sha256", Buffer.from(input), { key: ec.privateKey, dsaEncoding: "ieee-p1363" }),
  ec.publicKey.export({ format: "jwk" }));

const ed = generateKeyPairSync("ed25519");
add("EdDSA, Ed25519", "EdDSA",
  (input) => sign(null, Buffer.from(input), ed.privateKey),
  ed.publicKey.export({ format: "jwk" }));

// Key confusion: the header says RS256, the signature is HS256 made with the token key.
add("RS256 header, HMAC-SHA256 with the token key", "RS256", (input) => hmac("sha256", input),
  null, "what a verifier using the HMAC key as an RSA public key would accept");

add("HS384 with the token key", "HS384", (input) => hmac("sha384", input));
add("HS512 with the token key", "HS512", (input) => hmac("sha512", input));
add("none, empty signature", "none", () => Buffer.alloc(0));

console.log(JSON.stringify({
  generated_by: "node tests/vectors/spike_alg.mjs > tests/vectors/spike_alg.json",
  token_key_hex: tokenKey.toString("hex"),
  claims,
  tokens,
}, null, 2));

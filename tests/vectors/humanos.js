// Computes the Humanos test vectors with the vendor's own generateSignature (Node crypto).
// Run: node tests/vectors/humanos.js > tests/vectors/humanos.json
const crypto = require("crypto");

// Verbatim from the Humanos authentication doc.
function generateSignature(data, secret, timestamp) {
  const hmac = crypto.createHmac("sha256", secret);
  hmac.update(data ? `${timestamp}.${data}` : timestamp.toString());
  return hmac.digest("hex");
}

// For bytes that are not UTF-8 text the message is the same concatenation, fed as bytes.
function signBytes(buf, secret, timestamp) {
  const hmac = crypto.createHmac("sha256", secret);
  hmac.update(`${timestamp}.`);
  hmac.update(buf);
  return hmac.digest("hex");
}

const secret = "YOUR_SIGNATURE_SECRET";
const timestamp = 1763800000000;
const docBody = JSON.stringify({
  "contacts": ["+351912345678"],
  "processIds": ["64c8e5f7d5a4f9123b7c9a1e"]
});
const utf8Body = JSON.stringify({ name: "José Müller", city: "Zürich", note: "naïve – 🙂 日本" });
const binary = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x0a, 0x0d, 0xc3, 0x28, 0xfe, 0x00]);

const vectors = [
  { name: "doc GET, empty body", api_key: "YOUR_API_KEY", secret, timestamp: String(timestamp),
    body_hex: "", signature: generateSignature("", secret, timestamp) },
  { name: "doc POST body", api_key: "YOUR_API_KEY", secret, timestamp: String(timestamp),
    body_hex: Buffer.from(docBody, "utf8").toString("hex"), signature: generateSignature(docBody, secret, timestamp) },
  { name: "UTF-8 body with non-ASCII characters", api_key: "YOUR_API_KEY", secret, timestamp: String(timestamp),
    body_hex: Buffer.from(utf8Body, "utf8").toString("hex"), signature: generateSignature(utf8Body, secret, timestamp) },
  { name: "binary body (not UTF-8)", api_key: "YOUR_API_KEY", secret, timestamp: String(timestamp),
    body_hex: binary.toString("hex"), signature: signBytes(binary, secret, timestamp) },
  { name: "body \"0\" is not empty", api_key: "YOUR_API_KEY", secret, timestamp: String(timestamp),
    body_hex: Buffer.from("0").toString("hex"), signature: generateSignature("0", secret, timestamp) },
];
console.log(JSON.stringify({ generated_by: "node tests/vectors/humanos.js", vectors }, null, 2));

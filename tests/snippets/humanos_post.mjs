// Verbatim from the Humanos API docs (/work/shared/providers/humanos.md): the generateSignature
// block followed by the "Example: POST Request (with body)" block. tests/vendor_snippets.rs replaces the host
// https://api.humanos.id by the mock server's and appends one line printing the HTTP status.
import crypto from "crypto";

function generateSignature(data, secret, timestamp) {
  const hmac = crypto.createHmac("sha256", secret);
  hmac.update(data ? `${timestamp}.${data}` : timestamp.toString());
  return hmac.digest("hex");
}

import fetch from "node-fetch";

const apiKey = "YOUR_API_KEY";
const signatureSecret = "YOUR_SIGNATURE_SECRET";
const body = JSON.stringify({
  "contacts": ["+351912345678"],
  "processIds": ["64c8e5f7d5a4f9123b7c9a1e"]
});

const timestamp = Date.now();
const signature = generateSignature(body, signatureSecret, timestamp);

const response = await fetch("https://api.humanos.id/v0/process/generate", {
  method: "POST",
  headers: {
    "Authorization": `Bearer ${apiKey}`,
    "Content-Type": "application/json",
    "X-Timestamp": timestamp.toString(),
    "X-Signature": signature
  },
  body
});
console.log(await response.json());

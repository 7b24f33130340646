import { createHmac } from "node:crypto";

/**
 * Standard Webhooks v1 (https://www.standardwebhooks.com, docs/seller-contract.md): the key is the bytes the base64 after
 * `whsec_` decodes to; the signed content is `<webhook-id>.<webhook-timestamp>.<body>`; the header value is
 * `v1,` + base64 of the HMAC-SHA256.
 */
export function webhookKeyBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret, "base64");
}

export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", webhookKeyBytes(secret)).update(`${id}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${mac}`;
}

export function webhookHeaders(secret: string, id: string, timestampSeconds: number, body: string): Record<string, string> {
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signWebhook(secret, id, timestampSeconds, body),
  };
}

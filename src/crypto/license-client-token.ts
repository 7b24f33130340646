import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { derivedKey } from "./derived-key";

/*
 * License client tokens: what the seller embeds in its installed software so that it may call the edge license
 * service (activate, heartbeat, read, usage) for codes of one product, and nothing else. Nothing is stored: a token is
 * `lct1.<generation>.<base64url(productId)>.<base64url(HMAC-SHA256(key, generation "\n" productId))>` with a key
 * derived from DATA_KEY for this purpose only, so the gateway recomputes it on every call. Rotation: raising
 * LICENSE_CLIENT_TOKEN_GENERATION issues new tokens while the previous generation keeps working (time to ship the
 * update); raising it by two revokes every earlier token at once.
 */

const LABEL = "koogallery-gateway license client token v1";
const PREFIX = "lct1";
export const MAX_PRODUCT_ID_LENGTH = 64;

export interface LicenseClient {
  productId: string;
  generation: number;
}

function macOf(dataKeyB64: string, generation: number, productId: string): string {
  return createHmac("sha256", derivedKey(dataKeyB64, LABEL)).update(`${generation}\n${productId}`, "utf8").digest("base64url");
}

export function issueLicenseClientToken(dataKeyB64: string, productId: string, generation: number): string {
  return `${PREFIX}.${generation}.${Buffer.from(productId, "utf8").toString("base64url")}.${macOf(dataKeyB64, generation, productId)}`;
}

/** The client a token was issued to, or null when it is not a valid token of the current or the previous generation. */
export function verifyLicenseClientToken(token: string, dataKeyB64: string, currentGeneration: number): LicenseClient | null {
  const parts = token.split(".");
  if (parts.length !== 4 || parts[0] !== PREFIX) return null;
  const [, generationText = "", productB64 = "", mac = ""] = parts;
  if (!/^[1-9]\d{0,6}$/.test(generationText)) return null;
  const generation = Number(generationText);
  if (generation !== currentGeneration && generation !== currentGeneration - 1) return null;
  const productId = Buffer.from(productB64, "base64url").toString("utf8");
  if (productId === "" || productId.length > MAX_PRODUCT_ID_LENGTH || Buffer.from(productId, "utf8").toString("base64url") !== productB64) return null;
  // Digests of equal length: the comparison time tells nothing about the token.
  const same = timingSafeEqual(digest(mac), digest(macOf(dataKeyB64, generation, productId)));
  return same ? { productId, generation } : null;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

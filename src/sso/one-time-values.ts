import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { derivedKey } from "../crypto/derived-key";

/*
 * The random values SSO hands out (the state sent to the tenant IdP, codes and access tokens for the app): 256 bits,
 * base64url. Only their SHA-256 is stored, so a copy of the database lets no one finish a sign-in or read userinfo.
 */

export function randomValue(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

export function digestOf(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

const STATE_LABEL = "oidc-state-mac";
const STATE = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/;

function stateMac(dataKey: string, id: string): Buffer {
  return createHmac("sha256", derivedKey(dataKey, STATE_LABEL)).update(id, "utf8").digest();
}

/** A new state for the tenant IdP: `<id>.<MAC of id>`, so a tampered value is refused before any lookup. */
export function newState(dataKey: string): { state: string; idHash: string } {
  const id = randomValue();
  return { state: `${id}.${stateMac(dataKey, id).toString("base64url")}`, idHash: digestOf(id) };
}

/** The stored key of a state that carries a valid MAC, else undefined. */
export function stateIdHash(dataKey: string, state: string): string | undefined {
  const match = STATE.exec(state);
  const id = match?.[1];
  const mac = match?.[2];
  if (id === undefined || mac === undefined) return undefined;
  const given = Buffer.from(mac, "base64url");
  const expected = stateMac(dataKey, id);
  return given.length === expected.length && timingSafeEqual(given, expected) ? digestOf(id) : undefined;
}

/** PKCE S256 (RFC 7636 §4.2): BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

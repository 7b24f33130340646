import { createPrivateKey, createPublicKey } from "node:crypto";
import { z } from "zod";
import { oncePerEnv, publicOrigin } from "../env";

/*
 * Single sign-on settings, parsed on their own: SSO is an optional feature, so a broken SSO setting disables SSO only
 * (its routes answer 503 and admin health names the setting), and never touches the Marketplace's callbacks.
 */

/** The parsed settings of an enabled SSO. */
export interface SsoConfig {
  /** The origin browsers reach the gateway at (PUBLIC_URL), without a trailing slash. */
  publicUrl: string;
  /** `PUBLIC_URL + "/oidc"`. */
  issuer: string;
  /** Where the tenant IdPs send the browser back: `PUBLIC_URL/oidc/callback`. */
  callbackUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUris: readonly string[];
  /** PKCS#8 PEM (RSA, ≥ 2048 bits) that signs id_tokens. */
  signingKey: string;
  /** SPKI PEM of the key used before the last rotation, still published in the JWKS. */
  previousPublicKey?: string;
  /** DATA_KEY: opens the sealed tenant client secrets and keys the state MAC. */
  dataKey: string;
}

export type SsoSettings =
  | { state: "off" }
  | { state: "on"; config: SsoConfig }
  | { state: "broken"; setting: string; problem: string };

const MIN_RSA_BITS = 2048;
const MIN_CLIENT_SECRET_LENGTH = 32;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** https, or http to a loopback host (local development and tests). */
export function isAllowedUrl(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.test(url.hostname));
}

function parsedUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** Secret stores and .dev.vars often hold a PEM on one line with literal `\n`. */
export const pemText = (value: string): string => value.replace(/\\n/g, "\n").trim();

const text = z.string().trim().min(1, "is missing");

// The setting's one rule (env.ts publicOrigin): SSO only adds that it is required.
const publicUrl = text.pipe(publicOrigin);

const redirectUris = text
  .transform((value) => value.split(",").map((uri) => uri.trim()).filter(Boolean))
  .refine((uris) => uris.length > 0, "lists no redirect URI")
  .refine(
    (uris) =>
      uris.every((uri) => {
        const url = parsedUrl(uri);
        return url !== undefined && isAllowedUrl(url) && !url.hash && url.href === uri;
      }),
    "must be comma-separated absolute URLs, https:// (http:// only for 127.0.0.1 or localhost), without fragments, written as URL normalisation writes them (e.g. https://app.example.com/callback)",
  );

const signingKey = text.refine((value) => {
  try {
    const key = createPrivateKey({ key: pemText(value), format: "pem" });
    if (!/-----BEGIN PRIVATE KEY-----/.test(value) || key.asymmetricKeyType !== "rsa") return false;
    const modulus = key.export({ format: "jwk" }).n ?? "";
    return Buffer.from(modulus, "base64url").length * 8 >= MIN_RSA_BITS;
  } catch {
    return false;
  }
}, `must be a PKCS#8 PEM of an RSA key of at least ${MIN_RSA_BITS} bits (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)`);

const previousPublicKey = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value ? value : undefined))
  .refine((value) => {
    if (value === undefined) return true;
    try {
      const key = createPublicKey({ key: pemText(value), format: "pem" });
      return /-----BEGIN PUBLIC KEY-----/.test(value) && key.asymmetricKeyType === "rsa";
    } catch {
      return false;
    }
  }, "must be an SPKI PEM of the previous RSA key's public half (openssl pkey -in old.pem -pubout)");

const dataKey = text.refine((value) => /^[A-Za-z0-9+/]{43}=$/.test(value), "must be base64 of exactly 32 bytes (openssl rand -base64 32)");

const SsoRaw = z.object({
  PUBLIC_URL: publicUrl,
  OIDC_CLIENT_ID: text.refine((value) => /^[\x21-\x7e]+$/.test(value), "must be printable ASCII without spaces"),
  OIDC_CLIENT_SECRET: text.refine((value) => value.length >= MIN_CLIENT_SECRET_LENGTH, `must be at least ${MIN_CLIENT_SECRET_LENGTH} characters (openssl rand -base64 32)`),
  OIDC_REDIRECT_URIS: redirectUris,
  OIDC_SIGNING_KEY: signingKey.transform(pemText),
  OIDC_PREVIOUS_PUBLIC_KEY: previousPublicKey.transform((value) => (value === undefined ? undefined : pemText(value))),
  DATA_KEY: dataKey,
});

/** The names SSO reads, in the order a problem is reported. */
const NAMES = Object.keys(SsoRaw.shape);

export function parseSsoSettings(env: object): SsoSettings {
  const values = env as Record<string, unknown>;
  const clientId = values.OIDC_CLIENT_ID;
  if (typeof clientId !== "string" || clientId.trim() === "") return { state: "off" };
  const input: Record<string, unknown> = {};
  // Empty strings from [vars] mean "unset", as for the other settings.
  for (const name of NAMES) {
    const value = values[name];
    input[name] = typeof value === "string" && value.trim() === "" ? undefined : value;
  }
  const result = SsoRaw.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const setting = String(issue?.path[0] ?? "unknown");
    return { state: "broken", setting, problem: issue?.code === "invalid_type" ? "is missing (required when OIDC_CLIENT_ID is set)" : (issue?.message ?? "is invalid") };
  }
  const raw = result.data;
  return {
    state: "on",
    config: {
      publicUrl: raw.PUBLIC_URL,
      issuer: `${raw.PUBLIC_URL}/oidc`,
      callbackUrl: `${raw.PUBLIC_URL}/oidc/callback`,
      clientId: raw.OIDC_CLIENT_ID,
      clientSecret: raw.OIDC_CLIENT_SECRET,
      redirectUris: raw.OIDC_REDIRECT_URIS,
      signingKey: raw.OIDC_SIGNING_KEY,
      ...(raw.OIDC_PREVIOUS_PUBLIC_KEY ? { previousPublicKey: raw.OIDC_PREVIOUS_PUBLIC_KEY } : {}),
      dataKey: raw.DATA_KEY,
    },
  };
}

/** Parsed once per env object, like the other settings. */
export const getSsoSettings: (env: object) => SsoSettings = oncePerEnv(parseSsoSettings);

/** For admin health: SSO's state, and when broken which setting and what rule it breaks (never its value). */
export function ssoHealth(env: object): "off" | "on" | { setting: string; problem: string } {
  const settings = getSsoSettings(env);
  return settings.state === "broken" ? { setting: settings.setting, problem: settings.problem } : settings.state;
}

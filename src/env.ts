import { z } from "zod";
import { ConfigurationError } from "./protocol/errors";
import { billColumnsSetting } from "./statements/bill-columns";
import { isTimeZone } from "./statements/period";

const secret = z.string().trim().min(1, "is empty");
const optionalSecret = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value ? value : undefined));

const boolFlag = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(["true", "false", "1", "0"], { message: 'must be "true" or "false"' }))
  .transform((value) => value === "true" || value === "1");

export const httpsOrLocalUrl = z
  .string()
  .trim()
  .url("is not a URL")
  .refine((value) => /^https:\/\//.test(value) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(value), {
    message: "must be https:// (http:// only for 127.0.0.1 or localhost)",
  })
  .transform((value) => value.replace(/\/+$/, ""));

/** An origin (scheme, host, port) the Marketplace and browsers reach: https, or http only for loopback. */
export const publicOrigin = httpsOrLocalUrl.refine((value) => new URL(value).origin === value, {
  message: "must be an origin only (https://host, no path or query)",
});

/** Standard Webhooks secrets: `whsec_` + base64 of the key bytes; 24–64 bytes as docs/seller-contract.md requires. */
function isWebhookSecret(value: string): boolean {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (!match?.[1]) return false;
  const bytes = Buffer.from(match[1], "base64");
  return bytes.length >= 24 && bytes.length <= 64 && bytes.toString("base64").replace(/=+$/, "") === match[1].replace(/=+$/, "");
}

const dataKey = secret.refine(
  (value) => {
    try {
      return atob(value).length === 32;
    } catch {
      return false;
    }
  },
  { message: "must be base64 of exactly 32 bytes (openssl rand -base64 32)" },
);

const pkcs8Pem = optionalSecret.refine(
  (value) => value === undefined || /-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----/.test(value),
  { message: "must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----); convert with openssl pkcs8 -topk8 -nocrypt" },
);

/** DER prefixes of an Ed25519 key (RFC 8410): PKCS#8 private key and SPKI public key, each followed by the 32 key bytes. */
const ED25519_PKCS8_PREFIX = "302e020100300506032b657004220420";
const ED25519_SPKI_PREFIX = "302a300506032b6570032100";

function pemDerHex(pem: string, label: string): string | undefined {
  const match = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(pem);
  if (!match?.[1]) return undefined;
  try {
    return Buffer.from(match[1].replace(/\s+/g, ""), "base64").toString("hex");
  } catch {
    return undefined;
  }
}

const ed25519Pem = (label: "PRIVATE KEY" | "PUBLIC KEY", prefix: string, hint: string) =>
  optionalSecret.refine(
    (value) => {
      if (value === undefined) return true;
      const der = pemDerHex(value, label);
      return der !== undefined && der.startsWith(prefix) && der.length === prefix.length + 64;
    },
    { message: hint },
  );

/**
 * The settings the Marketplace's own interfaces need (callbacks, usage push, query order, licenses), as raw bindings
 * (wrangler and the secrets store give every setting as a string). A broken one answers every callback 000005.
 * A setting only an optional feature reads belongs in FEATURE_SETTINGS instead.
 */
export const RawSettings = z.object({
  SAAS_ACCESS_KEY: secret,
  KIT_ACCESS_KEY: optionalSecret,
  LICENSE_ACCESS_KEY: optionalSecret,
  GENERAL_ACCESS_KEY: optionalSecret,
  MARKETPLACE_AK: secret,
  MARKETPLACE_SK: secret,
  USAGE_PUSH_KEY: optionalSecret,
  DATA_KEY: dataKey,
  KIT_RSA_PRIVATE_KEY: pkcs8Pem,
  MARKETPLACE_API_BASE: httpsOrLocalUrl.default("https://mkt.myhuaweicloud.com"),
  FRONTEND_URL_TEMPLATE: z
    .string()
    .trim()
    .refine((value) => value.includes("{instanceId}"), { message: "must contain {instanceId}" })
    .default("https://app.example.com/t/{instanceId}"),
  PROVISIONING_MODE: z.enum(["builtin", "webhook"]).default("builtin"),
  /** The seller backend that receives events (docs/seller-contract.md); empty = no webhook, the feed still works. */
  SELLER_WEBHOOK_URL: httpsOrLocalUrl.optional(),
  SELLER_WEBHOOK_SECRET: optionalSecret.refine((value) => value === undefined || isWebhookSecret(value), {
    message: "must be whsec_ + base64 of 24 to 64 random bytes (Standard Webhooks format)",
  }),
  SIGNATURE_TOLERANCE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  ENABLE_V1: boolFlag.default(true),
  /** V1 "敏感信息加密算法" chosen when the product was listed (spec §5.2): "1" AES-256 (default), "2" AES-128. */
  V1_ENCRYPT_TYPE: z.enum(["1", "2"]).default("1"),
  /**
   * V1 calls carry no nonce and no documented freshness rule (spec §5.1), and the Marketplace retries a V1 purchase
   * for 3 h: refuse a `timeStamp` older than this (0 = never). Repeats inside the window are answered idempotently.
   */
  V1_TIMESTAMP_MAX_AGE_SECONDS: z.coerce.number().int().min(0).max(7 * 86400).default(86400),
  USAGE_PUSH_API: z.enum(["new", "old"]).default("new"),
  /** Online licenses (getLicenseAsync): "builtin" signs a JWS itself, "webhook" asks the seller's backend. */
  LICENSE_MODE: z.enum(["builtin", "webhook"]).default("builtin"),
  LICENSE_SIGNING_KEY: ed25519Pem("PRIVATE KEY", ED25519_PKCS8_PREFIX, "must be a PKCS#8 PEM of an Ed25519 key (openssl genpkey -algorithm ed25519)"),
  /** The key signed with before the last rotation: its public half stays in the JWKS while old licenses are in use. */
  LICENSE_PREVIOUS_PUBLIC_KEY: ed25519Pem("PUBLIC KEY", ED25519_SPKI_PREFIX, "must be an SPKI PEM of an Ed25519 public key (openssl pkey -pubout)"),
  /** `iss` of builtin licenses; default: the origin of the URL the Marketplace called. */
  LICENSE_ISSUER: z.string().trim().url("is not a URL").optional(),
  /**
   * Comma-separated product ids whose licenses bind to a device: getLicenseAsync without deviceFingerprint is 000903,
   * and an order holds at most its quantity of devices (000900). "*" = every product.
   */
  LICENSE_DEVICE_PRODUCTS: z.string().optional(),
  /** Comma-separated product ids billed per day instead of per hour (spec README point 10). */
  DAILY_BILLED_PRODUCTS: z.string().optional(),
  /** A license-code callback for a code never seen: record it (default) or answer 000003 (src/license-codes/license-code.ts). */
  LICENSE_UNKNOWN_CODES: z.enum(["record", "reject"]).default("record"),
  /** License client tokens of this generation and the one before are accepted; raising it rotates them (README). */
  LICENSE_CLIENT_TOKEN_GENERATION: z.coerce.number().int().min(1).max(1_000_000).default(1),
});

export type Settings = ReturnType<typeof toSettings>;

/** The interface types a key is bound to (spec §2.5), plus the key that signs the new usage push. */
export type KeyKind = "saas" | "kit" | "license" | "general" | "usagePush";

const KEY_SETTINGS = {
  saas: "SAAS_ACCESS_KEY",
  kit: "KIT_ACCESS_KEY",
  license: "LICENSE_ACCESS_KEY",
  general: "GENERAL_ACCESS_KEY",
  usagePush: "USAGE_PUSH_KEY",
} as const satisfies Record<KeyKind, keyof z.infer<typeof RawSettings>>;

/**
 * The one fallback rule for keys (spec README point 3): an interface's own key when set (not blank), else
 * SAAS_ACCESS_KEY. Works on parsed settings and on raw bindings alike, so a callback can still sign its answer
 * with its own key when some other setting is broken (callback-shell.ts).
 */
export function keyFor(kind: KeyKind, values: object): string | undefined {
  const lookup = values as Record<string, unknown>;
  return nonBlank(lookup[KEY_SETTINGS[kind]]) ?? nonBlank(lookup[KEY_SETTINGS.saas]);
}

function nonBlank(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

function toSettings(raw: z.infer<typeof RawSettings>) {
  return {
    keys: {
      saas: raw.SAAS_ACCESS_KEY,
      kit: keyFor("kit", raw) ?? raw.SAAS_ACCESS_KEY,
      license: keyFor("license", raw) ?? raw.SAAS_ACCESS_KEY,
      general: keyFor("general", raw) ?? raw.SAAS_ACCESS_KEY,
      usagePush: keyFor("usagePush", raw) ?? raw.SAAS_ACCESS_KEY,
    },
    marketplace: { ak: raw.MARKETPLACE_AK, sk: raw.MARKETPLACE_SK, apiBase: raw.MARKETPLACE_API_BASE },
    dataKey: raw.DATA_KEY,
    kitRsaPrivateKey: raw.KIT_RSA_PRIVATE_KEY,
    frontendUrlTemplate: raw.FRONTEND_URL_TEMPLATE,
    provisioning: { mode: raw.PROVISIONING_MODE },
    sellerWebhook:
      raw.SELLER_WEBHOOK_URL && raw.SELLER_WEBHOOK_SECRET ? { url: raw.SELLER_WEBHOOK_URL, secret: raw.SELLER_WEBHOOK_SECRET } : undefined,
    signatureToleranceMs: raw.SIGNATURE_TOLERANCE_SECONDS * 1000,
    enableV1: raw.ENABLE_V1,
    v1EncryptType: raw.V1_ENCRYPT_TYPE,
    v1MaxAgeMs: raw.V1_TIMESTAMP_MAX_AGE_SECONDS * 1000,
    usagePushApi: raw.USAGE_PUSH_API,
    licenseUnknownCodes: raw.LICENSE_UNKNOWN_CODES,
    licenseClientTokenGeneration: raw.LICENSE_CLIENT_TOKEN_GENERATION,
    license: {
      mode: raw.LICENSE_MODE,
      signingKey: raw.LICENSE_SIGNING_KEY,
      previousPublicKey: raw.LICENSE_PREVIOUS_PUBLIC_KEY,
      issuer: raw.LICENSE_ISSUER,
      deviceProducts: new Set((raw.LICENSE_DEVICE_PRODUCTS ?? "").split(",").map((id) => id.trim()).filter(Boolean)) as ReadonlySet<string>,
    },
    billing: { dailyBilledProducts: new Set((raw.DAILY_BILLED_PRODUCTS ?? "").split(",").map((id) => id.trim()).filter(Boolean)) as ReadonlySet<string> },
  } as const;
}

/** Empty strings from [vars] mean "unset", so defaults apply. */
function withoutBlanks(env: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string" && value.trim() === "") continue;
    out[name] = value;
  }
  return out;
}

/** The first issue of a failed parse as the setting it names and the rule it breaks (never its value). */
function configurationErrorOf(error: z.ZodError): ConfigurationError {
  const issue = error.issues[0];
  const setting = String(issue?.path[0] ?? "unknown");
  return new ConfigurationError(setting, issue?.code === "invalid_type" ? "is missing" : (issue?.message ?? "is invalid"));
}

export function parseSettings(env: object): Settings {
  const result = RawSettings.safeParse(withoutBlanks(env));
  if (!result.success) throw configurationErrorOf(result.error);
  const raw = result.data;
  if (raw.SELLER_WEBHOOK_URL && !raw.SELLER_WEBHOOK_SECRET) {
    throw new ConfigurationError("SELLER_WEBHOOK_SECRET", "is required when SELLER_WEBHOOK_URL is set");
  }
  if (raw.PROVISIONING_MODE === "webhook" && !raw.SELLER_WEBHOOK_URL) {
    throw new ConfigurationError("SELLER_WEBHOOK_URL", "is required when PROVISIONING_MODE is webhook");
  }
  if (raw.LICENSE_MODE === "webhook" && !raw.SELLER_WEBHOOK_URL) {
    throw new ConfigurationError("SELLER_WEBHOOK_URL", "is required when LICENSE_MODE is webhook");
  }
  return toSettings(raw);
}

/**
 * Optional features, each with settings of its own that the Marketplace's interfaces never read. A broken group
 * disables its feature alone (its routes answer 503) and shows in health; callbacks go on. Adding a feature is one
 * entry: a zod schema of its raw settings, with cross-setting rules as refinements whose path names the setting,
 * transformed into what the feature reads; `featureSettings(env, name)` then gives it, typed.
 */
export const FEATURE_SETTINGS = {
  /** The operator's admin API and page (src/admin/admin-auth.ts reads the binding itself, so health stays reachable). */
  admin: z.object({ ADMIN_TOKEN: secret }).transform((raw) => ({ token: raw.ADMIN_TOKEN })),
  /** /api/v1: the seller's product. Its token must not open the admin API, nor the other way round. */
  sellerApi: z
    .object({ SELLER_API_TOKEN: secret, ADMIN_TOKEN: optionalSecret })
    .refine((raw) => raw.SELLER_API_TOKEN !== raw.ADMIN_TOKEN, { path: ["SELLER_API_TOKEN"], message: "must differ from ADMIN_TOKEN" })
    .transform((raw) => ({ token: raw.SELLER_API_TOKEN })),
  /**
   * The https origin browsers reach (http:// only for a loopback address): the admin links in alerts, single sign-on's
   * issuer, the self-check's public_url. No Marketplace interface needs it, so a malformed one never answers 000005.
   */
  publicUrl: z.object({ PUBLIC_URL: publicOrigin.optional() }).transform((raw) => ({ url: raw.PUBLIC_URL })),
  /**
   * Statements and their reconciliation (src/statements): the zone of the Marketplace's bills, the currency named on
   * the statement (query order's amounts carry none), and the bill export's column headers. Broken, only the
   * statement routes answer 503.
   */
  statements: z
    .object({
      STATEMENT_TIMEZONE: z
        .string()
        .trim()
        .refine(isTimeZone, { message: "must be an IANA time zone such as Asia/Shanghai" })
        .default("Asia/Shanghai"),
      STATEMENT_CURRENCY: z
        .string()
        .trim()
        .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as CNY")
        .default("CNY"),
      BILL_COLUMNS: billColumnsSetting,
    })
    .transform((raw) => ({ timeZone: raw.STATEMENT_TIMEZONE, currency: raw.STATEMENT_CURRENCY, billColumns: raw.BILL_COLUMNS })),
};

export type Feature = keyof typeof FEATURE_SETTINGS;
export type FeatureSettings<F extends Feature> = z.output<(typeof FEATURE_SETTINGS)[F]>;
/** "marketplace" is the group of RawSettings: the one whose problems reach the Marketplace as 000005. */
export type SettingGroup = "marketplace" | Feature;
export type SettingProblem = { setting: string; problem: string };

type FeatureResults = { [F in Feature]: { ok: true; value: FeatureSettings<F> } | { ok: false; error: ConfigurationError } };

const parseFeatures = oncePerEnv((env: object): FeatureResults => {
  const raw = withoutBlanks(env);
  const results: Partial<Record<Feature, unknown>> = {};
  for (const name of Object.keys(FEATURE_SETTINGS) as Feature[]) {
    const parsed = FEATURE_SETTINGS[name].safeParse(raw);
    results[name] = parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: configurationErrorOf(parsed.error) };
  }
  return results as FeatureResults;
});

/** A feature's settings, parsed once per env; throws its ConfigurationError when the group is broken. */
export function featureSettings<F extends Feature>(env: object, name: F): FeatureSettings<F> {
  const result = parseFeatures(env)[name];
  if (!result.ok) throw result.error;
  return result.value;
}

/** A feature's settings, or undefined while they are broken (the health names them): for a use that can do without. */
export function featureSettingsIfValid<F extends Feature>(env: object, name: F): FeatureSettings<F> | undefined {
  const result = parseFeatures(env)[name];
  return result.ok ? result.value : undefined;
}

/** Per group, what is wrong, by name and rule (never a value), or "ok". */
export function settingsProblems(env: object): Record<SettingGroup, SettingProblem | "ok"> {
  const problems = { marketplace: marketplaceProblem(env) ?? "ok" } as Record<SettingGroup, SettingProblem | "ok">;
  const features = parseFeatures(env);
  for (const name of Object.keys(FEATURE_SETTINGS) as Feature[]) {
    const result = features[name];
    problems[name] = result.ok ? "ok" : { setting: result.error.setting, problem: result.error.problem };
  }
  return problems;
}

/** The first problem of any group (the Marketplace's first); undefined when every group parses. */
export function settingsProblem(env: object): SettingProblem | undefined {
  return Object.values(settingsProblems(env)).find((problem): problem is SettingProblem => problem !== "ok");
}

function marketplaceProblem(env: object): SettingProblem | undefined {
  try {
    getSettings(env);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigurationError) return { setting: error.setting, problem: error.problem };
    return { setting: "unknown", problem: "could not be read" };
  }
}

/** `make`, run once per env object (the runtime keeps one per isolate) and remembered with it. */
export function oncePerEnv<E extends object, T>(make: (env: E) => T): (env: E) => T {
  const made = new WeakMap<E, T>();
  return (env) => {
    if (made.has(env)) return made.get(env) as T;
    const value = make(env);
    made.set(env, value);
    return value;
  };
}

/** Settings are parsed once per env object. */
export const getSettings: (env: object) => Settings = oncePerEnv(parseSettings);

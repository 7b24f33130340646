import { existsSync, readFileSync } from "node:fs";
import { keyFor } from "../../src/env";

/**
 * The runner reads the gateway's own setting names, so one file serves both: the access keys with the gateway's
 * fallback to SAAS_ACCESS_KEY (src/env.ts keyFor), and the settings that change what a right answer looks like.
 */
export interface RunnerSettings {
  keys: { saas: string; kit: string; license: string; general: string };
  v1EncryptType: "1" | "2";
  enableV1: boolean;
  /** SIGNATURE_TOLERANCE_SECONDS: a "stale" timestamp is older than this. */
  toleranceSeconds: number;
  /** V1_TIMESTAMP_MAX_AGE_SECONDS (0 = V1 accepts any age, so there is no stale V1 case). */
  v1MaxAgeSeconds: number;
  kitRsaPrivateKey: string | undefined;
  /** Single sign-on as the seller's app is configured with it (the sso suite); undefined while OIDC_CLIENT_ID is unset. */
  sso: { publicUrl: string; clientId: string; clientSecret: string; redirectUri: string } | undefined;
  /** Where each value came from, for the header line (never the values). */
  source: string;
}

/**
 * A dotenv file as wrangler reads `.dev.vars`: NAME=value, NAME="value" (\n, \" and \\ unescaped) or NAME='value',
 * `#` comments and blank lines skipped.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const pattern = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*("(?:[^"\\]|\\[\s\S])*"|'[^']*'|[^\n#]*)/gm;
  for (const match of text.matchAll(pattern)) {
    const [, name, raw = ""] = match;
    if (!name) continue;
    const value = raw.trim();
    if (value.startsWith('"')) values[name] = value.slice(1, -1).replace(/\\(n|r|t|"|\\)/g, (_, c: string) => ({ n: "\n", r: "\r", t: "\t" })[c] ?? c);
    else if (value.startsWith("'")) values[name] = value.slice(1, -1);
    else values[name] = value;
  }
  return values;
}

const NAMES = [
  "SAAS_ACCESS_KEY",
  "KIT_ACCESS_KEY",
  "LICENSE_ACCESS_KEY",
  "GENERAL_ACCESS_KEY",
  "V1_ENCRYPT_TYPE",
  "ENABLE_V1",
  "SIGNATURE_TOLERANCE_SECONDS",
  "V1_TIMESTAMP_MAX_AGE_SECONDS",
  "KIT_RSA_PRIVATE_KEY",
  "PUBLIC_URL",
  "OIDC_CLIENT_ID",
  "OIDC_CLIENT_SECRET",
  "OIDC_REDIRECT_URIS",
] as const;

/** The env file's values, each overridden by the same name in the process environment (dotenv's rule). */
export function loadSettings(envFile: string | undefined, processEnv: Readonly<Record<string, string | undefined>> = process.env): RunnerSettings {
  const file = envFile ?? ".dev.vars";
  if (envFile !== undefined && !existsSync(file)) throw new SettingsError(`--env-file ${file}: no such file`);
  const fromFile = existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")) : {};
  const merged: Record<string, string> = {};
  for (const name of NAMES) {
    const value = processEnv[name] ?? fromFile[name];
    if (value !== undefined) merged[name] = value;
  }
  const saas = keyFor("saas", merged);
  if (!saas) throw new SettingsError(`SAAS_ACCESS_KEY is not set (looked in ${existsSync(file) ? file : `${file} (missing)`} and the environment)`);
  const encryptType = (merged.V1_ENCRYPT_TYPE ?? "1").trim() || "1";
  if (encryptType !== "1" && encryptType !== "2") throw new SettingsError('V1_ENCRYPT_TYPE must be "1" or "2"');
  return {
    keys: { saas, kit: keyFor("kit", merged) ?? saas, license: keyFor("license", merged) ?? saas, general: keyFor("general", merged) ?? saas },
    v1EncryptType: encryptType,
    enableV1: !/^(false|0)$/i.test((merged.ENABLE_V1 ?? "true").trim()),
    toleranceSeconds: positiveNumber(merged.SIGNATURE_TOLERANCE_SECONDS, 60),
    v1MaxAgeSeconds: positiveNumber(merged.V1_TIMESTAMP_MAX_AGE_SECONDS, 86_400),
    kitRsaPrivateKey: merged.KIT_RSA_PRIVATE_KEY?.trim() || undefined,
    sso: merged.OIDC_CLIENT_ID?.trim()
      ? {
          publicUrl: (merged.PUBLIC_URL ?? "").trim().replace(/\/+$/, ""),
          clientId: merged.OIDC_CLIENT_ID.trim(),
          clientSecret: (merged.OIDC_CLIENT_SECRET ?? "").trim(),
          redirectUri: (merged.OIDC_REDIRECT_URIS ?? "").split(",")[0]?.trim() ?? "",
        }
      : undefined,
    source: existsSync(file) ? `${file} and the environment` : "the environment",
  };
}

function positiveNumber(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const number = Number(value);
  return Number.isFinite(number) && number >= 0 ? number : fallback;
}

export class SettingsError extends Error {}

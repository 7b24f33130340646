/**
 * Runs a deployment's self-check and prints it as a checklist:
 *
 *   npm run self-check -- --url https://<your host> --admin-token <ADMIN_TOKEN>
 *
 * POSTs /admin/api/self-check (every check, the debugger's cases through the gateway's own router included) and prints
 * one line per check, ✓ passed, ✗ failed (with what to fix), – skipped. Exit code: 0 every check passed or was
 * skipped; 1 a check failed; 2 the self-check could not be run (a wrong flag, no answer, a refused token).
 * One file with no import from src/ and no dependency: it runs on Node 22's type stripping, in CI too.
 */
import { pathToFileURL } from "node:url";

export interface Options {
  url: string;
  adminToken: string;
  timeoutMs: number;
}

interface Check {
  name: string;
  ok: boolean;
  skipped?: boolean;
  ms: number;
  detail: string;
  fix?: string;
}

interface Run {
  ok: boolean;
  ranAt: string;
  durationMs: number;
  checks: Check[];
}

export class CommandError extends Error {}

/** The gateway's own answer, at most this long: the run takes a few seconds, the interface cases included. */
const DEFAULT_TIMEOUT_MS = 60_000;

export function parseArguments(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): Options {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const match = /^--(url|admin-token|timeout)(?:=(.*))?$/.exec(argv[i] ?? "");
    if (!match?.[1]) throw new CommandError(`unknown argument "${argv[i]}" (flags: --url, --admin-token, --timeout)`);
    const value = match[2] ?? argv[++i];
    if (value === undefined || value.startsWith("--")) throw new CommandError(`--${match[1]} needs a value`);
    values[match[1]] = value;
  }
  const url = (values.url ?? "").replace(/\/+$/, "");
  if (!url) throw new CommandError("--url is required: the gateway's address, e.g. --url https://gateway.example.com");
  try {
    if (!/^https?:$/.test(new URL(url).protocol)) throw new Error();
  } catch {
    throw new CommandError(`--url ${url} is not an http(s) URL`);
  }
  const adminToken = values["admin-token"] ?? env.ADMIN_TOKEN ?? "";
  if (!adminToken) throw new CommandError("--admin-token is required (or ADMIN_TOKEN in the environment): the gateway's ADMIN_TOKEN");
  const timeoutMs = values.timeout === undefined ? DEFAULT_TIMEOUT_MS : Number(values.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CommandError("--timeout must be a number of seconds");
  return { url, adminToken, timeoutMs };
}

const MARK = { pass: "✓", fail: "✗", skip: "–" } as const;

/** The checklist, one line per check, a `fix:` line under each failure. */
export function checklist(run: Run, url: string): string[] {
  const count = (f: (c: Check) => boolean) => run.checks.filter(f).length;
  const width = Math.max(...run.checks.map((c) => c.name.length));
  const lines = [`self-check of ${url} at ${run.ranAt}: ${run.ok ? "OK" : "FAILED"} (${count((c) => c.ok && !c.skipped)} passed, ${count((c) => !c.ok)} failed, ${count((c) => c.skipped === true)} skipped; ${run.durationMs} ms)`];
  for (const check of run.checks) {
    const mark = check.skipped ? MARK.skip : check.ok ? MARK.pass : MARK.fail;
    lines.push(`${mark} ${check.name.padEnd(width)}  ${check.detail}`);
    if (!check.ok && check.fix) lines.push(`  ${" ".repeat(width)}  fix: ${check.fix}`);
  }
  return lines;
}

function isRun(value: unknown): value is Run {
  const run = value as Partial<Run> | null;
  return typeof run === "object" && run !== null && typeof run.ok === "boolean" && Array.isArray(run.checks);
}

/** Returns the exit code. */
export async function run(options: Options, print: (line: string) => void = console.log): Promise<number> {
  const endpoint = `${options.url}/admin/api/self-check`;
  let response: Response;
  try {
    response = await fetch(endpoint, { method: "POST", headers: { Authorization: `Bearer ${options.adminToken}`, Accept: "application/json" }, signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
    const reason = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${options.timeoutMs / 1000} s` : `${error instanceof Error ? error.message : String(error)}${cause}`;
    throw new CommandError(`could not reach ${endpoint}: ${reason}. Is --url the gateway's address, and is it running?`);
  }
  const text = await response.text();
  if (response.status === 401) throw new CommandError(`${endpoint} refused the token (401): --admin-token must be the gateway's ADMIN_TOKEN (not SELLER_API_TOKEN)`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.status !== 200 || !isRun(body)) {
    const error = (body as { error?: unknown } | undefined)?.error;
    throw new CommandError(`${endpoint} answered HTTP ${response.status}${typeof error === "string" ? `: ${error}` : ""}; is --url a gateway of version 0.3.0 or later?`);
  }
  for (const line of checklist(body, options.url)) print(line);
  return body.ok ? 0 : 1;
}

async function main(): Promise<number> {
  try {
    return await run(parseArguments(process.argv.slice(2)));
  } catch (error) {
    if (error instanceof CommandError) {
      console.error(`self-check: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();

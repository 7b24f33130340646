import type { UserConsoleLog } from "vitest";
import type { Reporter, TestRunEndReason, Vitest } from "vitest/node";

/*
 * Every console line the suite produces, from every project (the Worker and its Durable Objects in workerd, and the
 * Node-side tests), is scanned for the secrets the tests run with. A hit fails the run, whatever the tests said:
 * a key, token, password or client secret in a log line is a leak even when every assertion passed. Lines a test
 * swallows with a mocked console never reach the reporter; those tests assert on what they capture themselves.
 */

export interface SecretHit {
  /** Which secret (its name, never its value). */
  name: string;
  /** The offending line with every known secret replaced by [NAME]. */
  line: string;
  /** Where the line came from: the test file and stream. */
  origin: string;
}

export type NamedSecrets = Readonly<Record<string, string>>;

/**
 * Secrets shorter than this are not scanned: a 3-character value would match ordinary text and the scan would cry
 * wolf. Every secret the suite uses is far longer.
 */
const MIN_SECRET_LENGTH = 6;

/** The secrets worth scanning for, each with the forms it could be logged in (as given, and a webhook key's bytes). */
export function scanList(secrets: NamedSecrets): Array<[name: string, value: string]> {
  const list: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(secrets)) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    list.push([name, value]);
    // A Standard Webhooks secret is "whsec_" + base64: the key alone is as secret as the whole.
    if (value.startsWith("whsec_") && value.length - 6 >= MIN_SECRET_LENGTH) list.push([`${name} (key part)`, value.slice(6)]);
  }
  // Longest first, so a secret that contains another is named (and redacted) as itself.
  return list.sort((a, b) => b[1].length - a[1].length);
}

export function redact(line: string, list: ReadonlyArray<[string, string]>): string {
  let out = line;
  for (const [name, value] of list) out = out.split(value).join(`[${name}]`);
  return out;
}

/** Every secret found in `content` (one log call; it may span lines), reported once per secret. */
export function findSecrets(content: string, list: ReadonlyArray<[string, string]>, origin = "?"): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const [name, value] of list) {
    if (!content.includes(value)) continue;
    const line = content.split("\n").find((candidate) => candidate.includes(value)) ?? content;
    hits.push({ name, line: redact(line, list).slice(0, 500), origin });
  }
  return hits;
}

/** A vitest reporter that collects the hits of every console line and fails the run when there are any. */
export class LogSecretScan implements Reporter {
  readonly hits: SecretHit[] = [];
  private readonly list: Array<[string, string]>;
  private vitest: Vitest | undefined;

  constructor(secrets: NamedSecrets) {
    this.list = scanList(secrets);
  }

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onUserConsoleLog(log: UserConsoleLog): void {
    this.hits.push(...findSecrets(log.content, this.list, this.originOf(log)));
  }

  /** "project | test/file.test.ts > the test's name (stderr)", as far as vitest knows the log's test. */
  private originOf(log: UserConsoleLog): string {
    const entity = log.taskId ? this.vitest?.state.getReportedEntityById(log.taskId) : undefined;
    if (!entity) return `${log.taskId ?? "outside any test"} (${log.type})`;
    const file = entity.type === "module" ? entity.relativeModuleId : entity.module.relativeModuleId;
    const name = entity.type === "module" ? "" : ` > ${entity.fullName}`;
    return `${entity.project.name} | ${file}${name} (${log.type})`;
  }

  onTestRunEnd(_modules: unknown, _errors: unknown, reason: TestRunEndReason): void {
    if (this.hits.length === 0 || reason === "interrupted") return;
    const lines = this.hits.slice(0, 20).map((hit) => `  ${hit.name} in ${hit.origin}: ${hit.line}`);
    const more = this.hits.length > 20 ? [`  … and ${this.hits.length - 20} more`] : [];
    process.stderr.write(
      [`\nLOG SECRET SCAN FAILED: ${this.hits.length} log line(s) contain a test secret (shown redacted):`, ...lines, ...more, ""].join("\n"),
    );
    process.exitCode = 1;
  }
}

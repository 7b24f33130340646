/**
 * A local fake of a seller's backend: the receiving end of the gateway's webhooks (docs/seller-contract.md
 * "Webhooks", "Webhook provisioning"). It verifies every delivery with the `standardwebhooks` package (the reference
 * implementation, not our signer), records it, and answers as it is told: provision, accept (202), refuse (409/422),
 * fail, hang, answer garbage, per instance or for everyone, for a number of times or for good.
 *
 * One file, importing nothing from src/, for the same reason as tools/fake-marketplace: it runs on Node 22's type
 * stripping (`node --experimental-strip-types`), which cannot resolve tsc's extensionless imports between files.
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { Webhook } from "standardwebhooks";

// ---- what it can be told to answer ------------------------------------------------------------------------------

export interface AppInfo {
  frontEndUrl: string;
  adminUrl?: string;
  userName?: string;
  password?: string;
  memo?: string;
}

export type Answer =
  /** 200 `{}`; to instance.created the default provisioning answer (a frontEndUrl derived from the instance id). */
  | { kind: "ack" }
  /** 200 with app info: the given fields over the derived ones. */
  | { kind: "provision"; appInfo?: Partial<AppInfo> }
  /** 202: still provisioning; the seller finishes later with POST /api/v1/instances/{id}/provisioned. */
  | { kind: "accept" }
  /** 409 or 422 with a Marketplace result code: the purchase fails with it. */
  | { kind: "refuse"; status?: 409 | 422; resultCode?: string; message?: string }
  /** A server error (500 unless told otherwise). */
  | { kind: "error"; status?: number }
  /** 200 whose body is not JSON. */
  | { kind: "garbage" }
  /** Never answers (until hangMs passes or the fake closes); the gateway gives up after 10 s. */
  | { kind: "hang" }
  /** 200 JSON without frontEndUrl: a provisioning answer that must not be taken on a guess. */
  | { kind: "no-front-end-url" }
  /** Any JSON answer (a license for license.requested, say), after `delayMs` when given. */
  | { kind: "json"; status?: number; body: unknown; delayMs?: number };

export type AnswerKind = Answer["kind"];

/** One instruction: the answer, for the next `times` deliveries (absent: until cleared), of the listed types only. */
export interface Rule {
  answer: Answer;
  times?: number;
  types?: string[];
}

/**
 * license.* events of a license code carry no instance (instanceId null); they are filed, steered and listed under
 * `license-code:<code>`, the gateway's stream name for them.
 */
function licenseCodeScope(event: Record<string, unknown> | null): string | null {
  const data = event?.data;
  if (data === null || typeof data !== "object" || Array.isArray(data)) return null;
  const code = (data as Record<string, unknown>).code;
  return typeof event?.type === "string" && event.type.startsWith("license.") && typeof code === "string" ? `license-code:${code}` : null;
}

export interface Delivery {
  /** Arrival order over the whole fake, from 1. */
  order: number;
  webhookId: string | null;
  type: string | null;
  instanceId: string | null;
  /** 1 for the first delivery of this webhook-id, 2 for its first retry, … */
  attempt: number;
  verified: boolean;
  /** Why verification failed. */
  problem: string | null;
  answered: AnswerKind | "refused-signature";
  status: number | null;
  receivedAt: number;
  /** The event as sent (parsed), null when the body was not JSON. */
  event: Record<string, unknown> | null;
}

export interface FakeSellerBackendOptions {
  /** whsec_… : the gateway's SELLER_WEBHOOK_SECRET. */
  secret: string;
  /** The derived app info's base: frontEndUrl = `${frontEndBase}/${instanceId}`. */
  frontEndBase?: string;
  /** How long a "hang" lasts before the fake closes the request itself. */
  hangMs?: number;
  /**
   * Test files that run in parallel share one fake (test/support/outbound-marketplace.ts): then only per-instance
   * rules and clears are allowed, so no test can change what another test's instances get.
   */
  perInstanceOnly?: boolean;
}

export interface FakeAnswer {
  status: number;
  body: string;
  contentType: string;
}

export interface WebhookRequest {
  headers: Record<string, string | undefined>;
  body: string;
}

export const DEFAULT_FRONT_END_BASE = "https://app.fake-seller.test/t";
const TOLERANCE_SECONDS = 5 * 60;
const GLOBAL = "*";

export function derivedAppInfo(instanceId: string, base = DEFAULT_FRONT_END_BASE): AppInfo {
  return {
    frontEndUrl: `${base}/${encodeURIComponent(instanceId)}`,
    adminUrl: `${base}/${encodeURIComponent(instanceId)}/admin`,
    userName: "admin",
    password: `Fake-${instanceId.slice(0, 12)}-pw1!`,
  };
}

const json = (status: number, value: unknown): FakeAnswer => ({ status, body: JSON.stringify(value), contentType: "application/json" });

// ---- the fake -----------------------------------------------------------------------------------------------------

export class FakeSellerBackend {
  readonly deliveries: Delivery[] = [];
  private readonly rules = new Map<string, Rule[]>();
  /** instanceId → epoch ms the signature timestamp is checked against (tests that simulate time). */
  private readonly clocks = new Map<string, number>();
  private readonly attempts = new Map<string, number>();
  private readonly webhook: Webhook;
  private readonly hangs = new Set<() => void>();

  readonly options: FakeSellerBackendOptions;

  // No parameter properties: Node's type stripping refuses them.
  constructor(options: FakeSellerBackendOptions) {
    this.options = options;
    this.webhook = new Webhook(options.secret);
  }

  addRule(scope: string | undefined, rule: Rule): void {
    const key = scope ?? GLOBAL;
    this.rules.set(key, [...(this.rules.get(key) ?? []), rule]);
  }

  clear(scope?: string): void {
    if (scope === undefined) {
      this.rules.clear();
      this.clocks.clear();
      this.attempts.clear();
      this.deliveries.length = 0;
      return;
    }
    this.rules.delete(scope);
    this.clocks.delete(scope);
  }

  setClock(instanceId: string, now: number | null): void {
    if (now === null) this.clocks.delete(instanceId);
    else this.clocks.set(instanceId, now);
  }

  deliveriesOf(instanceId?: string): Delivery[] {
    return instanceId === undefined ? [...this.deliveries] : this.deliveries.filter((d) => d.instanceId === instanceId);
  }

  /** Ends every hanging request now (close of the server, end of a test). */
  releaseHangs(): void {
    for (const release of this.hangs) release();
    this.hangs.clear();
  }

  /** The package's verify() reads the real clock; with a simulated one the same rules run on that clock instead. */
  private verify(request: WebhookRequest, instanceId: string | null): string | null {
    const headers = Object.fromEntries(Object.entries(request.headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const clock = instanceId === null ? undefined : this.clocks.get(instanceId);
    try {
      if (clock === undefined) {
        this.webhook.verify(request.body, headers);
        return null;
      }
      const id = headers["webhook-id"];
      const timestamp = Number.parseInt(headers["webhook-timestamp"] ?? "", 10);
      const signatures = (headers["webhook-signature"] ?? "").split(" ");
      if (!id || Number.isNaN(timestamp) || signatures[0] === "") return "Missing required headers";
      if (Math.abs(Math.floor(clock / 1000) - timestamp) > TOLERANCE_SECONDS) return "Message timestamp outside tolerance";
      const expected = this.webhook.sign(id, new Date(timestamp * 1000), request.body);
      return signatures.includes(expected) ? null : "No matching signature found";
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  private takeRule(instanceId: string | null, type: string | null): Answer {
    for (const scope of instanceId === null ? [GLOBAL] : [instanceId, GLOBAL]) {
      const rules = this.rules.get(scope) ?? [];
      const index = rules.findIndex((rule) => !rule.types || (type !== null && rule.types.includes(type)));
      const rule = rules[index];
      if (!rule) continue;
      if (rule.times !== undefined) {
        rule.times -= 1;
        if (rule.times <= 0) rules.splice(index, 1);
      }
      return rule.answer;
    }
    return { kind: "ack" };
  }

  /** One webhook delivery: verify, record, answer as the rules say. */
  async receive(request: WebhookRequest, now = Date.now()): Promise<FakeAnswer> {
    let event: Record<string, unknown> | null = null;
    try {
      const parsed: unknown = JSON.parse(request.body);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) event = parsed as Record<string, unknown>;
    } catch {
      event = null;
    }
    const instanceId = typeof event?.instanceId === "string" ? event.instanceId : licenseCodeScope(event);
    const type = typeof event?.type === "string" ? event.type : null;
    const webhookId = request.headers["webhook-id"] ?? null;
    const attempt = (this.attempts.get(webhookId ?? "") ?? 0) + 1;
    if (webhookId !== null) this.attempts.set(webhookId, attempt);
    const delivery: Delivery = { order: this.deliveries.length + 1, webhookId, type, instanceId, attempt, verified: false, problem: null, answered: "ack", status: null, receivedAt: now, event };
    this.deliveries.push(delivery);

    const problem = this.verify(request, instanceId);
    if (problem !== null) {
      delivery.problem = problem;
      delivery.answered = "refused-signature";
      delivery.status = 401;
      return json(401, { error: `webhook verification failed: ${problem}` });
    }
    delivery.verified = true;
    const answer = this.takeRule(instanceId, type);
    delivery.answered = answer.kind;
    const result = await this.answer(answer, instanceId ?? "unknown", type);
    delivery.status = result?.status ?? null;
    return result ?? json(504, { error: "hung" });
  }

  private answer(answer: Answer, instanceId: string, type: string | null): Promise<FakeAnswer | null> | FakeAnswer {
    const derived = derivedAppInfo(instanceId, this.options.frontEndBase);
    switch (answer.kind) {
      case "ack":
        return type === "instance.created" ? json(200, derived) : json(200, {});
      case "provision":
        return json(200, { ...derived, ...answer.appInfo });
      case "accept":
        return json(202, { status: "provisioning" });
      case "refuse":
        return json(answer.status ?? 422, { resultCode: answer.resultCode ?? "000106", message: answer.message ?? "refused by the fake seller backend" });
      case "error":
        return json(answer.status ?? 500, { error: "injected failure" });
      case "garbage":
        return { status: 200, body: "<html><body>surprise</body></html>", contentType: "text/html" };
      case "no-front-end-url":
        return json(200, { adminUrl: derived.adminUrl, userName: derived.userName });
      case "json": {
        const reply = json(answer.status ?? 200, answer.body);
        if (!answer.delayMs) return reply;
        return new Promise<FakeAnswer>((resolve) => setTimeout(() => resolve(reply), answer.delayMs).unref());
      }
      case "hang":
        return new Promise<FakeAnswer | null>((resolve) => {
          const release = () => resolve(null);
          this.hangs.add(release);
          setTimeout(() => {
            this.hangs.delete(release);
            release();
          }, this.options.hangMs ?? 30_000).unref();
        });
    }
  }

  /**
   * The control API, at `/__control/...` of the standalone server and `/__seller/__control/...` of the tests'
   * outbound service: POST rule, POST clear, POST clock, GET deliveries.
   */
  control(method: string, path: string, query: URLSearchParams, body: unknown): FakeAnswer {
    const input = (body ?? {}) as { instanceId?: unknown; answer?: unknown; times?: unknown; types?: unknown; now?: unknown };
    const instanceId = typeof input.instanceId === "string" && input.instanceId !== "" ? input.instanceId : undefined;
    if (method === "GET" && path === "/deliveries") {
      // Events without an instance (order.notified, kit.synced of a tenant) are found by their webhook-id.
      const webhookId = query.get("webhookId");
      if (webhookId) return json(200, { deliveries: this.deliveries.filter((d) => d.webhookId === webhookId) });
      const of = query.get("instanceId") ?? undefined;
      if (this.options.perInstanceOnly && of === undefined) return json(400, { error: "instanceId is required: test files share this fake" });
      return json(200, { deliveries: this.deliveriesOf(of) });
    }
    if (method !== "POST") return json(404, { error: `no control ${method} ${path}` });
    if (this.options.perInstanceOnly && instanceId === undefined) return json(400, { error: "instanceId is required: test files share this fake" });
    if (path === "/rule") {
      const answer = parseAnswer(input.answer);
      if (!answer) return json(400, { error: "answer must be { kind: ack | provision | accept | refuse | error | garbage | hang | no-front-end-url | json, … }" });
      const times = typeof input.times === "number" && Number.isInteger(input.times) && input.times > 0 ? input.times : undefined;
      const types = Array.isArray(input.types) ? input.types.filter((t): t is string => typeof t === "string") : undefined;
      this.addRule(instanceId, { answer, times, types });
      return json(200, { ok: true });
    }
    if (path === "/clear") {
      this.clear(instanceId);
      return json(200, { ok: true });
    }
    if (path === "/clock" && instanceId !== undefined) {
      this.setClock(instanceId, typeof input.now === "number" ? input.now : null);
      return json(200, { ok: true });
    }
    return json(404, { error: `no control ${method} ${path}` });
  }
}

const KINDS: readonly AnswerKind[] = ["ack", "provision", "accept", "refuse", "error", "garbage", "hang", "no-front-end-url", "json"];

function parseAnswer(value: unknown): Answer | null {
  if (value === null || typeof value !== "object") return null;
  const kind = (value as { kind?: unknown }).kind;
  return typeof kind === "string" && (KINDS as readonly string[]).includes(kind) ? (value as Answer) : null;
}

// ---- HTTP server ----------------------------------------------------------------------------------------------------

export interface RunningFakeSellerBackend {
  url: string;
  port: number;
  backend: FakeSellerBackend;
  close(): Promise<void>;
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}

/** The control API over HTTP: the JSON body parsed, then FakeSellerBackend.control. */
export function controlOf(backend: FakeSellerBackend, method: string, url: URL, text: string, prefix = "/__control"): FakeAnswer {
  let body: unknown;
  try {
    body = text === "" ? {} : JSON.parse(text);
  } catch {
    return json(400, { error: "body is not JSON" });
  }
  return backend.control(method, url.pathname.slice(prefix.length), url.searchParams, body);
}

/** Listens on 127.0.0.1; every POST outside /__control/ is a webhook delivery. */
export async function startFakeSellerBackend(options: FakeSellerBackendOptions & { port?: number; host?: string }): Promise<RunningFakeSellerBackend> {
  const backend = new FakeSellerBackend(options);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const text = await readText(req);
      let answer: FakeAnswer | null;
      if (url.pathname.startsWith("/__control/")) {
        answer = controlOf(backend, req.method ?? "GET", url, text);
      } else if (req.method === "POST") {
        answer = await backend.receive({ headers: headersOf(req), body: text });
      } else {
        answer = json(404, { error: "webhooks are POSTed" });
      }
      if (res.destroyed) return;
      res.writeHead(answer.status, { "content-type": answer.contentType });
      res.end(answer.body);
    })().catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: String(error) }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    port: address.port,
    backend,
    close: () =>
      new Promise<void>((resolve) => {
        backend.releaseHangs();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---- command line ---------------------------------------------------------------------------------------------------

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** SELLER_WEBHOOK_SECRET from .dev.vars (what `npm run dev` signs with), so the two agree without copying it. */
async function devVarsSecret(): Promise<string | undefined> {
  const { readFile } = await import("node:fs/promises");
  for (const file of [".dev.vars", ".dev.vars.example"]) {
    try {
      const match = /^SELLER_WEBHOOK_SECRET\s*=\s*"?([^"\n]+)"?\s*$/m.exec(await readFile(file, "utf8"));
      if (match?.[1]) return match[1].trim();
    } catch {
      // Not there: try the next one.
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  const port = Number(argument("port") ?? process.env.FAKE_SELLER_PORT ?? "8791");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not a port: ${port}`);
  const secret = argument("secret") ?? process.env.SELLER_WEBHOOK_SECRET ?? (await devVarsSecret());
  if (!secret) throw new Error("no secret: pass --secret whsec_… or set SELLER_WEBHOOK_SECRET in .dev.vars");
  const mode = argument("answer");
  const running = await startFakeSellerBackend({ port, secret, frontEndBase: argument("front-end-base") });
  if (mode) {
    const answer = parseAnswer({ kind: mode });
    if (!answer) throw new Error(`--answer must be one of ${KINDS.join(", ")}`);
    running.backend.addRule(undefined, { answer, types: ["instance.created"] });
  }
  console.log(`fake seller backend listening on ${running.url} (SELLER_WEBHOOK_URL=${running.url}/webhook)`);
  let shown = 0;
  const show = setInterval(() => {
    for (const d of running.backend.deliveries.slice(shown)) {
      console.log(`#${d.order} ${d.type ?? "?"} ${d.instanceId ?? "-"} attempt ${d.attempt} → ${d.status ?? "hung"} ${d.verified ? "(verified)" : `(NOT verified: ${d.problem})`}`);
    }
    shown = running.backend.deliveries.length;
  }, 250);
  const stop = () => {
    clearInterval(show);
    void running.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

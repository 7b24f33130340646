// Runs in Node (vitest.config.ts hands it to Miniflare as the Worker's outbound service): every fetch the Worker or
// its Durable Objects make during tests lands here instead of the network. Tests steer it through /__control.

import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { type FakeMarketplace, parseMultipart, startFakeMarketplace } from "../../tools/fake-marketplace/fake-marketplace.ts";
import { type FakeAnswer, FakeSellerBackend, controlOf } from "../../tools/fake-seller-backend/fake-seller-backend.ts";

/** The gateway's SELLER_WEBHOOK_SECRET in tests (vitest.config.ts binds it); the fake seller backend verifies with it. */
export const TEST_WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0zMi1ieXRlcy1sb25nIQ==";

/*
 * Webhooks to http://127.0.0.1:9/__seller/<anything> reach one in-process fake seller backend (tools/fake-seller-backend)
 * without a socket. Test files share it, so it takes per-instance instructions only (POST /__seller/__control/rule
 * with an instanceId; see test/support/seller-backend.ts): by default every event is acknowledged with 200 and
 * instance.created answered with a frontEndUrl derived from the instance id. A hang lasts 15 s, past the gateway's 10 s.
 */
const sellerBackend = new FakeSellerBackend({ secret: TEST_WEBHOOK_SECRET, perInstanceOnly: true, hangMs: 15_000 });

const answerOf = (answer: FakeAnswer) => new Response(answer.body, { status: answer.status, headers: { "Content-Type": answer.contentType } });

async function sellerRequest(url: URL, request: Request): Promise<Response> {
  const text = await request.text();
  if (url.pathname.startsWith("/__seller/__control/")) return answerOf(controlOf(sellerBackend, request.method, url, text, "/__seller/__control"));
  return answerOf(await sellerBackend.receive({ headers: Object.fromEntries(request.headers), body: text }));
}

// One state for every test file of the run (files run in parallel): controls are keyed by order id, never global.
interface OutboundState {
  /** Answer the next N query-order calls for these order ids with HTTP 500. */
  failOrders: Record<string, number>;
  /** Answer the next query-order call for these order ids only after this many ms (a hanging Marketplace). */
  slowOrders: Record<string, number>;
  calls: Array<{ method: string; path: string; query: string; authorization: string | null }>;
  orders: Record<string, unknown>;
  /** String/file upload (§2.2), per event id: the next answers to give, in order (then success). */
  uploadAnswers: Record<string, Array<{ status: number; code: string; message?: string }>>;
  /** Every upload as received, per event id (accepted or not). */
  uploads: Record<string, UploadSeen[]>;
}

export interface UploadSeen {
  type: string | null;
  characters: string | null;
  fileName: string | null;
  /** The sha256 the request declared, and whether it matches the file part. */
  sha256: string | null;
  sha256Matches: boolean | null;
  answeredCode: string;
}

const state: OutboundState = { failOrders: {}, slowOrders: {}, calls: [], orders: {}, uploadAnswers: {}, uploads: {} };

const UPLOAD_PATH = /^\/api\/mkp-openapi-public\/global\/v1\/market-event\/([^/]+)\/file$/;

/** Reads the multipart upload as the Marketplace would, records it, and answers as steered (default CBC.0000). */
async function uploadRequest(eventId: string, request: Request): Promise<Response> {
  const parts = parseMultipart(request.headers.get("content-type") ?? "", Buffer.from(await request.arrayBuffer())) ?? [];
  const fields = JSON.parse(parts.find((p) => p.name === "isvUpdateFileReq")?.body.toString("utf8") ?? "{}") as Record<string, string | undefined>;
  const file = parts.find((p) => p.name === "file");
  const steered = state.uploadAnswers[eventId]?.shift();
  const answer = steered ?? { status: 200, code: "CBC.0000", message: "success" };
  (state.uploads[eventId] ??= []).push({
    type: fields.type ?? null,
    characters: fields.characters ?? null,
    fileName: fields.file_name ?? null,
    sha256: fields.sha256 ?? null,
    sha256Matches: file ? createHash("sha256").update(file.body).digest("hex") === fields.sha256 : null,
    answeredCode: answer.code,
  });
  return Response.json({ error_code: answer.code, error_msg: answer.message ?? "injected" }, { status: answer.status });
}

function defaultOrder(orderId: string, orderLineId: string) {
  return {
    orderId,
    orderType: "NEW",
    createTime: "20261101090846",
    orderLine: [
      {
        orderLineId,
        chargingMode: "PERIOD",
        periodType: "year",
        periodNumber: 1,
        expireTime: "20271101235959",
        productInfo: [{ productId: "OFFI000000001", skuCode: "SKU-STD", linearValue: 1, productName: "Standard" }],
        currency: "100.00",
        currencyAfterDiscount: "90.00",
      },
    ],
    buyerInfo: { customerId: "cust-1", customerName: "Test Buyer" },
  };
}

/*
 * End-to-end tests (test/e2e) reach a real tools/fake-marketplace server, each through its own key: the test starts
 * one with POST /__e2e/<key>/start, and every request to /__e2e/<key>/<path> (open API and the fake's /__control
 * API alike) is forwarded to it as <path>, body bytes and headers unchanged, so the fake verifies the signatures
 * itself. The fake's clock is the test's simulated one, set with POST /__e2e/<key>/clock. Per key besides the fake:
 *   outage: while set, usage pushes get a 502 page without reaching the fake (the Marketplace unreachable for hours);
 *   rejections: every record a usage-push answer listed in abnormal_usage_data, as the Worker received it.
 * A connection the fake cuts (drop-after-accept) makes the forwarding fetch throw, which Miniflare answers the Worker
 * with HTTP 500 and a text body: as retryable for the usage push as the lost connection itself.
 * GET /__e2e-env gives the test the E2E_* environment variables (the Workers runtime has no process.env), and
 * POST /__e2e/<key>/report prints a test's figures on the terminal, where a passing test's own output is silenced.
 */
interface E2eFake {
  fake: FakeMarketplace;
  clock: number;
  outage: boolean;
  rejections: Array<{ meteringSn: string; code: string; callAt: number }>;
}

const e2eFakes = new Map<string, E2eFake>();
const E2E_PATH = /^\/__e2e\/([A-Za-z0-9-]{1,64})(\/.*)$/;

async function e2eRequest(key: string, rest: string, url: URL, request: Request): Promise<Response> {
  const entry = e2eFakes.get(key);
  if (rest === "/start" && request.method === "POST") {
    if (entry) return Response.json({ error: `fake ${key} already started` }, { status: 409 });
    const options = (await request.json()) as { usagePushKey: string; credentials: Record<string, string>; now: number };
    const started: E2eFake = { fake: await startFakeMarketplace({ usagePushKey: options.usagePushKey, credentials: options.credentials, now: () => started.clock }), clock: options.now, outage: false, rejections: [] };
    e2eFakes.set(key, started);
    return Response.json({ ok: true });
  }
  if (!entry) return Response.json({ error: `no fake ${key}` }, { status: 404 });
  if (rest === "/stop" && request.method === "POST") {
    e2eFakes.delete(key);
    await entry.fake.close();
    return Response.json({ ok: true });
  }
  if (rest === "/clock" && request.method === "POST") {
    const body = (await request.json()) as { now?: number; outage?: boolean };
    if (typeof body.now === "number") entry.clock = body.now;
    if (typeof body.outage === "boolean") entry.outage = body.outage;
    return Response.json({ ok: true });
  }
  if (rest === "/rejections" && request.method === "GET") return Response.json(entry.rejections);
  if (rest === "/report" && request.method === "POST") {
    process.stdout.write(`\n${await request.text()}\n`);
    return Response.json({ ok: true });
  }
  // Read in full before any answer: answering while the Worker still streams the body breaks the connection.
  const body = request.method === "GET" ? undefined : new Uint8Array(await request.arrayBuffer());
  const isPush = rest.endsWith("/isv/usage-data");
  if (isPush && entry.outage) return new Response("<html><body>502 Bad Gateway</body></html>", { status: 502, headers: { "Content-Type": "text/html" } });
  const headers = new Headers(request.headers);
  headers.delete("host");
  headers.delete("content-length");
  // Throws when the fake cuts the connection; Miniflare then answers the Worker 500 with a text body.
  const answer = await fetch(entry.fake.url + rest + url.search, { method: request.method, headers, body });
  const text = await answer.text();
  if (isPush) {
    try {
      const json = JSON.parse(text) as { abnormal_usage_data?: Array<{ metering_sn?: string; error_code?: string }> };
      for (const item of json.abnormal_usage_data ?? []) entry.rejections.push({ meteringSn: String(item.metering_sn), code: String(item.error_code), callAt: entry.clock });
    } catch {
      // Not JSON (an injected HTML 500): nothing to note.
    }
  }
  return new Response(text, { status: answer.status, headers: { "Content-Type": answer.headers.get("content-type") ?? "application/json" } });
}

/*
 * License-code calls (activate, heartbeat, software-usage-info, §2.4) go to one real tools/fake-marketplace server,
 * started on first use, body bytes and headers unchanged, so the fake checks their AK/SK signature itself. Tests
 * steer it through /__license-fake/<control path> (license-error, outage, config; see test/support/license-codes.ts),
 * always per license code, because test files share it.
 */
const LICENSE_API = /^\/api\/mkp-openapi-public\/global\/v[12]\/license\//;
/** vitest.config.ts TEST_SECRETS MARKETPLACE_AK / MARKETPLACE_SK (not imported: that file imports this one). */
const TEST_OPEN_API_CREDENTIALS = { TESTAK0000000000: "test-marketplace-sk" };
let licenseFake: Promise<FakeMarketplace> | undefined;

async function licenseFakeRequest(path: string, url: URL, request: Request): Promise<Response> {
  licenseFake ??= startFakeMarketplace({ credentials: TEST_OPEN_API_CREDENTIALS, unref: true });
  const fake = await licenseFake;
  const body = request.method === "GET" ? Buffer.alloc(0) : Buffer.from(await request.arrayBuffer());
  const headers: Record<string, string> = Object.fromEntries(request.headers);
  // The Worker signed the host it called (host is a signed header, §1.2.1): the fake must see that one, not its own,
  // which fetch would put there; node:http sends the Host header it is given.
  headers.host = url.host;
  headers["content-length"] = String(body.length);
  const target = new URL(fake.url);
  // Rejects when the fake cuts the connection (outage mode "drop"); Miniflare then answers the Worker 500 in text.
  return new Promise<Response>((resolve, reject) => {
    const outgoing = httpRequest({ host: target.hostname, port: target.port, method: request.method, path: path + url.search, headers, agent: false }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () =>
        resolve(new Response(Buffer.concat(chunks).toString("utf8"), { status: incoming.statusCode ?? 500, headers: { "Content-Type": incoming.headers["content-type"] ?? "application/json" } })),
      );
      incoming.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

/*
 * Alerts (ALERT_WEBHOOK_URL of the workers-alerts project: http://127.0.0.1:9/__alerts/hook) land in one chat-robot
 * fake: it records every message and answers from a queue the test fills (POST /__alerts/__control/answers), then 200.
 */
const alerts: { received: Array<{ contentType: string | null; body: unknown }>; answers: Array<{ status: number; body: string }> } = { received: [], answers: [] };

async function alertRequest(url: URL, request: Request): Promise<Response> {
  if (url.pathname === "/__alerts/__control/answers" && request.method === "POST") {
    alerts.answers.push(...((await request.json()) as Array<{ status: number; body: string }>));
    return Response.json({ ok: true });
  }
  if (url.pathname === "/__alerts/__control/received") return Response.json(alerts.received);
  const text = await request.text();
  alerts.received.push({ contentType: request.headers.get("content-type"), body: JSON.parse(text) as unknown });
  const answer = alerts.answers.shift() ?? { status: 200, body: "ok" };
  return new Response(answer.body, { status: answer.status });
}

export async function outboundMarketplace(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname.startsWith("/__alerts/")) return alertRequest(url, request);
  if (url.pathname === "/__e2e-env") return Response.json(Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith("E2E_"))));
  if (url.pathname.startsWith("/__seller/")) return sellerRequest(url, request);
  const e2e = E2E_PATH.exec(url.pathname);
  if (e2e?.[1] && e2e[2]) return e2eRequest(e2e[1], e2e[2], url, request);
  if (url.pathname.startsWith("/__license-fake/")) return licenseFakeRequest(url.pathname.slice("/__license-fake".length), url, request);
  if (LICENSE_API.test(url.pathname)) {
    state.calls.push({ method: request.method, path: url.pathname, query: url.search, authorization: request.headers.get("authorization") });
    return licenseFakeRequest(url.pathname, url, request);
  }
  if (url.pathname === "/__control" && request.method === "POST") {
    const control = (await request.json()) as Partial<OutboundState>;
    if (control.failOrders) Object.assign(state.failOrders, control.failOrders);
    if (control.orders) Object.assign(state.orders, control.orders);
    if (control.uploadAnswers) Object.assign(state.uploadAnswers, control.uploadAnswers);
    if (control.slowOrders) Object.assign(state.slowOrders, control.slowOrders);
    return Response.json({ ok: true });
  }
  if (url.pathname === "/__control/calls") return Response.json(state.calls);
  if (url.pathname === "/__control/uploads") return Response.json(state.uploads[url.searchParams.get("eventId") ?? ""] ?? []);
  const uploadMatch = UPLOAD_PATH.exec(url.pathname);
  if (uploadMatch?.[1] && request.method === "POST") return uploadRequest(decodeURIComponent(uploadMatch[1]), request);
  state.calls.push({ method: request.method, path: url.pathname, query: url.search, authorization: request.headers.get("authorization") });
  if (url.pathname === "/api/mkp-openapi-public/global/v1/order/query") {
    const orderId = url.searchParams.get("orderId") ?? "";
    const delay = state.slowOrders[orderId];
    if (delay) {
      delete state.slowOrders[orderId];
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    const failures = state.failOrders[orderId] ?? 0;
    if (failures > 0) {
      state.failOrders[orderId] = failures - 1;
      return Response.json({ error_code: "CBC.0999", error_msg: "injected failure" }, { status: 500 });
    }
    const orderLineId = url.searchParams.get("orderLineId") ?? `${orderId}-000001`;
    const orderInfo = state.orders[orderId] ?? defaultOrder(orderId, orderLineId);
    return Response.json({ resultCode: "MKT.0000", resultMsg: "success", orderInfo });
  }
  return Response.json({ error_code: "CBC.0101", error_msg: `no fake for ${url.pathname}` }, { status: 404 });
}

import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RunningFakeSellerBackend, startFakeSellerBackend } from "../../tools/fake-seller-backend/fake-seller-backend";

/*
 * The fake seller backend in plain Node. Deliveries are signed here with node:crypto straight from the Standard
 * Webhooks spec (HMAC-SHA256 over "<id>.<timestamp>.<body>" with the bytes after whsec_, "v1," + base64), not with
 * src/events/webhook-signature.ts, so the fake's verification is checked independently of our signer.
 */

const secret = `whsec_${randomBytes(32).toString("base64")}`;

function sign(key: string, id: string, timestamp: number, body: string): string {
  const bytes = Buffer.from(key.slice("whsec_".length), "base64");
  return `v1,${createHmac("sha256", bytes).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

let fake: RunningFakeSellerBackend;
let counter = 0;

beforeEach(async () => {
  fake = await startFakeSellerBackend({ secret, hangMs: 2_000 });
});
afterEach(async () => {
  await fake.close();
});

interface Sent {
  status: number;
  text: string;
}

async function deliver(instanceId: string, type: string, options: { id?: string; key?: string; timestamp?: number; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Sent> {
  counter += 1;
  const id = options.id ?? `evt_${counter}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ id, type, timestamp: new Date(timestamp * 1000).toISOString(), instanceId, test: false, data: { instanceId } });
  const headers = { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": sign(options.key ?? secret, id, timestamp, body), ...options.headers };
  const response = await fetch(`${fake.url}/webhook`, { method: "POST", headers, body, signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });
  return { status: response.status, text: await response.text() };
}

async function control(path: string, body: unknown): Promise<number> {
  return (await fetch(`${fake.url}/__control${path}`, { method: "POST", body: JSON.stringify(body) })).status;
}

describe("fake seller backend", () => {
  it("acknowledges every verified event, answers instance.created with app info derived from the instance id, records each in order", async () => {
    const created = await deliver("inst-a", "instance.created", { id: "evt_a1" });
    expect(created.status).toBe(200);
    expect(JSON.parse(created.text)).toEqual({ frontEndUrl: "https://app.fake-seller.test/t/inst-a", adminUrl: "https://app.fake-seller.test/t/inst-a/admin", userName: "admin", password: expect.any(String) });
    expect(await deliver("inst-a", "instance.frozen", { id: "evt_a2" })).toEqual({ status: 200, text: "{}" });
    expect(await deliver("inst-a", "instance.frozen", { id: "evt_a2" })).toEqual({ status: 200, text: "{}" });
    expect(fake.backend.deliveriesOf("inst-a").map((d) => [d.order, d.webhookId, d.type, d.attempt, d.verified, d.status])).toEqual([
      [1, "evt_a1", "instance.created", 1, true, 200],
      [2, "evt_a2", "instance.frozen", 1, true, 200],
      [3, "evt_a2", "instance.frozen", 2, true, 200],
    ]);
  });

  it.each([
    [{ kind: "provision", appInfo: { frontEndUrl: "https://x.example/1", memo: "hi" } }, 200, (text: string) => expect(JSON.parse(text)).toMatchObject({ frontEndUrl: "https://x.example/1", memo: "hi", userName: "admin" })],
    [{ kind: "accept" }, 202, () => undefined],
    [{ kind: "refuse" }, 422, (text: string) => expect(JSON.parse(text)).toEqual({ resultCode: "000106", message: "refused by the fake seller backend" })],
    [{ kind: "refuse", status: 409, resultCode: "000102", message: "exists" }, 409, (text: string) => expect(JSON.parse(text)).toEqual({ resultCode: "000102", message: "exists" })],
    [{ kind: "error" }, 500, () => undefined],
    [{ kind: "error", status: 503 }, 503, () => undefined],
    [{ kind: "garbage" }, 200, (text: string) => expect(() => JSON.parse(text)).toThrow()],
    [{ kind: "no-front-end-url" }, 200, (text: string) => expect(JSON.parse(text)).not.toHaveProperty("frontEndUrl")],
  ])("answers %o with %i", async (answer, status, check) => {
    expect(await control("/rule", { instanceId: "inst-b", answer })).toBe(200);
    const sent = await deliver("inst-b", "instance.created");
    expect(sent.status).toBe(status);
    check(sent.text);
  });

  it("hangs until the client gives up", async () => {
    await control("/rule", { instanceId: "inst-h", answer: { kind: "hang" }, times: 1 });
    await expect(deliver("inst-h", "instance.created", { timeoutMs: 300 })).rejects.toThrow();
    expect((await deliver("inst-h", "instance.created")).status).toBe(200);
  });

  it("fails N times then recovers; per-instance instructions come before global ones; types narrow a rule", async () => {
    await control("/rule", { answer: { kind: "error" }, times: 2 });
    await control("/rule", { instanceId: "inst-c", answer: { kind: "accept" }, types: ["instance.created"] });
    expect((await deliver("inst-c", "instance.created")).status).toBe(202);
    expect((await deliver("inst-c", "instance.frozen")).status).toBe(500);
    expect((await deliver("inst-d", "instance.created")).status).toBe(500);
    expect((await deliver("inst-d", "instance.created")).status).toBe(200);
    expect((await deliver("inst-c", "instance.created")).status).toBe(202);
    expect(await control("/clear", { instanceId: "inst-c" })).toBe(200);
    expect((await deliver("inst-c", "instance.created")).status).toBe(200);
  });

  it.each([
    ["another secret", { key: `whsec_${randomBytes(32).toString("base64")}` }, "No matching signature found"],
    ["an old timestamp", { timestamp: Math.floor(Date.now() / 1000) - 600 }, "Message timestamp too old"],
    ["no signature header", { headers: { "webhook-signature": "" } }, "Missing required headers"],
    ["a v2 signature", { headers: { "webhook-signature": "v2,abc" } }, "No matching signature found"],
  ])("refuses %s with 401 and records why", async (_name, options, problem) => {
    const sent = await deliver("inst-e", "instance.created", options);
    expect(sent.status).toBe(401);
    expect(fake.backend.deliveriesOf("inst-e")).toEqual([expect.objectContaining({ verified: false, problem, status: 401 })]);
  });

  it("checks an instance's timestamps against a simulated clock when told to", async () => {
    const simulated = Date.now() + 3 * 3_600_000;
    await control("/clock", { instanceId: "inst-f", now: simulated });
    expect((await deliver("inst-f", "instance.created", { timestamp: Math.floor(simulated / 1000) })).status).toBe(200);
    expect((await deliver("inst-f", "instance.created")).status).toBe(401);
    expect((await deliver("inst-f", "instance.created", { timestamp: Math.floor(simulated / 1000), key: `whsec_${randomBytes(24).toString("base64")}` })).status).toBe(401);
  });

  it("refuses an unknown answer kind and lists deliveries over HTTP", async () => {
    expect(await control("/rule", { answer: { kind: "maybe" } })).toBe(400);
    await deliver("inst-g", "instance.released");
    const listed = (await (await fetch(`${fake.url}/__control/deliveries?instanceId=inst-g`)).json()) as { deliveries: Array<{ type: string }> };
    expect(listed.deliveries.map((d) => d.type)).toEqual(["instance.released"]);
  });
});

describe("fake seller backend command line", () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill("SIGTERM");
  });

  it("starts with --port and --secret, prints its URL and verifies deliveries", async () => {
    child = spawn(process.execPath, ["--experimental-strip-types", "--no-warnings", "tools/fake-seller-backend/fake-seller-backend.ts", "--port", "0", "--secret", secret, "--answer", "accept"], { stdio: ["ignore", "pipe", "pipe"] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child?.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child?.stderr?.on("data", (chunk: Buffer) => reject(new Error(chunk.toString())));
      child?.on("exit", (code) => reject(new Error(`exited ${code}`)));
    });
    const id = "evt_cli";
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ id, type: "instance.created", instanceId: "inst-cli" });
    const response = await fetch(`${url}/webhook`, { method: "POST", headers: { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": sign(secret, id, timestamp, body) }, body });
    expect(response.status).toBe(202);
  });
});

import { env } from "cloudflare:workers";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { afterEach, describe, expect, it, vi } from "vitest";
import { InvalidRequestError, toGatewayError } from "../../src/protocol/errors";
import { type KitSyncCall, applyKitSync } from "../../src/kit/kit-sync";
import { parseKitRequest } from "../../src/protocol/schemas/parse";
import { authBody, kitUser, newKitScope, sendWith, signedKitV1Request, signedKitV2Request } from "../support/kit";

/*
 * Personal data of synced users (names, login accounts, mobiles, e-mails, employee data) is the seller's data in
 * kit_users, and nowhere else: not in the inbox, not in a log line, not in an error's text.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

const PERSONAL = ["Zhao Personal", "zhao.personal", "13912345678", "zhao@personal.example", "EMP-PERSONAL", "Chief Personal Officer", "Personal City"];

const personalUser = () =>
  kitUser("zhao.personal", {
    name: "Zhao Personal",
    mobile: "13912345678",
    email: "zhao@personal.example",
    employeeCode: "EMP-PERSONAL",
    position: "Chief Personal Officer",
    extension: { workPlace: "Personal City" },
  });

function captureLogs(): string[] {
  const lines: string[] = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    });
  }
  return lines;
}

function expectNoPersonalData(text: string): void {
  for (const value of PERSONAL) expect(text).not.toContain(value);
}

describe("kit inbox records", () => {
  it("keep identifiers, flag, times and the user count of an authSync, and a digest of the body, never a user's data", async () => {
    const s = newKitScope();
    const body = authBody(s, [personalUser(), kitUser("second")], 1);
    const answer = await sendWith(signedKitV2Request("authSync", body), {}, env.KIT_ACCESS_KEY);
    expect(answer.json.resultCode).toBe("000000");

    const row = await env.DB.prepare("SELECT request, fingerprint FROM inbox WHERE instance_id = ? AND activity = 'authSync'")
      .bind(s.instanceId)
      .first<{ request: string; fingerprint: string }>();
    expectNoPersonalData(row?.request ?? "");
    expect(JSON.parse(row?.request ?? "{}")).toEqual({
      instanceId: s.instanceId,
      tenantId: s.tenantId,
      testFlag: 0,
      timeStamp: body.timeStamp,
      appId: "app-1",
      currentSyncTime: body.currentSyncTime,
      flag: 1,
      userCount: 2,
    });
    expect(row?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    // The seller's copy stays: it is what the seller's app reads.
    const stored = await env.DB.prepare("SELECT profile FROM kit_users WHERE instance_id = ? AND user_name = 'zhao.personal'").bind(s.instanceId).first<{ profile: string }>();
    expect(JSON.parse(stored?.profile ?? "{}")).toMatchObject({ mobile: "13912345678", email: "zhao@personal.example" });
  });

  it("of a V1 authSync keep no user's data either, and a repeat is still answered from the record", async () => {
    const s = newKitScope();
    const body = authBody(s, JSON.stringify([personalUser()]), 1);
    const first = await sendWith(signedKitV1Request("authSync", body), {}, env.KIT_ACCESS_KEY);
    expect(first.json.resultCode).toBe("000000");
    const repeat = await sendWith(signedKitV1Request("authSync", body), {}, env.KIT_ACCESS_KEY);
    expect(repeat.text).toBe(first.text);
    const rows = await env.DB.prepare("SELECT request FROM inbox WHERE instance_id = ?").bind(s.instanceId).all<{ request: string }>();
    expect(rows.results).toHaveLength(1);
    expectNoPersonalData(JSON.stringify(rows.results));
  });

  it("of the other syncs keep no names (a tenant or department name may name a person)", async () => {
    const s = newKitScope();
    const tenant = { instanceId: s.instanceId, orderId: "CS-1", tenantId: s.tenantId, tenantCode: "tc", name: "Zhao Personal", domainName: "https://a.example", flag: 1, testFlag: 0, timeStamp: authBody(s, [], 1).timeStamp };
    const org = { instanceId: s.instanceId, tenantId: s.tenantId, orgCode: "O1", orgName: "Zhao Personal", flag: 1, testFlag: 0, timeStamp: tenant.timeStamp };
    const full = { instanceId: s.instanceId, tenantId: s.tenantId, orgInfoList: [{ orgCode: "O2", orgName: "Zhao Personal" }], testFlag: 0, timeStamp: tenant.timeStamp };
    for (const [name, body] of [["tenantSync", tenant], ["singleOrgSync", org], ["allOrgSync", full]] as const) {
      expect((await sendWith(signedKitV2Request(name, body), {}, env.KIT_ACCESS_KEY)).json.resultCode).toBe("000000");
    }
    const rows = await env.DB.prepare("SELECT request FROM inbox WHERE instance_id = ?").bind(s.instanceId).all<{ request: string }>();
    expect(rows.results).toHaveLength(3);
    expectNoPersonalData(JSON.stringify(rows.results));
  });
});

describe("logs and errors", () => {
  it("carry no user's data, for an applied authSync and for a refused one", async () => {
    const s = newKitScope();
    const lines = captureLogs();
    await sendWith(signedKitV2Request("authSync", authBody(s, [personalUser()], 1)), {}, env.KIT_ACCESS_KEY);
    const refused = await sendWith(
      signedKitV2Request("authSync", authBody(s, [{ ...personalUser(), role: "Zhao Personal" }], 1)),
      {},
      env.KIT_ACCESS_KEY,
    );
    expect(refused.json.resultCode).toBe("000002");
    expect(lines.length).toBeGreaterThan(0);
    expectNoPersonalData(lines.join("\n"));
    expectNoPersonalData(refused.text);
  });

  it("a failed write names the database's reason, not the bound values (drizzle puts them in its message)", async () => {
    const s = newKitScope();
    const kit = parseKitRequest("authSync", "v2", authBody(s, [personalUser()], 1));
    const call: KitSyncCall = {
      version: "v2",
      kit,
      callKey: `kit:v2:authSync:${crypto.randomUUID()}`,
      answerRepeatsFromRecord: false,
      requestDigest: "0".repeat(64),
      receivedAt: Date.now(),
    };
    // The batch fails the way drizzle reports a failed statement: the statement and its bound values in the message.
    const outage = new DrizzleQueryError("insert into kit_users values (?, ?, ?, ?)", [...PERSONAL], new Error("D1_ERROR: simulated outage"));
    const failing = new Proxy(env.DB, {
      get: (target, property) => (property === "batch" ? () => Promise.reject(outage) : Reflect.get(target, property).bind(target)),
    });
    const thrown = await applyKitSync({ ...env, DB: failing } as Env, call).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(Error);
    const failure = toGatewayError(thrown);
    expect(failure).not.toBeInstanceOf(InvalidRequestError);
    expect(outage.message).toContain("zhao@personal.example");
    expect(failure.detail).toContain("simulated outage");
    expectNoPersonalData(`${failure.message} ${failure.detail ?? ""}`);
  });
});

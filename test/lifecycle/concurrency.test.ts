import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listAuditEvents } from "../../src/instances/instance.repo";
import { auditKeyOf, verifyAuditChain } from "../../src/instances/audit-chain";
import { getDb } from "../../src/db/client";
import { callV2, createInstance, instanceRow, makeNewInstance, uniqueId } from "../support/marketplace";

describe("concurrency", () => {
  it("50 concurrent identical newInstance calls make one instance and 50 identical answers", async () => {
    const body = makeNewInstance();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => callV2({ ...body, businessId: crypto.randomUUID() })),
    );
    const texts = new Set(answers.map((a) => a.text));
    expect(texts.size).toBe(1);
    expect(answers[0]?.json.resultCode).toBe("000000");
    expect(answers.every((a) => a.bodySignValid)).toBe(true);
    const rows = await env.DB.prepare("SELECT id FROM instances WHERE order_id = ?").bind(body.orderId).all();
    expect(rows.results).toHaveLength(1);
    const inbox = await env.DB.prepare("SELECT COUNT(*) AS n FROM inbox WHERE instance_id = ?").bind(answers[0]?.json.instanceId).first<{ n: number }>();
    expect(inbox?.n).toBe(1);
  });

  it("a renew and a release racing on one instance end in a consistent, chained history", async () => {
    const { instanceId } = await createInstance();
    const orderId = uniqueId("RN");
    const [renew, release] = await Promise.all([
      callV2({ activity: "refreshInstance", scene: "RENEWAL", orderId, orderLineId: `${orderId}-000001`, instanceId, expireTime: "20300101000000" }),
      callV2({ activity: "releaseInstance", instanceId }),
    ]);
    expect(release.json.resultCode).toBe("000000");
    const events = await listAuditEvents(getDb(env), instanceId);
    const names = events.map((e) => e.event);
    if (renew.json.resultCode === "000000") {
      // The renew was serialised first: it applied, then the release.
      expect(names).toEqual(["newInstance", "refreshInstance", "releaseInstance"]);
    } else {
      // The release won: the renew of a released instance is refused and recorded nowhere.
      expect(renew.json.resultCode).toBe("000003");
      expect(names).toEqual(["newInstance", "releaseInstance"]);
    }
    expect(await instanceRow(instanceId)).toMatchObject({ status: "released", version: events.length });
    expect(verifyAuditChain(auditKeyOf(env.DATA_KEY), events)).toEqual({ ok: true, length: events.length });
  });

  it("20 interleaved status changes on one instance leave a gapless chain and a state that matches the last applied one", async () => {
    const { instanceId } = await createInstance();
    const statuses = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? "FREEZE" : "UNFREEZE"));
    const answers = await Promise.all(statuses.map((status) => callV2({ activity: "updateInstanceStatus", instanceId, status })));
    expect(answers.every((a) => a.json.resultCode === "000000")).toBe(true);
    const events = await listAuditEvents(getDb(env), instanceId);
    expect(verifyAuditChain(auditKeyOf(env.DATA_KEY), events).ok).toBe(true);
    const last = events.at(-1);
    expect(await instanceRow(instanceId)).toMatchObject({ status: last?.toStatus, version: events.length });
  });
});

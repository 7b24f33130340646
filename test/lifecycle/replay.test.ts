import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type InstanceActor, getInstanceActor } from "../../src/actor/instance.actor";
import { ReplayGuard } from "../../src/actor/replay-guard";
import { createInstance, instanceRow, makeNewInstance, send, signedV2Request, tableCounts, uniqueId } from "../support/marketplace";
import { controlOrders } from "../support/orders";

/**
 * V2 basic nonces are kept by the instance actor each call reaches (queryInstance: the actor of its first id), not in
 * D1: a replay must still be refused, for every activity, and change nothing.
 */
async function sendTwice(body: object) {
  const request = signedV2Request(body);
  const replay = request.clone();
  const first = await send(request);
  const before = await tableCounts();
  const second = await send(replay);
  return { first, second, before, after: await tableCounts() };
}

const REFUSED = { resultCode: "000001", resultMsg: "nonce was already used (replay)" };

describe("a replayed V2 basic call is refused by the actor that keeps its nonce", () => {
  it("newInstance: the first creates, the replay gets 000001 and stores nothing; no D1 nonce is written", async () => {
    const { first, second, before, after } = await sendTwice(makeNewInstance());
    expect(first.json.resultCode).toBe("000000");
    expect(second.json).toEqual(REFUSED);
    expect(second.bodySignValid).toBe(true);
    expect(after).toEqual(before);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM nonces").first<{ n: number }>()).toEqual({ n: 0 });
  });

  it("a repeat of a create with a new nonce is answered; its replay is not", async () => {
    const body = makeNewInstance();
    const created = await send(signedV2Request(body));
    const { first, second, after, before } = await sendTwice(body);
    expect(first.text).toBe(created.text);
    expect(second.json).toEqual(REFUSED);
    expect(after).toEqual(before);
  });

  it("updateInstanceStatus: a replayed FREEZE after an UNFREEZE does not freeze again", async () => {
    const { instanceId } = await createInstance();
    const freeze = signedV2Request({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" });
    const replay = freeze.clone();
    expect((await send(freeze)).json.resultCode).toBe("000000");
    expect((await send(signedV2Request({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" }))).json.resultCode).toBe("000000");
    const before = await tableCounts();
    expect((await send(replay)).json).toEqual(REFUSED);
    expect(await instanceRow(instanceId)).toMatchObject({ status: "active", version: 3 });
    expect(await tableCounts()).toEqual(before);
  });

  it("releaseInstance and refreshInstance replays are refused", async () => {
    const { instanceId } = await createInstance();
    const refresh = await sendTwice({ activity: "refreshInstance", instanceId, orderId: uniqueId("RN"), orderLineId: "l-1", expireTime: "20300101000000", scene: "RENEWAL" });
    expect(refresh.first.json.resultCode).toBe("000000");
    expect(refresh.second.json).toEqual(REFUSED);
    expect(refresh.after).toEqual(refresh.before);
    const release = await sendTwice({ activity: "releaseInstance", instanceId });
    expect(release.first.json.resultCode).toBe("000000");
    expect(release.second.json).toEqual(REFUSED);
    expect(release.after).toEqual(release.before);
  });

  it("queryInstance: the replay is refused, for a known instance and for ids nobody knows", async () => {
    const { instanceId } = await createInstance();
    const known = await sendTwice({ activity: "queryInstance", instanceId });
    expect(known.first.json).toMatchObject({ resultCode: "000000", info: [{ instanceId }] });
    expect(known.second.json).toEqual(REFUSED);
    const unknown = await sendTwice({ activity: "queryInstance", instanceId: `${uniqueId("nope-")},${instanceId}` });
    expect(unknown.first.json.resultCode).toBe("000000");
    expect(unknown.second.json).toEqual(REFUSED);
    expect(unknown.after).toEqual(unknown.before);
  });

  it("debug calls are guarded too", async () => {
    const { first, second } = await sendTwice({ activity: "releaseInstance", instanceId: uniqueId("debug-"), testFlag: "1" });
    expect(first.json.resultCode).toBe("000000");
    expect(second.json).toEqual(REFUSED);
  });
});

/** The actor's stored nonces (their values), read inside it. */
function storedNonces(instanceId: string): Promise<string[]> {
  return runInDurableObject(getInstanceActor(env, instanceId), (_actor: InstanceActor, state) =>
    [...state.storage.kv.list({ prefix: "nonce:" })].map(([key]) => key.split(":")[2] ?? ""),
  );
}

describe("a nonce is stored with the call it came with", () => {
  it("a replay sent while its original still waits for query order is refused, and the original completes", async () => {
    const body = makeNewInstance();
    // The original is held in its actor by a slow query order: its nonce is admitted, not yet stored.
    await controlOrders({ slowOrders: { [body.orderId]: 800 } });
    const request = signedV2Request(body);
    const replay = request.clone();
    const original = send(request);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = await send(replay);
    expect(refused.json).toEqual(REFUSED);
    const answered = await original;
    expect(answered.json.resultCode).toBe("000000");
    const nonce = new URL(request.url).searchParams.get("nonce");
    expect(await storedNonces(String(answered.json.instanceId))).toContain(nonce);
  });

  it("is stored for a call that changes nothing, and for a queryInstance answered by the actor", async () => {
    const { instanceId } = await createInstance();
    const release = signedV2Request({ activity: "releaseInstance", instanceId });
    const releaseAgain = signedV2Request({ activity: "releaseInstance", instanceId });
    const query = signedV2Request({ activity: "queryInstance", instanceId });
    for (const request of [release, releaseAgain, query]) expect((await send(request.clone())).json.resultCode).toBe("000000");
    const stored = await storedNonces(instanceId);
    for (const request of [release, releaseAgain, query]) expect(stored).toContain(new URL(request.url).searchParams.get("nonce"));
    for (const request of [release, releaseAgain, query]) expect((await send(request)).json).toEqual(REFUSED);
  });
});

describe("ReplayGuard (the actor's replay store)", () => {
  it("refuses a nonce it keeps, drops expired ones every few stores, keeps the live ones", async () => {
    const stub = getInstanceActor(env, uniqueId("nonce-store-"));
    const kept = await runInDurableObject(stub, (_actor: InstanceActor, state) => {
      const kv = state.storage.kv;
      const guard = new ReplayGuard(kv);
      const now = 1_000_000;
      const nonce = (value: string, expiresAtMs: number) => ({ value, expiresAtMs });
      const results = [guard.remember(nonce("a", now + 60_000), now), guard.remember(nonce("a", now + 60_000), now)];
      for (let i = 0; i < 40; i++) guard.remember(nonce(`old-${i}`, now + 1_000 + i), now);
      const stored = () => [...kv.list({ prefix: "nonce:" })].map(([key]) => key.split(":")[2] ?? "");
      const oldLeft = () => stored().filter((value) => value.startsWith("old-")).length;
      // Later, the forty old ones have expired: eight stores prune once (up to 32 of them), eight more the rest.
      const later = now + 10_000;
      for (let i = 0; i < 8; i++) guard.remember(nonce(`n-${i}`, later + 60_000), later);
      const afterEight = oldLeft();
      for (let i = 0; i < 8; i++) guard.remember(nonce(`m-${i}`, later + 60_000), later);
      results.push(guard.remember(nonce("a", now + 60_000), later), guard.remember(nonce("n-3", later + 60_000), later));
      // A nonce admitted and not yet stored is refused to its replay, and stored by `store`.
      const admitted = guard.admit(nonce("z", later + 60_000));
      results.push(guard.admit(nonce("z", later + 60_000)) === undefined);
      if (admitted) guard.store(admitted, later);
      return { results, afterEight, afterSixteen: oldLeft(), live: stored().length, zStored: stored().includes("z") };
    });
    expect(kept.results).toEqual([true, false, false, false, true]);
    expect(kept.afterEight).toBe(8);
    expect(kept.afterSixteen).toBe(0);
    // a, eight n-, eight m- and z.
    expect(kept.live).toBe(18);
    expect(kept.zStored).toBe(true);
  });
});

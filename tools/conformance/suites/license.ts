import { v2Call } from "../client";
import { createProblems } from "../checks";
import type { Context, SavedCase } from "../framework";
import { createHash } from "node:crypto";
import { bearer, businessId, debugOrderId, hex, inOneYear } from "../ids";

/**
 * License callbacks (marketplace-open-apis §3.3, §3.4), POST /license with LICENSE_ACCESS_KEY and the V2 signature
 * (§3.1): a debug newInstance on /saas, then refreshLicenseCode, updateLicenseCodeStatus, releaseLicenseCode and
 * getLicenseAsync (for that instance) with the debug flag, twice each, then in a random order; getLicenseAsync on the
 * basic interface too (/saas, SAAS_ACCESS_KEY); then the refusals.
 * getLicenseAsync may answer 000004 (asynchronous, §3.4); everything else 000000.
 */
export async function licenseSuite(ctx: Context): Promise<void> {
  const key = ctx.settings.keys.license;
  const probe = v2Call(ctx.base, "/license", key, { activity: "updateLicenseCodeStatus", license: "probe", status: "FREEZE", testFlag: "1" }, { signature: "0".repeat(64) });
  if (!(await ctx.served("license", probe, "license callbacks (POST /license)"))) return;

  // The online license belongs to an instance: a debug newInstance on /saas first, as the seller does before saving
  // the getLicenseAsync case with its instanceId.
  const saas = ctx.settings.keys.saas;
  const orderId = debugOrderId();
  let instanceId = "";
  const create: SavedCase = {
    name: "newInstance on /saas (online license)",
    build: () => v2Call(ctx.base, "/saas", saas, { activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: businessId(), testFlag: "1" }),
    key: saas,
    expect: ["000000"],
    fields: (answer) => {
      if (!instanceId && typeof answer.json?.instanceId === "string") instanceId = answer.json.instanceId;
      return createProblems(answer);
    },
  };
  await ctx.playTwice("license", create);
  instanceId ||= "missing-instance-id";

  const saved = (name: string, body: object, more: Partial<SavedCase> = {}): SavedCase => ({
    name,
    build: () => v2Call(ctx.base, "/license", key, { ...body, testFlag: "1" }),
    key,
    expect: ["000000"],
    ...more,
  });
  const license = `DEBUG-LICENSE-${hex(8)}`;
  const renewal = debugOrderId();
  const unsubscribe = debugOrderId();
  const eventId = `debug-event-${hex(8)}`;
  const expireTime = inOneYear();
  const asyncLicense = {
    activity: "getLicenseAsync",
    instanceId,
    effectiveTime: onlineLicenseTime(Date.now()),
    expireTime: onlineLicenseTime(Date.now() + 365 * 86_400_000),
    eventId,
    deviceFingerprint: `fp-${hex(8)}`,
  };
  const cases: SavedCase[] = [
    saved("refreshLicenseCode RENEWAL", { activity: "refreshLicenseCode", scene: "RENEWAL", orderId: renewal, orderLineId: `${renewal}-000001`, license, expireTime }),
    saved("refreshLicenseCode UNSUBSCRIBE_RENEWAL_PERIOD", { activity: "refreshLicenseCode", scene: "UNSUBSCRIBE_RENEWAL_PERIOD", orderId: unsubscribe, orderLineId: `${unsubscribe}-000001`, license, expireTime }),
    saved("updateLicenseCodeStatus FREEZE", { activity: "updateLicenseCodeStatus", license, status: "FREEZE" }),
    saved("updateLicenseCodeStatus UNFREEZE", { activity: "updateLicenseCodeStatus", license, status: "UNFREEZE" }),
    saved("getLicenseAsync", asyncLicense, { expect: ["000000", "000004"] }),
    saved("releaseLicenseCode", { activity: "releaseLicenseCode", license }),
  ];
  for (const one of cases) await ctx.playTwice("license", one);
  await ctx.playShuffled("license", cases);

  const onSaas: SavedCase = {
    name: "getLicenseAsync on /saas",
    build: () => v2Call(ctx.base, "/saas", saas, { ...asyncLicense, eventId: `${eventId}-saas`, testFlag: "1" }),
    key: saas,
    expect: ["000000", "000004"],
  };
  await ctx.playTwice("license", onSaas);
  const fingerprintSha256 = createHash("sha256").update(asyncLicense.deviceFingerprint).digest("hex");
  ctx.next(`debug online license: event ${eventId}, device fingerprint ${asyncLicense.deviceFingerprint}, instance ${instanceId}`);
  ctx.next(`  curl ${bearer} '${ctx.base}/api/v1/licenses/${eventId}?fingerprintSha256=${fingerprintSha256}'`);

  const body = { activity: "updateLicenseCodeStatus", license, status: "FREEZE", testFlag: "1" };
  const tolerance = Math.max(ctx.settings.toleranceSeconds, 60) * 1000 + 60_000;
  await ctx.refuse("license", "refused: bad signature", v2Call(ctx.base, "/license", key, body, { signature: "0".repeat(64) }), key);
  await ctx.refuse("license", "refused: signed with another key", v2Call(ctx.base, "/license", `${key}-wrong`, body), key);
  await ctx.refuse("license", "refused: stale timestamp", v2Call(ctx.base, "/license", key, body, { timestamp: Date.now() - tolerance }), key);
  await ctx.replay("license", "refused: replayed nonce", v2Call(ctx.base, "/license", key, body), key, ["000000"]);
}

/** §3.4's example "2023-10-27 10:30:15 z": UTC yyyy-MM-dd HH:mm:ss and a z. */
function onlineLicenseTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} z`;
}

import { openSecret } from "../crypto/data-key";
import { getDb } from "../db/client";
import type { Instance } from "../db/schema/instances";
import type { Settings } from "../env";
import type { AppInfo } from "../instances/commands";
import { findInstances } from "../instances/instance.repo";
import { ResultCode } from "../protocol/result-codes";
import type { CallAnswer } from "./actor-call";
import { type AnswerContext, type QueryInfo, queryAnswerText } from "./answers";

/** queryInstance for every dialect: one D1 read, no actor; the context decides V1 encryption. */
export async function queryInstances(
  env: Env,
  settings: Settings,
  context: AnswerContext,
  ids: readonly string[],
  isTest: boolean,
): Promise<CallAnswer> {
  const rows = await findInstances(getDb(env), ids);
  // A debug query never reads a real purchase, nor a real one a debug instance.
  const byId = new Map(rows.filter((row) => row.isTest === isTest).map((row) => [row.id, row]));
  const known = ids.filter((id) => byId.has(id));
  if (known.length === 0 && !isTest) {
    const text = JSON.stringify({ resultCode: ResultCode.InstanceNotFound, resultMsg: `no such instance: ${ids.join(",").slice(0, 200)}` });
    return { text, resultCode: ResultCode.InstanceNotFound };
  }
  const info = await Promise.all(
    ids.map(async (id) => {
      const row = byId.get(id);
      // A saved debug case may ask for an id this deployment never saw (spec §8).
      if (!row) return isTest ? { instanceId: id } : undefined;
      return instanceInfo(settings, row);
    }),
  );
  const stillProvisioning = known.some((id) => byId.get(id)?.status === "provisioning");
  // A purchase that failed (the seller's backend refused it, or its order never came) tells the Marketplace why,
  // instead of a success without the way in that it would poll forever.
  const failed = known.length === 1 ? byId.get(known[0] ?? "") : undefined;
  if (failed?.status === "failed") {
    const resultCode = failed.failureCode ?? ResultCode.InternalError;
    const text = queryAnswerText(context, resultCode, (failed.failureReason ?? "provisioning failed").slice(0, 255), [{ instanceId: failed.id }]);
    return { text, resultCode };
  }
  const resultCode = stillProvisioning ? ResultCode.Processing : ResultCode.Success;
  const text = queryAnswerText(context, resultCode, stillProvisioning ? "provisioning" : "success", info.filter((entry) => entry !== undefined));
  return { text, resultCode };
}

/** The buyer's way in for a row, in plain text; no appInfo until it is usable. */
export async function instanceInfo(settings: Settings, row: Instance): Promise<QueryInfo> {
  if (row.status === "provisioning" || row.status === "released" || row.status === "failed" || row.provisionedAt === null || !row.frontendUrl) {
    return { instanceId: row.id };
  }
  const appInfo: AppInfo = { frontEndUrl: row.frontendUrl };
  if (row.adminUrl) appInfo.adminUrl = row.adminUrl;
  if (row.adminUserName) appInfo.userName = row.adminUserName;
  if (row.adminPasswordSealed) appInfo.password = await openSecret(settings.dataKey, row.adminPasswordSealed);
  if (row.memo) appInfo.memo = row.memo;
  return { instanceId: row.id, appInfo };
}

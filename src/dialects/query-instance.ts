import { getInstanceActor } from "../actor/instance.actor";
import { getDb } from "../db/client";
import type { Instance } from "../db/schema/instances";
import type { Settings } from "../env";
import { findInstances } from "../instances/instance.repo";
import { appInfoOf } from "../instances/purchase";
import { ReplayError } from "../protocol/errors";
import { ResultCode } from "../protocol/result-codes";
import type { SignedNonce } from "../protocol/v2-signature";
import type { CallAnswer } from "./actor-call";
import { type AnswerContext, type QueryInfo, queryAnswerText } from "./answers";

/**
 * queryInstance for every dialect; the context decides V1 encryption. A V2 call's nonce is kept by the actor of its
 * first id (a replay is the same body, so the same first id): for one id (the Marketplace's usual poll) that actor
 * also answers with the instance it holds, so the call costs one actor call and no D1 read; for several ids, one D1
 * read alongside the actor's nonce check. Nothing is answered before both are done.
 */
export async function queryInstances(
  env: Env,
  settings: Settings,
  context: AnswerContext,
  ids: readonly string[],
  isTest: boolean,
  nonce?: SignedNonce,
): Promise<CallAnswer> {
  const rows = await instancesOf(env, ids, nonce);
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
  // The Marketplace polls until it reads success (spec §3.2): a failed purchase answers its failure code, never
  // 000000, or the buyer is shown a service that does not exist.
  const failed = known.map((id) => byId.get(id)).find((row) => row?.status === "failed");
  const stillProvisioning = known.some((id) => byId.get(id)?.status === "provisioning");
  const [resultCode, resultMsg] = failed
    ? [failed.failureCode ?? ResultCode.InternalError, (failed.failureReason ?? "provisioning failed").slice(0, 255)]
    : stillProvisioning
      ? [ResultCode.Processing, "provisioning"]
      : [ResultCode.Success, "success"];
  const text = queryAnswerText(context, resultCode, resultMsg, info.filter((entry) => entry !== undefined));
  return { text, resultCode };
}

/** The rows the ids name (any order, unknown ids left out), after the V2 nonce is kept; a replay throws. */
async function instancesOf(env: Env, ids: readonly string[], nonce: SignedNonce | undefined): Promise<Instance[]> {
  const [first] = ids;
  if (!nonce || first === undefined) return findInstances(getDb(env), ids);
  if (ids.length === 1) {
    const { replay, instance } = await getInstanceActor(env, first).read(first, nonce);
    if (replay) throw new ReplayError();
    return instance ? [instance] : [];
  }
  const [rows, fresh] = await Promise.all([findInstances(getDb(env), ids), getInstanceActor(env, first).checkNonce(nonce)]);
  if (!fresh) throw new ReplayError();
  return rows;
}

/** The buyer's way in for a row, in plain text; no appInfo until it is usable, nor after release or failure. */
export async function instanceInfo(settings: Settings, row: Instance): Promise<QueryInfo> {
  if (row.status === "provisioning" || row.status === "released" || row.status === "failed") return { instanceId: row.id };
  const appInfo = await appInfoOf(row, settings.dataKey);
  return appInfo ? { instanceId: row.id, appInfo } : { instanceId: row.id };
}

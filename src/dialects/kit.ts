import { createHash } from "node:crypto";
import type { Settings } from "../env";
import { getInstanceActor } from "../actor/instance.actor";
import { type KitAnswer, type KitSyncCall, kitActorName } from "../kit/kit-sync";
import { sealClientSecret } from "../kit/kit-secrets";
import { ResultCode } from "../protocol/result-codes";
import { type KitClientSecret, decryptKitClientSecret } from "../protocol/kit-client-secret";
import type { KitRequest } from "../protocol/schemas/kit.schema";
import { withinBudget } from "./actor-call";
import { ANSWER_BUDGET } from "./answer-budget";

export interface KitCallMeta {
  /** The body as received. */
  json: Record<string, unknown>;
  receivedAt: number;
  /** V1 only: the verified authToken, which makes the exact same signed call recognisable (no nonce in V1). */
  authToken?: string;
}

const REDACTED = "[redacted]";

/**
 * An authSync carries up to 500 users (§6.3) of a few hundred bytes each, past the 64 KiB every other callback gets.
 * No field has a documented length, so the limit leaves room: 2 KiB a user.
 */
export const KIT_MAX_BODY_BYTES = 1024 * 1024;

/** A parsed kit sync, its applicationSync client secret already decrypted (absent for a delete or another sync). */
export interface DecryptedKit {
  kit: KitRequest;
  secret?: KitClientSecret;
}

/**
 * Part of parsing, before the nonce is stored: an undecryptable client secret is bad input (000002) and, like any
 * other, must leave nothing stored.
 */
export function decryptKitSecret(kit: KitRequest, settings: Settings): DecryptedKit {
  // A delete needs no secret; refusing it for an undecryptable one would leave the app bound forever.
  if (kit.name !== "applicationSync" || kit.request.flag === 0) return { kit };
  return { kit, secret: decryptKitClientSecret(settings.kitRsaPrivateKey, kit.request.clientSecret) };
}

/**
 * Route side of a kit sync: seals the decrypted client secret here, so that neither the plain secret nor its RSA
 * ciphertext crosses to the actor or into the inbox, then queues the sync on its actor.
 */
export async function handleKitSync(env: Env, settings: Settings, { kit, secret }: DecryptedKit, meta: KitCallMeta): Promise<KitAnswer> {
  let sealedSecret: KitSyncCall["sealedSecret"];
  let parsed = kit;
  if (kit.name === "applicationSync") {
    const r = kit.request;
    if (secret) {
      const sealed = await sealClientSecret(settings.dataKey, r, r.appId, secret.plaintext);
      sealedSecret = { sealed, oaepVariant: `${secret.hash}/MGF1-${secret.mgf1Hash}` };
    }
    parsed = { ...kit, request: { ...r, clientSecret: REDACTED } };
  }
  const redacted = JSON.stringify("clientSecret" in meta.json ? { ...meta.json, clientSecret: REDACTED } : meta.json);
  const call: KitSyncCall = {
    version: kit.version,
    kit: parsed,
    ...(sealedSecret ? { sealedSecret } : {}),
    callKey: meta.authToken
      ? `kit:v1:${kit.name}:${createHash("sha256").update(meta.authToken).digest("hex").slice(0, 32)}`
      : `kit:v2:${kit.name}:${crypto.randomUUID()}`,
    answerRepeatsFromRecord: meta.authToken !== undefined,
    requestDigest: createHash("sha256").update(redacted).digest("hex"),
    receivedAt: meta.receivedAt,
  };
  // Kit syncs are retried only by a person, and read 000004 as a failure: the actor accepts the sync (000000) or drops
  // it unapplied (000005) by its decision point; an actor silent past the answer budget is 000005 as well.
  const { decideMs, answerMs } = ANSWER_BUDGET.change;
  return withinBudget<KitAnswer>(
    getInstanceActor(env, kitActorName(kit)).kitSync(call, meta.receivedAt + decideMs),
    () => ({
      text: JSON.stringify({ resultCode: ResultCode.InternalError, resultMsg: "no answer from the sync's actor in time; send the sync again (it is idempotent)" }),
      resultCode: ResultCode.InternalError,
    }),
    meta.receivedAt + answerMs - Date.now(),
  );
}

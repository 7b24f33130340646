import { createHash } from "node:crypto";
import type { Settings } from "../env";
import { getInstanceActor } from "../actor/instance.actor";
import { type KitAnswer, type KitSyncCall, kitActorName } from "../kit/kit-sync";
import { sealClientSecret } from "../kit/kit-secrets";
import { ResultCode } from "../protocol/result-codes";
import { type KitClientSecret, decryptKitClientSecret } from "../protocol/kit-client-secret";
import type { KitRequest } from "../protocol/schemas/kit.schema";
import { withinBudget } from "./actor-call";

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
  // A sync still queued when the budget runs out is not acknowledged: 000004 tells the admin it is under way, and
  // the sync, idempotent, may be retried.
  return withinBudget<KitAnswer>(getInstanceActor(env, kitActorName(kit)).kitSync(call), () => ({
    text: JSON.stringify({ resultCode: ResultCode.Processing, resultMsg: "sync is being applied; retry for the result" }),
    resultCode: ResultCode.Processing,
  }));
}

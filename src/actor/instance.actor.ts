import { createAnswerCarriesAppInfo } from "../dialects/answers";
import type { Instance } from "../db/schema/instances";
import type { CallEnvelope, InstanceCommand, Outcome } from "../instances/commands";
import { NOT_ACCEPTED, applyCall } from "../instances/change-call";
import { purchaseOutcome } from "../instances/purchase";
import { findInstance } from "../instances/instance.repo";
import { credentialsCall, provisionedCall, provisioningFailedCall, retryProvisioningCall } from "../instances/seller-api-calls";
import type { AdminRetryResult, CredentialsResult, ProvisionedBody, ProvisioningFailedBody, SellerWriteResult } from "../instances/seller-commands";
import { applyKit } from "../kit/kit-call";
import type { KitAnswer, KitSyncCall } from "../kit/kit-sync";
import type { IssuedLicense } from "../license/license-content";
import { licenseSubmittedCall, planLicenseCall } from "../license/license-calls";
import type { LicenseWriteResult } from "../license/license-flow";
import { findLicenseById } from "../license/license.repo";
import { type LicenseCommand, outcomeOf } from "../license/online-license";
import { log } from "../observability/log";
import { ResultCode } from "../protocol/result-codes";
import type { SignedNonce } from "../protocol/v2-signature";
import { type AcceptedWork, settleAccepted } from "./accepted";
import { type Acceptance, type Decision, decideBy } from "./acceptance";
import { ALARM_FAILURE_RETRY_MS, armAlarm, runDueDuties } from "./alarm-scheduler";
import { deliverDue } from "./duties/delivery.duty";
import { INSTANCE_DUTIES } from "./duties";
import { uploadDue } from "./duties/license-upload.duty";
import { type CallInProgress, type InstanceScope, KV, type LogFacts, instanceScope, isD1Error, load, markDeliveryDue, markLicenseDue, reload, storeCallNonce } from "./instance-scope";
import { ReplayGuard } from "./replay-guard";
import { SerialActor } from "./serial-actor";

export { PROVISIONING_WINDOW_MS } from "../instances/provisioning-window";
export { ORDER_FIRST_TIMEOUT_MS } from "../instances/purchase-call";
export { ALARM_FAILURE_RETRY_MS } from "./alarm-scheduler";
export type { LogFacts } from "./instance-scope";

/** A Marketplace call's result, and what the actor did for the caller's request log line. */
export interface ActorReply {
  outcome: Outcome;
  facts: LogFacts;
}

const REPLAYED: Outcome = { resultCode: ResultCode.AuthFailed, resultMsg: "nonce was already used (replay)", replay: true };
const NOT_ACCEPTED_KIT: KitAnswer = { text: JSON.stringify(NOT_ACCEPTED), resultCode: NOT_ACCEPTED.resultCode };
const KIT_ACCEPTED: KitAnswer = { text: JSON.stringify({ resultCode: ResultCode.Success, resultMsg: "accepted; being applied" }), resultCode: ResultCode.Success };

/**
 * One actor per instance id, and nothing but the serializer around plain modules (docs/instance-actor.md): each RPC
 * method admits the call (replay guard), runs one function of its concern inside the queue (src/instances,
 * src/license, src/kit), which commits through src/actor/commit.ts; the alarm runs the due background duties
 * (src/actor/duties) and is always re-armed for the earliest one still due.
 */
export class InstanceActor extends SerialActor {
  private readonly replayGuard = new ReplayGuard(this.ctx.storage.kv);
  private readonly scope: InstanceScope = instanceScope({
    env: this.env,
    kv: this.ctx.storage.kv,
    transactionSync: (work) => this.ctx.storage.transactionSync(work),
    waitUntil: (promise) => this.ctx.waitUntil(promise),
    serialize: (work) => this.serialize(work),
    storeNonce: (key, now) => this.replayGuard.store(key, now),
    armAlarm: (notBefore) => armAlarm(this.scope, INSTANCE_DUTIES, this.ctx.storage, notBefore),
  });

  // ---- Marketplace callbacks ---------------------------------------------------------------------------------------

  async apply(instanceId: string, envelope: CallEnvelope, command: InstanceCommand): Promise<ActorReply> {
    // Before the queue: a replay is refused at once, even while the original call is still running.
    const call = this.admit(envelope.nonce, { instanceId });
    if (!call) return { outcome: REPLAYED, facts: { instanceId } };
    const { decideBy: deadline } = envelope;
    if (command.kind === "lifecycle" && deadline !== undefined) {
      const decision = await this.decide<Outcome>(deadline, (acceptance) =>
        this.serialize(() => this.during(call, () => (acceptance.dropped ? Promise.resolve(NOT_ACCEPTED) : applyCall(this.scope, instanceId, envelope, command, acceptance)))),
      );
      return { outcome: decision.kind === "dropped" ? NOT_ACCEPTED : decision.answer, facts: { ...call.facts, ...(decision.kind === "done" ? {} : { decided: decision.kind }) } };
    }
    const outcome = await this.serialize(() => this.during(call, () => applyCall(this.scope, instanceId, envelope, command)));
    if (command.kind !== "create" || outcome.resultCode !== ResultCode.Processing || this.settings.provisioning.mode !== "webhook") return { outcome, facts: call.facts };
    // Webhook provisioning: the seller's backend gets instance.created now, and its answer may finish the purchase
    // within this very call; the caller's budget answers 000004 if it takes longer.
    await this.deliverNow(instanceId);
    // Answered from where the purchase is now, not by applying the create again: a refusal the backend just gave is
    // this call's answer, not a failed purchase for a new newInstance to retry.
    const current = await this.serialize(async () => {
      const instance = await load(this.scope, instanceId);
      return instance ? purchaseOutcome(instance, this.settings.dataKey, createAnswerCarriesAppInfo(envelope.dialect)) : outcome;
    });
    return { outcome: current, facts: call.facts };
  }

  /** The replay check of a queryInstance of several ids (answered from D1): its nonce is kept here. */
  async checkNonce(nonce: SignedNonce): Promise<boolean> {
    return this.replayGuard.remember(nonce, Date.now());
  }

  /**
   * queryInstance of one id: its nonce kept here, and the instance as this actor last wrote it (the only writer of
   * its row, so never behind D1), without a D1 read when the actor has it.
   */
  async read(instanceId: string, nonce: SignedNonce): Promise<{ replay: boolean; instance: Instance | undefined }> {
    if (!this.replayGuard.remember(nonce, Date.now())) return { replay: true, instance: undefined };
    // Not `load`: this read runs outside the queue, so it must never write the cache a running change is writing.
    return { replay: false, instance: this.kv.get<Instance>(KV.instance) ?? (await findInstance(this.db, instanceId)) };
  }

  // ---- the seller's backend (seller API) and the operator (admin API) ---------------------------------------------

  async provisioned(instanceId: string, body: ProvisionedBody, now: number): Promise<SellerWriteResult> {
    return this.serialize(() => provisionedCall(this.scope, instanceId, body, now));
  }

  async provisioningFailed(instanceId: string, body: ProvisioningFailedBody, now: number): Promise<SellerWriteResult> {
    return this.serialize(() => provisioningFailedCall(this.scope, instanceId, body, now));
  }

  async credentials(instanceId: string, now: number): Promise<CredentialsResult> {
    return this.serialize(() => credentialsCall(this.scope, instanceId, now));
  }

  /** In webhook mode the seller's backend gets instance.created at once; its retries end where the window ends. */
  async retryProvisioning(instanceId: string, now: number): Promise<AdminRetryResult> {
    const result = await this.serialize(() => retryProvisioningCall(this.scope, instanceId, now));
    if (result.status !== 200 || this.settings.provisioning.mode !== "webhook" || result.instance.isTest) return result;
    await this.deliverNow(instanceId);
    return this.serialize(async () => {
      const instance = await load(this.scope, instanceId);
      return instance ? { status: 200, instance } : result;
    });
  }

  // ---- joint-operation kit -----------------------------------------------------------------------------------------

  /**
   * Kit syncs for this instance (or, for the seller's own calls without one, for the tenant this actor is named
   * after: kitActorName) queue behind every other change here, so two syncs of one tenant never interleave.
   */
  async kitSync(call: KitSyncCall, deadline?: number): Promise<KitAnswer> {
    if (deadline === undefined) return this.serialize(() => applyKit(this.scope, call));
    const decision = await this.decide<KitAnswer>(deadline, (acceptance) =>
      this.serialize(async () => {
        // No check can refuse a sync that reached its actor (it is idempotent, and parsing is done): accepted first.
        if (!acceptance.accept(KIT_ACCEPTED)) return NOT_ACCEPTED_KIT;
        this.kv.put(KV.accepted, { kind: "kit", call } satisfies AcceptedWork);
        return applyKit(this.scope, call);
      }),
    );
    return decision.kind === "dropped" ? NOT_ACCEPTED_KIT : decision.answer;
  }

  /**
   * Events written outside the actor (a usage record the push job rejected) or a delivery whose alarm was lost: the
   * alarm delivers this stream's due events now. Returns at once; the delivery runs in the alarm.
   */
  async kick(stream: string): Promise<void> {
    this.kv.put(KV.stream, stream);
    markDeliveryDue(this.scope, Date.now());
    await this.scope.armAlarm();
  }

  // ---- online licenses (src/license) ------------------------------------------------------------------------------

  /**
   * getLicenseAsync: the stored or new license (src/license/license-calls.ts), then its delivery and upload. The
   * caller answers 000004 when this takes longer than its budget; the alarm finishes the work.
   */
  async getLicense(command: LicenseCommand, nonce?: SignedNonce): Promise<Outcome> {
    const call = this.admit(nonce, {});
    if (!call) return REPLAYED;
    const plan = await this.serialize(() => this.during(call, () => planLicenseCall(this.scope, command)));
    if (plan.kind === "answer") return plan.outcome;
    if (plan.row.state === "requested") await deliverDue(this.scope, command.instanceId);
    await uploadDue(this.scope, command.instanceId);
    const row = await findLicenseById(this.db, command.licenseId);
    return row ? outcomeOf(row) : { resultCode: ResultCode.Processing, resultMsg: "processing; retry for the result" };
  }

  async licenseSubmitted(licenseId: string, license: IssuedLicense, now: number): Promise<LicenseWriteResult> {
    return this.serialize(() => licenseSubmittedCall(this.scope, licenseId, license, now));
  }

  /** The sweep found an upload overdue (a lost alarm): the alarm uploads what is due now. */
  async kickLicenses(): Promise<void> {
    markLicenseDue(this.scope, Date.now());
    await this.scope.armAlarm();
  }

  // ---- the serializer ------------------------------------------------------------------------------------------------

  /** Whatever runs in the queue runs after the accepted call a failed batch or a restart left unwritten. */
  protected override serialize<T>(work: () => Promise<T>): Promise<T> {
    return super.serialize(async () => {
      await settleAccepted(this.scope);
      return work();
    });
  }

  /** A Marketplace call past the replay guard (its nonce admitted, stored later), or null for a replay. */
  private admit(nonce: SignedNonce | undefined, facts: LogFacts): CallInProgress | null {
    if (!nonce) return { nonceKey: undefined, facts };
    const nonceKey = this.replayGuard.admit(nonce);
    return nonceKey === undefined ? null : { nonceKey, facts };
  }

  /** Runs one Marketplace call inside the queue; its nonce is stored by its first commit, or here at its end. */
  private async during<T>(call: CallInProgress, work: () => Promise<T>): Promise<T> {
    this.scope.call = call;
    try {
      return await work();
    } finally {
      storeCallNonce(this.scope);
      this.scope.call = null;
    }
  }

  /**
   * A call that must be accepted or dropped by `deadline`. When its work fails after it was accepted, the accepted
   * record is still there: the alarm writes it.
   */
  private async decide<T>(deadline: number, work: (acceptance: Acceptance<T>) => Promise<T>): Promise<Decision<T>> {
    return decideBy(deadline, (acceptance) =>
      work(acceptance).catch(async (error: unknown) => {
        if (acceptance.accepted) {
          log("error", "actor.accepted_write_failed", { error: error instanceof Error ? error.message : String(error) });
          await this.scope.armAlarm(Date.now() + ALARM_FAILURE_RETRY_MS);
        }
        throw error;
      }),
    );
  }

  /** The stream's due events now, inside the caller's budget, then the alarm for what is left. */
  private async deliverNow(stream: string): Promise<void> {
    await deliverDue(this.scope, stream);
    await this.scope.armAlarm();
  }

  /**
   * Settles an accepted call left unwritten, then runs the due duties (src/actor/alarm-scheduler.ts). A failed duty
   * leaves the others run and the alarm re-armed, not before the failure pause: overdue work re-armed at its own time
   * would fire at once, in a tight loop for as long as the failure lasts.
   */
  override async alarm(): Promise<void> {
    let notBefore = 0;
    try {
      const errors: unknown[] = [];
      if (this.kv.get<AcceptedWork>(KV.accepted) !== undefined) await this.serialize(async () => undefined).catch((error: unknown) => errors.push(error));
      errors.push(...(await runDueDuties(this.scope, INSTANCE_DUTIES, Date.now())));
      const [first] = errors;
      if (first === undefined) return;
      notBefore = Date.now() + ALARM_FAILURE_RETRY_MS;
      // A unique-key failure means this actor's cache is behind D1 (a crash after a batch): reload, or every later
      // alarm fails the same way.
      const instanceId = this.kv.get<Instance>(KV.instance)?.id;
      if (instanceId && errors.some(isD1Error)) await this.serialize(() => reload(this.scope, instanceId));
      throw first;
    } finally {
      // Whatever failed above, what is still pending keeps its alarm (the platform's own alarm retries are few).
      await this.scope.armAlarm(notBefore);
    }
  }
}

export function getInstanceActor(env: Env, instanceId: string) {
  return env.INSTANCES.get(env.INSTANCES.idFromName(instanceId));
}

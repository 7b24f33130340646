import type { Instance } from "../db/schema/instances";
import type { InstanceChange } from "../instances/instance-change";
import { findInboxEntry } from "../instances/instance.repo";
import { applyKit } from "../kit/kit-call";
import type { KitSyncCall } from "../kit/kit-sync";
import { log } from "../observability/log";
import { type InboxRow, commit } from "./commit";
import { type CachedOutcome, type InstanceScope, KV, reload } from "./instance-scope";

/**
 * A call answered as accepted before its D1 batch was written (src/dialects/answer-budget.ts): kept in the actor's
 * own storage until that batch is, and written again from here after a failed batch or a restart.
 */
export type AcceptedWork = AcceptedChange | { kind: "kit"; call: KitSyncCall };
export type AcceptedChange = { kind: "change"; from: Instance; change: InstanceChange; at: number; inbox: InboxRow; cache?: { key: string; value: CachedOutcome } };

export async function commitAccepted(s: InstanceScope, accepted: AcceptedChange): Promise<void> {
  await commit(s, accepted.from, accepted.change, accepted.at, { inbox: accepted.inbox, ...(accepted.cache ? { cache: accepted.cache } : {}), settles: true });
}

/**
 * Writes the accepted call left unwritten, once: a change whose instance D1 still has at the version it was planned
 * on (otherwise its batch did land before the actor lost track), a kit sync whose inbox record is missing.
 */
export async function settleAccepted(s: InstanceScope): Promise<void> {
  const accepted = s.kv.get<AcceptedWork>(KV.accepted);
  if (!accepted) return;
  switch (accepted.kind) {
    case "change": {
      const current = await reload(s, accepted.from.id);
      if (current?.version === accepted.from.version) {
        await commitAccepted(s, { ...accepted, from: current });
        log("warn", "actor.accepted_written", { instanceId: current.id, activity: accepted.inbox.activity, version: accepted.change.next.version });
      } else {
        s.kv.delete(KV.accepted);
      }
      break;
    }
    case "kit":
      if (await findInboxEntry(s.db, accepted.call.callKey)) s.kv.delete(KV.accepted);
      else await applyKit(s, accepted.call);
      log("warn", "actor.accepted_written", { activity: accepted.call.kit.name });
      break;
    default: {
      const unhandled: never = accepted;
      throw new Error(`unknown accepted work ${JSON.stringify(unhandled)}`);
    }
  }
  await s.armAlarm();
}

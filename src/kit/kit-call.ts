import { type InstanceScope, KV, markDeliveryDue } from "../actor/instance-scope";
import { type KitAnswer, type KitSyncCall, applyKitSync } from "./kit-sync";

/** One kit sync's batch inside its actor's queue; its accepted record, if any, is cleared once the batch is written. */
export async function applyKit(s: InstanceScope, call: KitSyncCall): Promise<KitAnswer> {
  const answer = await applyKitSync(s.env, call);
  s.kv.delete(KV.accepted);
  if (answer.eventStream) {
    s.kv.put(KV.stream, answer.eventStream);
    markDeliveryDue(s, call.receivedAt);
    await s.armAlarm();
  }
  return answer;
}

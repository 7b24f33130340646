import { describe, expect, it } from "vitest";
import { ALARM_FAILURE_RETRY_MS, type AlarmStorage, type Duty, armAlarm, runDueDuties } from "../../src/actor/alarm-scheduler";
import { KV } from "../../src/actor/instance-scope";
import { dutyHarness } from "../support/duty-scope";

/** The alarm API of a Durable Object's storage, in memory. */
function fakeAlarm(initial: number | null = null): AlarmStorage & { at: number | null } {
  const alarm = {
    at: initial,
    getAlarm: async () => alarm.at,
    setAlarm: async (at: number) => {
      alarm.at = at;
    },
  };
  return alarm;
}

function duty(name: string, due: number | undefined, run: () => Promise<void>): Duty {
  return { name, nextDue: () => due, run: () => run() };
}

describe("the instance actor's alarm scheduler (no actor)", () => {
  it("runs only the due duties, in order, and a duty that throws stops none of the others", async () => {
    const { scope } = dutyHarness();
    const now = Date.now();
    const ran: string[] = [];
    const failure = new Error("injected duty failure");
    const duties = [
      duty("first", now - 1, async () => void ran.push("first")),
      duty("throws", now, async () => {
        ran.push("throws");
        throw failure;
      }),
      duty("later", now + 60_000, async () => void ran.push("later")),
      duty("idle", undefined, async () => void ran.push("idle")),
      duty("last", now, async () => void ran.push("last")),
    ];
    const errors = await runDueDuties(scope, duties, now);
    expect(ran).toEqual(["first", "throws", "last"]);
    expect(errors).toEqual([failure]);
  });

  it("arms the alarm for the earliest due duty, never later than an alarm already set, and leaves it when none is due", async () => {
    const { scope } = dutyHarness();
    const now = Date.now();
    const alarm = fakeAlarm();
    await armAlarm(scope, [duty("a", now + 5_000, async () => undefined), duty("b", now + 2_000, async () => undefined), duty("c", undefined, async () => undefined)], alarm);
    expect(alarm.at).toBe(now + 2_000);
    await armAlarm(scope, [duty("a", now + 9_000, async () => undefined)], alarm);
    expect(alarm.at).toBe(now + 2_000);
    await armAlarm(scope, [duty("a", undefined, async () => undefined)], alarm);
    expect(alarm.at).toBe(now + 2_000);
  });

  it("after a failure re-arms not before the pause, and counts an accepted call left unwritten as due", async () => {
    const { scope, storage } = dutyHarness();
    const now = Date.now();
    const alarm = fakeAlarm();
    await armAlarm(scope, [duty("overdue", now - 1_000, async () => undefined)], alarm, now + ALARM_FAILURE_RETRY_MS);
    expect(alarm.at).toBe(now + ALARM_FAILURE_RETRY_MS);
    const idle = fakeAlarm();
    storage.set(KV.accepted, { kind: "kit" });
    await armAlarm(scope, [], idle);
    expect(idle.at).toBeGreaterThanOrEqual(now + ALARM_FAILURE_RETRY_MS);
  });
});

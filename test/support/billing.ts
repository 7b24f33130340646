import { env } from "cloudflare:workers";
import { afterEach, beforeEach, vi } from "vitest";
import { ingestUsage } from "../../src/billing/usage-ingest";
import { HOUR_MS } from "../../src/billing/periods";
import { QUERY_ORDER_PATH } from "../../src/marketplace-api/order.api";
import { USAGE_PUSH_PATHS } from "../../src/marketplace-api/usage.api";
import { callV2, makeNewInstance, uniqueId } from "./marketplace";

/**
 * A fixed clock for the whole gateway: only Date is faked (timers stay real), so callbacks are signed and checked,
 * instances created and actors run at the test's time, while the jobs get the same time passed in.
 */
export function setClock(time: number): void {
  vi.useFakeTimers({ toFake: ["Date"], now: time });
  vi.setSystemTime(time);
}

/** A day of its own for each test, far from every other, on exact hour boundaries. */
let dayCounter = 0;
export function testDay(): number {
  dayCounter += 1;
  return Date.UTC(2030, 0, 1) + dayCounter * 7 * 24 * HOUR_MS;
}

export interface PushedRecord {
  instance_id: string;
  record_time: string;
  begin_time: string;
  end_time: string;
  usage_value: string;
  metering_sn: string;
}

export interface PushCall {
  records: PushedRecord[];
  headers: Headers;
  text: string;
}

export type PushAnswer = (call: PushCall) => Response | Promise<Response>;

export const accepted: PushAnswer = () => Response.json({ error_code: "MKT.0000", error_msg: "success" });

interface OrderLine {
  chargingMode: string;
  productId: string;
  expireTime?: string;
}

/**
 * One fetch mock for the Marketplace's open API: query order answers from `orders` (by orderId), usage push from
 * the current `onPush`. The Response is built inside the implementation: one made outside a request's context cannot be read inside `scheduled()`.
 */
export class FakeMarketplace {
  readonly orders = new Map<string, OrderLine>();
  readonly pushes: PushCall[] = [];
  onPush: PushAnswer = accepted;

  install(): this {
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      if (url.pathname === QUERY_ORDER_PATH) {
        const orderId = url.searchParams.get("orderId") ?? "";
        const line = this.orders.get(orderId);
        if (!line) return Response.json({ resultCode: "CBC.0100", resultMsg: "no such order" }, { status: 400 });
        return Response.json({
          resultCode: "MKT.0000",
          resultMsg: "success",
          orderInfo: {
            orderId,
            orderType: "NEW",
            createTime: "20300101000000",
            orderLine: [
              {
                orderLineId: url.searchParams.get("orderLineId") ?? `${orderId}-000001`,
                chargingMode: line.chargingMode,
                ...(line.expireTime ? { expireTime: line.expireTime } : {}),
                productInfo: [{ productId: line.productId, skuCode: "sku-1" }],
              },
            ],
          },
        });
      }
      if (url.pathname === USAGE_PUSH_PATHS.new) {
        const text = await request.text();
        const call: PushCall = { records: (JSON.parse(text) as { usage_records: PushedRecord[] }).usage_records, headers: request.headers, text };
        this.pushes.push(call);
        return this.onPush(call);
      }
      return Response.json({ error_code: "MKT.0999", error_msg: `unexpected ${url.pathname}` }, { status: 500 });
    });
    return this;
  }

  /** Every metering_sn ever pushed, with repeats. */
  pushedSns(): string[] {
    return this.pushes.flatMap((call) => call.records.map((record) => record.metering_sn));
  }
}

/** Per-record rejections the way usage.api.ts reads them (top-level abnormal_usage_data). */
export function partialFailure(rejections: ReadonlyArray<{ sn: string; code: string; message?: string }>): Response {
  return Response.json({
    error_code: "94060999",
    error_msg: "Failed",
    abnormal_usage_data: rejections.map((r) => ({ metering_sn: r.sn, error_code: r.code, error_msg: r.message ?? `code ${r.code}` })),
  });
}

/**
 * A pay-per-use instance made the real way: newInstance signed like the Marketplace; its query order (order first,
 * answered by this fake) brings the charging mode and product before it is provisioned.
 */
export async function createPayPerUseInstance(
  fake: FakeMarketplace,
  line: Partial<OrderLine> = {},
): Promise<{ instanceId: string; orderId: string }> {
  const body = makeNewInstance({ orderId: uniqueId("PPU") });
  body.orderLineId = `${body.orderId}-000001`;
  fake.orders.set(body.orderId, { chargingMode: "ON_DEMAND", productId: "prod-hourly", ...line });
  const answer = await callV2(body);
  if (answer.json.resultCode !== "000000") throw new Error(`create failed: ${answer.text}`);
  return { instanceId: String(answer.json.instanceId), orderId: body.orderId };
}

/** An instance whose order has not arrived (order first: answered 000004, retried in the background): mode unknown. */
export async function createUnknownModeInstance(): Promise<string> {
  const answer = await callV2(makeNewInstance());
  if (answer.json.resultCode !== "000004") throw new Error(`expected a purchase waiting for its order: ${answer.text}`);
  return String(answer.json.instanceId);
}

export function callLifecycle(body: Record<string, unknown>) {
  return callV2({ businessId: crypto.randomUUID(), ...body });
}

let eventCounter = 0;
export function eventId(): string {
  eventCounter += 1;
  return uniqueId(`EV${eventCounter}-`);
}

export interface TestEvent {
  eventId?: string;
  instanceId: string;
  quantity: number | string;
  time: number | string;
}

export function ingest(events: TestEvent[], now: number) {
  return ingestUsage(env, { events: events.map((e) => ({ eventId: e.eventId ?? eventId(), ...e })) }, now);
}

export interface RecordRow {
  metering_sn: string;
  instance_id: string;
  period: string;
  period_begin: number;
  begin_time: number;
  end_time: number;
  usage_units: number;
  usage_value: string;
  event_count: number;
  late_units: number;
  correction_of: string | null;
  state: string;
  attempts: number;
  deliveries: number;
  expiry_check: string | null;
  next_attempt_at: number;
  deadline: number;
  lease_owner: string | null;
  reject_code: string | null;
  reject_message: string | null;
  last_error: string | null;
  created_at: number;
}

export async function recordsOf(instanceId: string): Promise<RecordRow[]> {
  const rows = await env.DB.prepare("SELECT * FROM usage_records WHERE instance_id = ? ORDER BY period_begin").bind(instanceId).all<RecordRow>();
  return rows.results;
}

export async function recordBySn(sn: string): Promise<RecordRow | null> {
  return env.DB.prepare("SELECT * FROM usage_records WHERE metering_sn = ?").bind(sn).first<RecordRow>();
}

/** Storage is shared by the tests of a file; the jobs look at every row, so each test starts from an empty ledger. */
export async function clearLedger(): Promise<void> {
  await env.DB.batch([env.DB.prepare("DELETE FROM usage_events"), env.DB.prepare("DELETE FROM usage_records")]);
}

/**
 * Records written straight into the ledger, for push tests that need more records than it is sensible to create
 * instances for (batching): the push job reads only usage_records.
 */
export async function insertSyntheticRecords(count: number, periodBegin: number, now: number): Promise<string[]> {
  const sns: string[] = [];
  const statements = [];
  for (let i = 0; i < count; i += 1) {
    const sn = `synthetic-${periodBegin}-${String(i).padStart(6, "0")}`;
    sns.push(sn);
    statements.push(
      env.DB.prepare(
        `INSERT INTO usage_records (metering_sn, instance_id, product_id, period, period_begin, begin_time, end_time, cover_from,
          cover_to, usage_units, usage_value, event_count, late_units, correction_of, state, attempts, next_attempt_at, deadline,
          warn_at, rollup_token, created_at, updated_at)
         VALUES (?, ?, NULL, 'hourly', ?, ?, ?, 0, ?, 10000, '1', 1, 0, NULL, 'pending', 0, ?, ?, ?, 'test', ?, ?)`,
      ).bind(sn, `inst-${i}`, periodBegin, periodBegin, periodBegin + HOUR_MS, periodBegin + HOUR_MS, now, periodBegin + 3 * HOUR_MS, periodBegin + HOUR_MS + 90 * 60_000, now, now),
    );
  }
  for (let i = 0; i < statements.length; i += 200) await env.DB.batch(statements.slice(i, i + 200));
  return sns;
}

export const MINUTE = 60_000;

// ---- per-test hooks and a fresh day with its clock set ------------------------------------------------------------

/**
 * Registers the hooks of a billing test file: before each test a new FakeMarketplace installed as fetch and an empty
 * ledger; after it real timers and no mocks. Returns the running test's fake (a new one for every test).
 */
export function useFakeMarketplace(): () => FakeMarketplace {
  let fake: FakeMarketplace | undefined;
  beforeEach(async () => {
    fake = new FakeMarketplace().install();
    await clearLedger();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
  return () => {
    if (!fake) throw new Error("useFakeMarketplace: no test is running");
    return fake;
  };
}

/** A day of the test's own (testDay) with the clock set to its 00:00; `h10` is its 10:00. */
export function startDay(): { day: number; h10: number } {
  const day = testDay();
  setClock(day);
  return { day, h10: day + 10 * HOUR_MS };
}

/** startDay, then one pay-per-use instance created at its 00:00. */
export async function startDayWithInstance(fake: FakeMarketplace): Promise<{ day: number; h10: number; instanceId: string }> {
  const { day, h10 } = startDay();
  const { instanceId } = await createPayPerUseInstance(fake);
  return { day, h10, instanceId };
}

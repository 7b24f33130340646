import { vi } from "vitest";
import { MOCK_ORDER_ID } from "../../../src/operations/self-check/checks/marketplace-credentials.check";
import { QUERY_ORDER_PATH } from "../../../src/marketplace-api/order.api";
import { USAGE_PUSH_PATHS } from "../../../src/marketplace-api/usage.api";
import { ALERT_WEBHOOK_URL_UNDER_TEST } from "./day-settings";
import { formatCompactUtc } from "../../../src/protocol/time-formats";
import { queryOrderInfo } from "../../support/orders";
import { seededRandom } from "../../../tools/seeded-random";

/*
 * Every outbound call of the gateway answered by one fetch mock, with a seeded fraction of the calls to each target
 * failing (HTTP 500), dropped (a network error) or hanging (the caller's timeout fires: thrown as the TimeoutError
 * AbortSignal.timeout throws, without the real wait). What each fake received is kept for the checks afterwards.
 *
 * A hang of the seller's webhook is the one fault that happens AFTER the target acted: the seller stored the event
 * and its answer was lost, so the gateway's retry reaches it again under the same webhook-id. A hang of the other
 * targets happens before they act: the Marketplace cannot take a usage record twice under one metering_sn (the
 * gateway resends an sn whose answer it lost, and the Marketplace answers 005, duplicate, for one it took).
 */

export type Target = "queryOrder" | "usagePush" | "licenseUpload" | "sellerWebhook" | "alertWebhook";
export type Fault = "error" | "drop" | "hang";

const UPLOAD_PATH = /^\/api\/mkp-openapi-public\/global\/v1\/market-event\/([^/]+)\/file$/;
export const SELLER_WEBHOOK_URL = "http://127.0.0.1:9/__seller/webhook";
export const ALERT_WEBHOOK_URL = ALERT_WEBHOOK_URL_UNDER_TEST;


export interface OrderPlan {
  chargingMode: "ON_DEMAND" | "PERIOD";
  expireAt?: number;
}

export interface SellerDelivery {
  webhookId: string;
  body: string;
  /** The seller stored it (2xx given, even when the answer was then lost on the way back). */
  stored: boolean;
  /** Its 2xx reached the gateway. */
  answered: boolean;
}

export interface AlertReceived {
  type: string;
  problemId: number;
}

export class FaultyWorld {
  /** Fraction of calls per target that fail; 0 everywhere once the faults are switched off. */
  rates: Record<Target, number> = { queryOrder: 0, usagePush: 0, licenseUpload: 0, sellerWebhook: 0, alertWebhook: 0 };
  readonly calls: Record<Target, number> = { queryOrder: 0, usagePush: 0, licenseUpload: 0, sellerWebhook: 0, alertWebhook: 0 };
  readonly faults: Record<Target, number> = { queryOrder: 0, usagePush: 0, licenseUpload: 0, sellerWebhook: 0, alertWebhook: 0 };
  readonly orders = new Map<string, OrderPlan>();
  /** metering_sn → usage_value, for every record the Marketplace took (accepted or rejected). */
  readonly received = new Map<string, string>();
  /** metering_sns sent again after the Marketplace took or refused them (the gateway lost the answer). */
  readonly resent: string[] = [];
  /** ...with another usage_value than the first time: must stay empty. */
  readonly changedOnResend: string[] = [];
  readonly rejectedSns = new Set<string>();
  readonly deliveries: SellerDelivery[] = [];
  readonly alerts: AlertReceived[] = [];
  readonly unexpected: string[] = [];
  /** License uploads the Marketplace took, per event id. */
  readonly uploads = new Map<string, number>();

  constructor(
    private readonly random: () => number,
    /** Fraction of pushed records the Marketplace refuses (a final outcome: usage.rejected). */
    private readonly rejectRate: number,
  ) {}

  install(): this {
    vi.spyOn(globalThis, "fetch").mockImplementation((input: RequestInfo | URL, init?: RequestInit) => this.answer(new Request(input, init)));
    return this;
  }

  private fault(target: Target): Fault | null {
    this.calls[target] += 1;
    // The first call to a faulty target always fails, so even a short run sees every target fail.
    const first = this.rates[target] > 0 && this.faults[target] === 0;
    if (!first && this.random() >= this.rates[target]) return null;
    this.faults[target] += 1;
    const draw = this.random();
    return draw < 0.4 ? "error" : draw < 0.7 ? "drop" : "hang";
  }

  private static failWith(fault: Fault): Response {
    if (fault === "error") return Response.json({ error_code: "MKT.0999", error_msg: "injected" }, { status: 500 });
    if (fault === "drop") throw new TypeError("Network connection lost (injected)");
    throw new DOMException("The operation was aborted due to timeout (injected)", "TimeoutError");
  }

  // Responses are built here, inside the call: one made elsewhere cannot be read inside scheduled() or an actor.
  private async answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.url === SELLER_WEBHOOK_URL) return this.sellerWebhook(request);
    if (request.url === ALERT_WEBHOOK_URL) return this.alertWebhook(request);
    if (url.pathname === QUERY_ORDER_PATH) return this.queryOrder(url);
    if (url.pathname === USAGE_PUSH_PATHS.new) return this.usagePush(request);
    const upload = UPLOAD_PATH.exec(url.pathname);
    if (upload) {
      const fault = this.fault("licenseUpload");
      if (fault) return FaultyWorld.failWith(fault);
      const eventId = decodeURIComponent(upload[1] ?? "");
      this.uploads.set(eventId, (this.uploads.get(eventId) ?? 0) + 1);
      return Response.json({ error_code: "CBC.0000", error_msg: "success" });
    }
    this.unexpected.push(`${request.method} ${url.origin}${url.pathname}`);
    return Response.json({ error_code: "MKT.0999", error_msg: `unexpected ${url.pathname}` }, { status: 404 });
  }

  private queryOrder(url: URL): Response {
    const fault = this.fault("queryOrder");
    if (fault) return FaultyWorld.failWith(fault);
    const orderId = url.searchParams.get("orderId") ?? "";
    // A renewal order (<orderId>R<n>) is the same product as the purchase it renews.
    // The self-check asks for the Marketplace's documented mock order, which always answers.
    const plan = orderId === MOCK_ORDER_ID ? { chargingMode: "PERIOD" as const } : (this.orders.get(orderId) ?? this.orders.get(orderId.replace(/R\d+$/, "")));
    if (!plan) return Response.json({ resultCode: "CBC.0100", resultMsg: "no such order" }, { status: 400 });
    const line =
      plan.chargingMode === "ON_DEMAND"
        ? { chargingMode: "ON_DEMAND", productId: "prod-hourly" }
        : { chargingMode: "PERIOD", periodType: "month", expireTime: formatCompactUtc(plan.expireAt ?? Date.now() + 30 * 86_400_000) };
    return Response.json({ resultCode: "MKT.0000", resultMsg: "success", orderInfo: queryOrderInfo(orderId, [line]) });
  }

  private async usagePush(request: Request): Promise<Response> {
    const fault = this.fault("usagePush");
    if (fault) return FaultyWorld.failWith(fault);
    const { usage_records: records } = (await request.json()) as { usage_records: Array<{ metering_sn: string; usage_value: string }> };
    const rejected: Array<{ metering_sn: string; error_code: string; error_msg: string }> = [];
    for (const record of records) {
      // The Marketplace takes a metering_sn once: a resend is answered as before (refused again, or 005 duplicate).
      if (this.rejectedSns.has(record.metering_sn)) {
        this.resent.push(record.metering_sn);
        rejected.push({ metering_sn: record.metering_sn, error_code: "12", error_msg: "not pay-per-use (injected)" });
        continue;
      }
      if (this.received.has(record.metering_sn)) {
        this.resent.push(record.metering_sn);
        if (this.received.get(record.metering_sn) !== record.usage_value) this.changedOnResend.push(record.metering_sn);
        rejected.push({ metering_sn: record.metering_sn, error_code: "005", error_msg: "duplicate metering_sn" });
        continue;
      }
      this.received.set(record.metering_sn, record.usage_value);
      if (this.rejectedSns.size === 0 || this.random() < this.rejectRate) {
        this.rejectedSns.add(record.metering_sn);
        rejected.push({ metering_sn: record.metering_sn, error_code: "12", error_msg: "not pay-per-use (injected)" });
      }
    }
    if (rejected.length === 0) return Response.json({ error_code: "MKT.0000", error_msg: "success" });
    return Response.json({ error_code: "94060999", error_msg: "Failed", abnormal_usage_data: rejected });
  }

  private async sellerWebhook(request: Request): Promise<Response> {
    const fault = this.fault("sellerWebhook");
    const webhookId = request.headers.get("webhook-id") ?? "";
    const body = await request.text();
    if (fault === "error" || fault === "drop") {
      this.deliveries.push({ webhookId, body, stored: false, answered: false });
      return FaultyWorld.failWith(fault);
    }
    this.deliveries.push({ webhookId, body, stored: true, answered: fault === null });
    if (fault === "hang") return FaultyWorld.failWith(fault);
    return new Response(null, { status: 204 });
  }

  private async alertWebhook(request: Request): Promise<Response> {
    const fault = this.fault("alertWebhook");
    if (fault) return FaultyWorld.failWith(fault);
    const body = (await request.json()) as { type: string; problem: { id: number } };
    this.alerts.push({ type: body.type, problemId: body.problem.id });
    return Response.json({ ok: true });
  }
}

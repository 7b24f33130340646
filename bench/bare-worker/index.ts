import { DurableObject } from "cloudflare:workers";

const BODY = JSON.stringify({ resultCode: "000000", resultMsg: "success" });

interface FloorEnv {
  FLOORS: DurableObjectNamespace<FloorActor>;
  DB: D1Database;
  /** The local fake Marketplace (`--var MARKETPLACE_API_BASE:…`), for `?call`. */
  MARKETPLACE_API_BASE?: string;
}

/** The path of query order on the fake Marketplace (src/marketplace-api/order.api.ts). */
const QUERY_ORDER_PATH = "/api/mkp-openapi-public/global/v1/order/query";

/**
 * The floors of the design (issue 13), measured beside the gateway: what any gateway with one Durable Object per
 * instance and a durable D1 write must pay, whatever its code does.
 *   /              bare: read the body, answer a constant JSON.
 *   /floor-create  bare + one call to a new Durable Object that writes one row in its own storage + one D1 batch of
 *                  two inserts.
 *   /floor-repeat  bare + one call to the same Durable Object.
 * Each also with one JSON log line per request (`?log`), as the design asks of the gateway: under `wrangler dev` a
 * console line is relayed through the inspector to wrangler's own process, and costs more CPU than a floor-repeat.
 * `?call` (floor-create) first makes the one outbound call that order-first provisioning makes: a GET of query order
 * to the fake Marketplace, its JSON answer read and parsed (unsigned: the fake refuses it at once, so the floor pays
 * the round trip, not the gateway's AK/SK signing nor the fake's check of it).
 */
export class FloorActor extends DurableObject<FloorEnv> {
  async create(id: string, at: number): Promise<string> {
    this.ctx.storage.kv.put("row", { id, at });
    await this.env.DB.batch([
      this.env.DB.prepare("INSERT INTO floor_a (id, at) VALUES (?, ?)").bind(id, at),
      this.env.DB.prepare("INSERT INTO floor_b (id, at) VALUES (?, ?)").bind(id, at),
    ]);
    return BODY;
  }

  async repeat(): Promise<string> {
    return BODY;
  }
}

function answer(text: string): Response {
  return new Response(text, { headers: { "Content-Type": "application/json" } });
}

/** The shape of the gateway's request line (src/observability/request-log.ts), built the same way. */
function logLine(path: string, started: number): void {
  console.log(JSON.stringify({ level: "info", event: "request", requestId: crypto.randomUUID(), method: "POST", route: path, status: 200, ms: Date.now() - started }));
}

export default {
  fetch: async (request: Request, env: FloorEnv) => {
    const started = Date.now();
    await request.arrayBuffer();
    const url = new URL(request.url);
    const response = await floor(url.pathname, env, url.searchParams.has("call"));
    if (url.searchParams.has("log")) logLine(url.pathname, started);
    return response;
  },
} satisfies ExportedHandler<FloorEnv>;

async function floor(path: string, env: FloorEnv, call: boolean): Promise<Response> {
  if (path === "/floor-create") {
    const id = crypto.randomUUID();
    if (call) await queryOrder(env, id);
    return answer(await env.FLOORS.get(env.FLOORS.idFromName(id)).create(id, Date.now()));
  }
  if (path === "/floor-repeat") return answer(await env.FLOORS.get(env.FLOORS.idFromName("the-same-one")).repeat());
  return answer(BODY);
}

/** The GET order-first provisioning makes before it creates anything; its answer is read as the client reads it. */
async function queryOrder(env: FloorEnv, orderId: string): Promise<unknown> {
  if (!env.MARKETPLACE_API_BASE) throw new Error("?call needs --var MARKETPLACE_API_BASE:<the fake Marketplace>");
  const url = new URL(env.MARKETPLACE_API_BASE + QUERY_ORDER_PATH);
  url.searchParams.append("orderId", orderId);
  const response = await fetch(url, { signal: AbortSignal.timeout(8_000) });
  return JSON.parse(await response.text());
}

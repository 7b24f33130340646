import { DurableObject } from "cloudflare:workers";

const BODY = JSON.stringify({ resultCode: "000000", resultMsg: "success" });

interface FloorEnv {
  FLOORS: DurableObjectNamespace<FloorActor>;
  DB: D1Database;
}

/**
 * The floors of the design (issue 13), measured beside the gateway: what any gateway with one Durable Object per
 * instance and a durable D1 write must pay, whatever its code does.
 *   /              bare: read the body, answer a constant JSON.
 *   /floor-create  bare + one call to a new Durable Object that writes one row in its own storage + one D1 batch of
 *                  two inserts.
 *   /floor-repeat  bare + one call to the same Durable Object.
 * Each also with one JSON log line per request (`?log`), as the design asks of the gateway: under `wrangler dev` a
 * console line is relayed through the inspector to wrangler's own process, and costs more CPU than a floor-repeat.
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
    const response = await floor(url.pathname, env);
    if (url.searchParams.has("log")) logLine(url.pathname, started);
    return response;
  },
} satisfies ExportedHandler<FloorEnv>;

async function floor(path: string, env: FloorEnv): Promise<Response> {
  if (path === "/floor-create") {
    const id = crypto.randomUUID();
    return answer(await env.FLOORS.get(env.FLOORS.idFromName(id)).create(id, Date.now()));
  }
  if (path === "/floor-repeat") return answer(await env.FLOORS.get(env.FLOORS.idFromName("the-same-one")).repeat());
  return answer(BODY);
}

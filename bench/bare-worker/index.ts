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

export default {
  fetch: async (request: Request, env: FloorEnv) => {
    await request.arrayBuffer();
    const path = new URL(request.url).pathname;
    if (path === "/floor-create") {
      const id = crypto.randomUUID();
      return answer(await env.FLOORS.get(env.FLOORS.idFromName(id)).create(id, Date.now()));
    }
    if (path === "/floor-repeat") return answer(await env.FLOORS.get(env.FLOORS.idFromName("the-same-one")).repeat());
    return answer(BODY);
  },
} satisfies ExportedHandler<FloorEnv>;

import { env, exports } from "cloudflare:workers";

/* Calls to the operator's admin API as the admin page makes them, and a digest of what tables hold. */

export interface AdminCall {
  method?: "GET" | "POST";
  /** null: no Authorization header; a string: that whole header value. Default: Bearer ADMIN_TOKEN. */
  authorization?: string | null;
  /** A JSON body (sent as application/json), or raw text with its own content type. */
  body?: unknown;
  contentType?: string;
}

export interface AdminAnswer {
  status: number;
  text: string;
  json: Record<string, unknown>;
  headers: Headers;
}

export async function adminCall(path: string, call: AdminCall = {}): Promise<AdminAnswer> {
  const headers: Record<string, string> = {};
  const authorization = call.authorization === undefined ? `Bearer ${env.ADMIN_TOKEN}` : call.authorization;
  if (authorization !== null) headers.Authorization = authorization;
  if (call.body !== undefined) headers["Content-Type"] = call.contentType ?? "application/json";
  const body = call.body === undefined ? undefined : typeof call.body === "string" ? call.body : JSON.stringify(call.body);
  const response = await exports.default.fetch(new Request(`https://gateway.test${path}`, { method: call.method ?? "GET", headers, body }));
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text) as Record<string, unknown>, headers: response.headers };
}

export const adminGet = (path: string) => adminCall(path);
export const adminPost = (path: string) => adminCall(path, { method: "POST" });

/** SHA-256 over every row of the tables, in a fixed order: equal digests mean nothing in them changed. */
export async function tableDigest(tables: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const table of tables) {
    const rows = await env.DB.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all();
    parts.push(`${table}:${JSON.stringify(rows.results)}`);
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\n")));
  return Buffer.from(digest).toString("hex");
}

export async function adminActionsOf(target: string): Promise<Array<{ actor: string; action: string; target: string; at: number; detail: string }>> {
  const rows = await env.DB.prepare("SELECT actor, action, target, at, detail FROM admin_actions WHERE target = ? ORDER BY id").bind(target).all<{
    actor: string;
    action: string;
    target: string;
    at: number;
    detail: string;
  }>();
  return rows.results;
}

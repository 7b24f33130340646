/**
 * A local fake of a tenant's OAuth2 identity provider, the joint-operation auth centre at a tenant's `domainName`
 * (authorize, token, userinfo, logout; see docs/seller-contract.md "Single sign-on"). The gateway's single sign-on
 * sends the browser here and calls its token and userinfo endpoints.
 *
 * Several tenants on one port: a tenant synced with `domainName = http://127.0.0.1:8792/t/<tenantId>` gets this IdP
 * under that prefix, and its userinfo says `tenant: <tenantId>`. Without the prefix the tenant is `--tenant`.
 *
 * One file, importing nothing from src/, for the same reason as tools/fake-marketplace: it runs on Node 22's type
 * stripping (`node --experimental-strip-types`). Its handler uses web-standard Request/Response only, so the Workers
 * tests use the very same fake (createFakeIdp) without a server.
 */

export interface FakeIdpUser {
  userName: string;
  name: string;
  organizationCode: string;
  role: "user" | "admin";
  email?: string;
}

export interface FakeIdpOptions {
  /** client_id → client_secret the IdP accepts. */
  clients: Record<string, string>;
  users: FakeIdpUser[];
  /** The tenant of requests without a /t/<tenantId> prefix. */
  defaultTenant?: string;
  /** Overrides `tenant` in userinfo (to play an IdP that signs in someone of another enterprise). */
  tenantOverride?: string;
}

/** What the IdP saw, for tests: never the secret itself, only whether it matched. */
export interface FakeIdpCall {
  endpoint: "authorize" | "login" | "token" | "userinfo" | "logout";
  tenant: string;
  clientId?: string;
  secretMatched?: boolean;
  redirectUri?: string;
  scope?: string;
}

export interface FakeIdp {
  handle(request: Request): Promise<Response>;
  calls: FakeIdpCall[];
  /** Makes the next token call fail with this HTTP status. */
  failNextToken(status: number): void;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  tenant: string;
  userName: string;
  used: boolean;
}

const random = (): string => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const json = (body: unknown, status = 200): Response => Response.json(body, { status, headers: { "Cache-Control": "no-store" } });

export function createFakeIdp(options: FakeIdpOptions): FakeIdp {
  const codes = new Map<string, IssuedCode>();
  const tokens = new Map<string, { tenant: string; userName: string }>();
  const calls: FakeIdpCall[] = [];
  let tokenFailure: number | undefined;

  function route(url: URL): { tenant: string; path: string } {
    const match = /^\/t\/([^/]+)(\/.*)$/.exec(url.pathname);
    return match?.[1] && match[2] ? { tenant: decodeURIComponent(match[1]), path: match[2] } : { tenant: options.defaultTenant ?? "fake-tenant", path: url.pathname };
  }

  function loginPage(url: URL, tenant: string): Response {
    const hidden = [...url.searchParams].map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`).join("");
    const buttons = options.users
      .map((user) => `<button name="userName" value="${escape(user.userName)}">${escape(user.name)} (${escape(user.userName)}, ${user.role})</button>`)
      .join("<br>");
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fake IdP of ${escape(tenant)}</title></head><body><h1>Fake enterprise sign-in: ${escape(tenant)}</h1><p>Sign in as:</p><form method="post" action="${escape(url.pathname)}">${hidden}${buttons}</form></body></html>`;
    return new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } });
  }

  async function authorize(request: Request, url: URL, tenant: string): Promise<Response> {
    const params = request.method === "POST" ? new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer())) : url.searchParams;
    const clientId = params.get("client_id") ?? "";
    const redirectUri = params.get("redirect_uri") ?? "";
    calls.push({ endpoint: request.method === "POST" ? "login" : "authorize", tenant, clientId, redirectUri, scope: params.get("scope") ?? "" });
    if (params.get("response_type") !== "code" || !(clientId in options.clients) || !/^https?:\/\//.test(redirectUri)) {
      return new Response("fake IdP: bad authorize request (unknown client_id, or response_type is not code)", { status: 400 });
    }
    if (request.method !== "POST") return loginPage(url, tenant);
    const back = new URL(redirectUri);
    const state = params.get("state");
    const user = options.users.find((candidate) => candidate.userName === params.get("userName"));
    if (!user) {
      back.searchParams.set("error", "access_denied");
    } else {
      const code = random();
      codes.set(code, { clientId, redirectUri, tenant, userName: user.userName, used: false });
      back.searchParams.set("code", code);
    }
    if (state !== null) back.searchParams.set("state", state);
    return new Response(null, { status: 302, headers: { Location: back.href } });
  }

  async function token(request: Request, tenant: string): Promise<Response> {
    const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
    const clientId = form.get("client_id") ?? "";
    const secretMatched = clientId in options.clients && options.clients[clientId] === form.get("client_secret");
    calls.push({ endpoint: "token", tenant, clientId, secretMatched, redirectUri: form.get("redirect_uri") ?? "" });
    if (tokenFailure !== undefined) {
      const status = tokenFailure;
      tokenFailure = undefined;
      return json({ error: "server_error" }, status);
    }
    if (!secretMatched) return json({ error: "invalid_client", error_description: "client authentication failed" }, 401);
    const issued = codes.get(form.get("code") ?? "");
    if (form.get("grant_type") !== "authorization_code" || !issued || issued.used || issued.clientId !== clientId || issued.redirectUri !== form.get("redirect_uri") || issued.tenant !== tenant) {
      return json({ error: "invalid_grant", error_description: "code is unknown, used, or not for this client" }, 400);
    }
    issued.used = true;
    const accessToken = random();
    tokens.set(accessToken, { tenant, userName: issued.userName });
    return json({ access_token: accessToken, token_type: "Bearer", expires_in: 7200, scope: "get_user_info", refresh_token: random() });
  }

  function userinfo(request: Request, tenant: string): Response {
    calls.push({ endpoint: "userinfo", tenant });
    const bearer = /^Bearer (\S+)$/.exec(request.headers.get("authorization") ?? "")?.[1];
    const session = bearer === undefined ? undefined : tokens.get(bearer);
    const user = session && options.users.find((candidate) => candidate.userName === session.userName);
    if (!session || !user || session.tenant !== tenant) return json({ error: "invalid_token", error_description: "unknown access token" }, 401);
    return json({ ...user, tenant: options.tenantOverride ?? tenant, mobile: "13800000000", organizationName: `Dept ${user.organizationCode}` });
  }

  function logout(url: URL, tenant: string): Response {
    calls.push({ endpoint: "logout", tenant, redirectUri: url.searchParams.get("redirect_url") ?? "" });
    const to = url.searchParams.get("redirect_url");
    return to ? new Response(null, { status: 302, headers: { Location: to } }) : new Response("fake IdP: signed out\n");
  }

  return {
    calls,
    failNextToken(status) {
      tokenFailure = status;
    },
    async handle(request) {
      const url = new URL(request.url);
      const { tenant, path } = route(url);
      if (path === "/api/v1/oauth2/authorize" && (request.method === "GET" || request.method === "POST")) return authorize(request, url, tenant);
      if (path === "/api/v1/oauth2/token" && request.method === "POST") return token(request, tenant);
      if (path === "/api/v1/oauth2/userinfo" && request.method === "GET") return userinfo(request, tenant);
      if (path === "/api/v1/logout" && request.method === "GET") return logout(url, tenant);
      return json({ error: "not_found" }, 404);
    },
  };
}

/** Default users of `npm run fake:idp`: one admin, one user. */
export const DEFAULT_USERS: FakeIdpUser[] = [
  { userName: "alice", name: "Alice Admin", organizationCode: "ORG-1", role: "admin", email: "alice@example.com" },
  { userName: "bob", name: "Bob User", organizationCode: "ORG-2", role: "user" },
];

/** The client the SSO simulator suite syncs (tools/conformance/suites/sso.ts); override with --client id:secret. */
export const DEFAULT_CLIENT = { id: "fake-idp-client", secret: "fake-idp-client-secret" };

export async function startFakeIdp(port: number, options: FakeIdpOptions): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer } = await import("node:http");
  const idp = createFakeIdp(options);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(name, value);
      const body = chunks.length > 0 && req.method !== "GET" ? Buffer.concat(chunks) : undefined;
      const request = new Request(`http://127.0.0.1:${port}${req.url ?? "/"}`, { method: req.method, headers, body });
      void idp.handle(request).then(async (response) => {
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(Buffer.from(await response.arrayBuffer()));
        const last = idp.calls.at(-1);
        if (last) console.log(`[fake-idp] ${last.endpoint} tenant=${last.tenant}${last.clientId ? ` client=${last.clientId}` : ""}${last.secretMatched === undefined ? "" : ` secret ${last.secretMatched ? "ok" : "WRONG"}`} → ${response.status}`);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  const actualPort = typeof address === "object" && address !== null ? address.port : port;
  return { url: `http://127.0.0.1:${actualPort}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function argument(name: string): string | undefined {
  const args = process.argv.slice(2);
  const index = args.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
  if (index < 0) return undefined;
  const arg = args[index] ?? "";
  return arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : args[index + 1];
}

if (typeof process !== "undefined" && /fake-idp\.ts$/.test(process.argv?.[1] ?? "")) {
  const port = Number(argument("--port") ?? process.env.FAKE_IDP_PORT ?? "8792");
  const client = (argument("--client") ?? `${DEFAULT_CLIENT.id}:${DEFAULT_CLIENT.secret}`).split(":");
  const defaultTenant = argument("--tenant") ?? "fake-tenant";
  const { url } = await startFakeIdp(port, { clients: { [client[0] ?? DEFAULT_CLIENT.id]: client.slice(1).join(":") || DEFAULT_CLIENT.secret }, users: DEFAULT_USERS, defaultTenant });
  console.log(`[fake-idp] listening at ${url}; sync a tenant with domainName ${url}/t/<tenantId> (users: ${DEFAULT_USERS.map((u) => u.userName).join(", ")})`);
}

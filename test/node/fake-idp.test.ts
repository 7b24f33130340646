import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakeIdp } from "../../tools/fake-idp/fake-idp";

/* The fake tenant IdP as `npm run fake:idp` serves it over HTTP: authorize, login, token, userinfo, logout (spec §6.6). */

let idp: { url: string; close(): Promise<void> };
beforeEach(async () => {
  idp = await startFakeIdp(0, {
    clients: { c1: "s1" },
    users: [{ userName: "alice", name: "Alice", organizationCode: "ORG-1", role: "admin", email: "a@example.com" }],
  });
});
afterEach(() => idp.close());

describe("fake tenant IdP over HTTP", () => {
  it("signs alice in for a tenant prefix and refuses a wrong secret and a reused code", async () => {
    const base = `${idp.url}/t/T1`;
    const query = new URLSearchParams({ response_type: "code", client_id: "c1", redirect_uri: "http://127.0.0.1:1/cb", scope: "get_user_info", state: "xyz" });
    const page = await fetch(`${base}/api/v1/oauth2/authorize?${query}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Alice");
    const login = await fetch(`${base}/api/v1/oauth2/authorize`, { method: "POST", body: new URLSearchParams({ ...Object.fromEntries(query), userName: "alice" }), redirect: "manual" });
    const back = new URL(login.headers.get("location") ?? "");
    expect(back.searchParams.get("state")).toBe("xyz");
    const code = back.searchParams.get("code") ?? "";
    const token = (secret: string) =>
      fetch(`${base}/api/v1/oauth2/token`, { method: "POST", body: new URLSearchParams({ grant_type: "authorization_code", code, client_id: "c1", client_secret: secret, redirect_uri: "http://127.0.0.1:1/cb" }) });
    expect((await token("wrong")).status).toBe(401);
    const answer = await token("s1");
    expect(answer.status).toBe(200);
    const { access_token } = (await answer.json()) as { access_token: string };
    expect((await token("s1")).status).toBe(400);
    const user = await fetch(`${base}/api/v1/oauth2/userinfo`, { headers: { Authorization: `Bearer ${access_token}` } });
    expect(await user.json()).toMatchObject({ userName: "alice", tenant: "T1", role: "admin", organizationCode: "ORG-1" });
    const out = await fetch(`${base}/api/v1/logout?redirect_url=${encodeURIComponent("http://127.0.0.1:1/bye")}`, { redirect: "manual" });
    expect(out.headers.get("location")).toBe("http://127.0.0.1:1/bye");
  });
});

import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("answers /healthz with ok when the settings parse", async () => {
  const response = await exports.default.fetch("http://gateway.test/healthz");
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ status: "ok", settings: "ok" });
});

it("answers 404 for unknown routes", async () => {
  const response = await exports.default.fetch("http://gateway.test/nope");
  expect(response.status).toBe(404);
});

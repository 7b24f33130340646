import { describe, expect, it } from "vitest";
import { sellerApiRoutes } from "../../src/seller-api/seller-api";
import { UsageEvent } from "../../src/seller-api/usage.schema";
import { SELLER_API_OPERATIONS, sellerCall } from "../support/seller-api";

type Json = Record<string, unknown>;

/** Every "$ref" anywhere in the document. */
function refsOf(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsOf(item, found);
  else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (key === "$ref" && typeof item === "string") found.push(item);
      else refsOf(item, found);
    }
  }
  return found;
}

const document = (await sellerCall("/api/v1/openapi.json")).json as Json & { paths: Record<string, Record<string, Json>>; components: { schemas: Json } };

describe("GET /api/v1/openapi.json", () => {
  it("is OpenAPI 3.1 listing every /api/v1 route of the contract, each with its operation", () => {
    expect(document.openapi).toBe("3.1.0");
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual([...SELLER_API_OPERATIONS].sort());
    expect(operations).toHaveLength(sellerApiRoutes.length);
  });

  it("resolves every $ref to a component, and declares every path parameter", () => {
    for (const ref of refsOf(document)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(document.components.schemas, ref).toHaveProperty([ref.replace("#/components/schemas/", "")]);
    }
    for (const [path, methods] of Object.entries(document.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      for (const operation of Object.values(methods)) {
        const declared = ((operation.parameters ?? []) as Array<{ name: string; in: string; required: boolean }>).filter((p) => p.in === "path");
        expect(declared.map((p) => p.name)).toEqual(names);
        expect(declared.every((p) => p.required)).toBe(true);
        expect(Object.keys(operation.responses as Json)).toEqual(expect.arrayContaining(["200", "401", "503"]));
      }
    }
  });

  it("documents the bodies and answers from the validating schemas: usage, provisioned, the entitlement, the feed", () => {
    const schemas = document.components.schemas as Record<string, Json & { properties?: Json; required?: string[] }>;
    const usageBody = document.paths["/api/v1/usage"]?.post?.requestBody as Json;
    expect(JSON.stringify(usageBody)).toContain("#/components/schemas/UsageBatch");
    expect(Object.keys(schemas.UsageEvent?.properties ?? {})).toEqual(["eventId", "instanceId", "quantity", "time"]);
    expect(schemas.ProvisionedBody).toMatchObject({ required: ["frontEndUrl"], additionalProperties: false });
    expect(schemas.ProvisioningFailedBody?.properties?.resultCode).toMatchObject({ enum: ["000100", "000101", "000102", "000103", "000104", "000105", "000106", "000107"] });
    expect(Object.keys(schemas.Entitlement?.properties ?? {})).toEqual(expect.arrayContaining(["instanceId", "status", "expireAt", "appInfo", "frozenReason", "version"]));
    const list = document.paths["/api/v1/instances"]?.get?.parameters as Array<{ name: string; required: boolean }>;
    expect(list.map((p) => [p.name, p.required])).toEqual([["status", false], ["productId", false], ["test", false], ["limit", false], ["cursor", false]]);
  });

  it("the documented usage event agrees with what POST /api/v1/usage accepts, sample by sample", async () => {
    const shapeCodes = new Set(["invalid_event", "invalid_event_id", "invalid_instance_id", "invalid_quantity", "invalid_time"]);
    const base = { eventId: "e-doc-1", instanceId: "doc-no-such-instance", quantity: 1, time: Date.now() - 60_000 };
    const samples: unknown[] = [
      base,
      { ...base, quantity: "12.5" },
      { ...base, quantity: "0.0001" },
      { ...base, quantity: 0 },
      { ...base, quantity: "1.23456" },
      { ...base, quantity: "1e3" },
      { ...base, quantity: -1 },
      { ...base, time: new Date(Date.now() - 60_000).toISOString() },
      { ...base, time: "2026-11-23 10:15:00" },
      { ...base, time: 1_700_000_000 },
      { ...base, eventId: "has space" },
      { ...base, eventId: "" },
      { ...base, instanceId: "" },
      { ...base, instanceId: "x".repeat(65) },
      "not an object",
    ];
    const answer = await sellerCall("/api/v1/usage", {
      method: "POST",
      body: { events: samples.map((sample, index) => (typeof sample === "object" && sample !== null ? { ...sample, eventId: (sample as { eventId: string }).eventId === base.eventId ? `e-doc-${index}` : (sample as { eventId: string }).eventId } : sample)) },
    });
    const rejected = answer.json.rejected as Array<{ index: number; code: string }>;
    for (const [index, sample] of samples.entries()) {
      const code = rejected.find((r) => r.index === index)?.code;
      const ingestShapeOk = code === undefined || !shapeCodes.has(code);
      expect(UsageEvent.safeParse(sample).success, `sample ${index} ${JSON.stringify(sample)} ingest: ${code}`).toBe(ingestShapeOk);
    }
  });

  it("documents 429 with Retry-After on every license-code route that spends the seller's open-API quota, and only there", () => {
    const limited = ["/api/v1/license-codes/{code}/activate", "/api/v1/license-codes/{code}/heartbeat", "/api/v1/license-codes/{code}/software-usage"];
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const operation of Object.values(methods)) {
        const tooMany = (operation.responses as Record<string, Json>)["429"];
        if (!limited.includes(path)) {
          expect(tooMany, path).toBeUndefined();
          continue;
        }
        expect(tooMany, path).toMatchObject({ headers: { "Retry-After": { schema: { type: "integer", minimum: 1 } } } });
      }
    }
  });
});

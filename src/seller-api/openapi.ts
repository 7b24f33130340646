import { z } from "zod";
import type { RouteDoc } from "./route";

/*
 * OpenAPI 3.1 from the route table. 3.1's schema dialect is JSON Schema 2020-12, which is what zod 4's toJSONSchema
 * writes, so no generator library is needed: schemas with a meta id become components, the rest are inlined.
 */

type JsonSchema = Record<string, unknown>;

const COMPONENTS = "#/components/schemas/";

class Components {
  readonly schemas: Record<string, JsonSchema> = {};

  /** Request parts are documented as the caller writes them (input), responses as we write them (output). */
  of(schema: z.ZodType, io: "input" | "output"): JsonSchema {
    const generated = z.toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any", reused: "inline" });
    // Ids become $defs; OpenAPI keeps shared schemas under components instead.
    const text = JSON.stringify(generated).replaceAll('"#/$defs/', `"${COMPONENTS}`);
    const { $schema: _dialect, $defs, ...rest } = JSON.parse(text) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    for (const [id, definition] of Object.entries($defs ?? {})) this.schemas[id] = definition;
    const id = z.globalRegistry.get(schema)?.id;
    // zod may already have moved a root with an id into $defs and answered a $ref to it.
    if (typeof id === "string" && rest.$ref !== `${COMPONENTS}${id}`) {
      this.schemas[id] = rest;
      return { $ref: `${COMPONENTS}${id}` };
    }
    return rest;
  }
}

function parametersOf(components: Components, where: "path" | "query", schema: z.ZodObject | undefined): JsonSchema[] {
  if (!schema) return [];
  const object = components.of(schema, "input") as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === "path" || (object.required ?? []).includes(name),
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}

export function openApiDocument(routes: readonly RouteDoc[], serverUrl?: string): JsonSchema {
  const components = new Components();
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const responses: Record<string, JsonSchema> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.headers ? { headers: response.headers } : {}),
        ...(response.schema ? { content: { "application/json": { schema: components.of(response.schema, "output") } } } : {}),
      };
    }
    const parameters = [...parametersOf(components, "path", route.params), ...parametersOf(components, "query", route.query)];
    paths[route.path] ??= {};
    paths[route.path]![route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(route.licenseClient ? { security: [{ sellerToken: [] }, { licenseClientToken: [] }] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: true, content: { "application/json": { schema: components.of(route.body, "input") } } } } : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "KooGallery seller gateway: seller API",
      version: "1",
      description: "What your product reads and writes: entitlements, the event feed, webhook-mode provisioning results, usage. Contract: docs/seller-contract.md.",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ sellerToken: [] }],
    paths,
    components: {
      securitySchemes: {
        sellerToken: { type: "http", scheme: "bearer", description: "SELLER_API_TOKEN" },
        licenseClientToken: { type: "http", scheme: "bearer", description: "a product's license client token (POST /api/v1/license-client-tokens): license-code routes of that product only" },
      },
      schemas: components.schemas,
    },
  };
}

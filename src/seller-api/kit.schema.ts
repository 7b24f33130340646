import { z } from "zod";
import { Cursor, PageLimit } from "./common.schema";

/* Responses of the joint-operation reads (src/seller-api/kit-reads.routes.ts), which parse their own parameters. */

export const KitPageQuery = z.strictObject({ limit: PageLimit, cursor: Cursor.optional() });

const syncedAt = z.iso.datetime({ offset: false });

export const KitTenant = z
  .object({
    instanceId: z.string(),
    tenants: z.array(
      z.object({
        tenantId: z.string(),
        tenantCode: z.string().nullable().optional(),
        name: z.string().nullable().optional(),
        domainName: z.string().nullable().optional(),
        orderId: z.string().nullable().optional(),
        syncedAt: syncedAt.optional(),
        applications: z.array(
          z.object({ appId: z.string(), clientId: z.string(), clientSecret: z.string().describe("plain text, for the SSO token call"), syncedAt }),
        ),
      }),
    ),
  })
  .meta({ id: "KitTenant" });

export const KitUsers = z
  .object({
    instanceId: z.string(),
    users: z.array(
      z.looseObject({
        tenantId: z.string(),
        appId: z.string(),
        userName: z.string(),
        name: z.string(),
        orgCode: z.string(),
        role: z.enum(["user", "admin"]),
        enabled: z.boolean(),
        authorized: z.boolean().describe("false once the Marketplace revoked the user"),
        syncedAt,
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: "KitUsers" });

export const KitOrgs = z
  .object({
    instanceId: z.string(),
    orgs: z.array(z.object({ tenantId: z.string(), orgCode: z.string(), orgName: z.string(), parentCode: z.string().nullable(), syncedAt })),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: "KitOrgs" });

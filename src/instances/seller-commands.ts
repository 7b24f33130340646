import { z } from "zod";
import type { Instance } from "../db/schema/instances";
import type { Entitlement } from "./entitlement";

/**
 * What the seller's backend may tell an instance (docs/seller-contract.md "Webhook provisioning"), as the 200 answer to
 * `instance.created` or as `POST /api/v1/instances/{id}/provisioned`.
 */
export const ProvisionedBody = z.object({
  frontEndUrl: z.url({ protocol: /^https?$/ }).max(512),
  adminUrl: z.url({ protocol: /^https?$/ }).max(512).optional(),
  userName: z.string().min(1).max(128).optional(),
  password: z.string().min(1).max(128).optional(),
  memo: z.string().max(1024).optional(),
});
export type ProvisionedBody = z.infer<typeof ProvisionedBody>;

/** 000100–000107: the seller-side failure codes the Marketplace understands (spec result-code table). */
export const SellerFailureCode = z.enum(["000100", "000101", "000102", "000103", "000104", "000105", "000106", "000107"]);
export const ProvisioningFailedBody = z.object({
  resultCode: SellerFailureCode,
  message: z.string().min(1).max(255),
});
export type ProvisioningFailedBody = z.infer<typeof ProvisioningFailedBody>;

/** The actor's answer to a seller write: the HTTP status the seller API sends, with the entitlement or an error. */
export type SellerWriteResult =
  | { status: 200; entitlement: Entitlement }
  | { status: 404 | 409; error: string };

export type CredentialsResult =
  | { status: 200; userName: string; password: string }
  | { status: 404 | 409; error: string };

/** The actor's answer to the operator's retry of a failed purchase: the instance after it, or why not. */
export type AdminRetryResult =
  | { status: 200; instance: Instance }
  | { status: 404 | 409; error: string };

import { openSecret, sealSecret } from "../crypto/data-key";
import type { KitApplication } from "../db/schema/kit";
import type { KitScope } from "./kit.repo";

/**
 * Sealed client secrets are bound to their row (AES-GCM additional data), so a value copied to another tenant's or
 * app's row fails to open instead of handing one tenant another's credentials.
 */
function context(scope: KitScope, appId: string): string {
  return `kit-app:${scope.instanceId}:${scope.isTest ? 1 : 0}:${scope.tenantId}:${appId}`;
}

export function sealClientSecret(dataKey: string, scope: KitScope, appId: string, clientSecret: string): Promise<string> {
  return sealSecret(dataKey, clientSecret, context(scope, appId));
}

export function openClientSecret(dataKey: string, row: KitApplication): Promise<string> {
  return openSecret(dataKey, row.clientSecretSealed, context(row, row.appId));
}

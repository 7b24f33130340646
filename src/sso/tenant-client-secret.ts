import type { KitApplication } from "../db/schema/kit";
import { openClientSecret } from "../kit/kit-secrets";

/**
 * The one place SSO opens a tenant app's sealed client secret (applicationSync), so a change of the sealed format
 * changes one line here. The plain secret is passed to the token call and dropped.
 */
export function tenantClientSecret(dataKey: string, app: KitApplication): Promise<string> {
  return openClientSecret(dataKey, app);
}

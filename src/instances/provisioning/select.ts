import type { Settings } from "../../env";
import { ConfigurationError } from "../../errors";
import type { ProvisioningAdapter } from "./adapter";
import { builtinAdapter } from "./builtin.adapter";

export function selectProvisioningAdapter(settings: Settings): ProvisioningAdapter {
  switch (settings.provisioning.mode) {
    case "builtin":
      return builtinAdapter(settings.frontendUrlTemplate);
    case "webhook":
      // The seller-webhook adapter lands with its own issue; refusing loudly beats silently acting as builtin.
      throw new ConfigurationError("PROVISIONING_MODE", "webhook provisioning is not available in this version; use builtin");
  }
}

import type { Duty } from "../alarm-scheduler";
import { deliveryDuty } from "./delivery.duty";
import { licenseUploadDuty } from "./license-upload.duty";
import { orderFetchDuty } from "./order-fetch.duty";
import { provisioningWindowDuty } from "./provisioning-window.duty";

/**
 * The instance actor's background duties, in the order its alarm runs them: the window first, so a fetch or a
 * delivery after it finds the purchase as the Marketplace has judged it.
 */
export const INSTANCE_DUTIES: readonly Duty[] = [provisioningWindowDuty, orderFetchDuty, deliveryDuty, licenseUploadDuty];

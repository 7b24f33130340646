import { getSettings } from "../env";
import { toGatewayError } from "../errors";

/** Liveness, plus whether the settings parse (never their values). Cron run times join this with the billing issue. */
export async function health(env: Env): Promise<Response> {
  let settings: "ok" | string = "ok";
  try {
    getSettings(env);
  } catch (error) {
    settings = toGatewayError(error).detail ?? "invalid";
  }
  return Response.json({ status: settings === "ok" ? "ok" : "degraded", settings }, { status: 200 });
}

import { getDb } from "../db/client";
import { featureSettings } from "../env";
import { MalformedPeriod, parsePeriod } from "./period";
import { buildStatement } from "./statement";
import { csvResponse, statementCsv } from "./statement-csv";

/** A request the statement routes refuse; both the seller API and the admin API map it to their own error type. */
export class StatementRequestError extends Error {
  override readonly name = "StatementRequestError";
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/** The period in the statements' zone; throws StatementRequestError (400) when malformed, ConfigurationError when the settings are broken. */
export function periodOf(env: Env, period: string) {
  const settings = featureSettings(env, "statements");
  try {
    return { settings, period: parsePeriod(period, settings.timeZone) };
  } catch (error) {
    if (error instanceof MalformedPeriod) throw new StatementRequestError(400, error.message);
    throw error;
  }
}

/** The statement as JSON or CSV: the seller route and the admin route answer the same. */
export async function statementResponse(env: Env, periodText: string, format: "json" | "csv", now: number): Promise<Response> {
  const { settings, period } = periodOf(env, periodText);
  const statement = await buildStatement(getDb(env), period, settings, now);
  if (format === "csv") return csvResponse(statementCsv(statement), `statement-${period.name}.csv`);
  return Response.json(statement, { headers: { "Cache-Control": "no-store" } });
}

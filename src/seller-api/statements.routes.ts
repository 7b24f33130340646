import { ConfigurationError } from "../protocol/errors";
import { StatementRequestError, statementResponse } from "../statements/statement-request";
import { ErrorBody, commonErrors } from "./common.schema";
import { MISCONFIGURED, SellerApiError } from "./errors";
import { defineRoute } from "./route";
import { StatementBody, StatementParams, StatementQuery } from "./statements.schema";

export const getStatement = defineRoute(
  {
    method: "get",
    path: "/api/v1/statements/{period}",
    operationId: "getStatement",
    summary: "A month's or quarter's statement: order lines, usage and totals, to check against the Marketplace's bill",
    params: StatementParams,
    query: StatementQuery,
    responses: {
      200: { description: "the statement (JSON, or CSV with format=csv)", schema: StatementBody },
      400: { description: "malformed period or query", schema: ErrorBody },
      ...commonErrors,
    },
  },
  async ({ params, query, env, now }) => {
    try {
      return await statementResponse(env, params.period, query.format, now);
    } catch (error) {
      if (error instanceof StatementRequestError) throw new SellerApiError(error.status, error.message);
      // Only the statements' own settings are broken here (the token check passed): the health names which.
      if (error instanceof ConfigurationError) throw new SellerApiError(503, MISCONFIGURED);
      throw error;
    }
  },
);

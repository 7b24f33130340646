import { ResultCode } from "./result-codes";

/**
 * The one error type every layer throws. `message` goes to the Marketplace in `resultMsg`; `detail` stays in our
 * logs only (it may name internals, never secrets). `reportable` marks errors an operator should look at.
 */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
  constructor(
    readonly code: ResultCode,
    message: string,
    readonly detail?: string,
    readonly reportable = false,
  ) {
    super(message);
  }
}

export class AuthError extends GatewayError {
  constructor(message: string, detail?: string) {
    super(ResultCode.AuthFailed, message, detail);
  }
}

/** The same signed request seen again inside its lifetime, wherever its nonce is kept (D1 or an actor's storage). */
export class ReplayError extends AuthError {
  constructor() {
    super("nonce was already used (replay)");
  }
}

export class InvalidRequestError extends GatewayError {
  constructor(message: string, detail?: string) {
    super(ResultCode.InvalidParameter, message, detail);
  }
}

export class InstanceNotFoundError extends GatewayError {
  constructor(instanceId: string) {
    super(ResultCode.InstanceNotFound, `instance ${instanceId} does not exist`);
  }
}

export class ConfigurationError extends GatewayError {
  /** `setting` is a name and `problem` a rule it breaks: neither ever holds the setting's value. */
  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super(ResultCode.InternalError, "gateway is misconfigured", `setting ${setting}: ${problem}`, true);
  }
}

export class InternalError extends GatewayError {
  constructor(detail: string) {
    super(ResultCode.InternalError, "internal error", detail, true);
  }
}

/** Anything thrown becomes a GatewayError; unknown throwables are internal errors whose text stays in the logs. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new InternalError(detail);
}

import type { Settings } from "../env";
import { hmacSha256 } from "../protocol/hmac";
import { type V1EncryptType, encryptV1Field } from "../protocol/v1-field-crypto";
import type { AppInfo, Dialect, Outcome } from "../instances/commands";

/** What a dialect needs to write its answers: V1 encrypts `userName`/`password` with the basic key (spec §5.2–5.3). */
export type AnswerContext = { dialect: "v2" } | { dialect: "v1"; accessKey: string; encryptType: V1EncryptType };

export function answerContext(settings: Settings, dialect: Dialect): AnswerContext {
  switch (dialect) {
    case "v2":
      return { dialect };
    case "v1":
      return { dialect, accessKey: settings.keys.saas, encryptType: settings.v1EncryptType };
    default: {
      const unhandled: never = dialect;
      throw new Error(`unknown dialect ${String(unhandled)}`);
    }
  }
}

/** V1 answers a create with the buyer's way in; V2 leaves it to queryInstance, so its outcome need not carry it. */
export function createAnswerCarriesAppInfo(dialect: Dialect): boolean {
  return dialect === "v1";
}

/** Answer bytes for an outcome. Deterministic, so a stored answer and a recomputed one never differ. */
export function answerText(context: AnswerContext, outcome: Outcome): string {
  const head = { resultCode: outcome.resultCode, resultMsg: outcome.resultMsg };
  switch (context.dialect) {
    case "v2":
      return JSON.stringify(outcome.instanceId === undefined ? head : { ...head, instanceId: outcome.instanceId });
    case "v1":
      // §5.3: V1 newInstance answers the buyer's way in at once (the 资源详情 page re-calls it); V2 leaves it to queryInstance.
      return JSON.stringify({
        ...head,
        ...(outcome.appInfo ? { encryptType: context.encryptType } : {}),
        ...(outcome.instanceId === undefined ? {} : { instanceId: outcome.instanceId }),
        ...(outcome.appInfo ? { appInfo: v1AppInfo(context, outcome.appInfo) } : {}),
      });
    default: {
      const unhandled: never = context;
      throw new Error(`unknown dialect ${JSON.stringify(unhandled)}`);
    }
  }
}

export interface QueryInfo {
  instanceId: string;
  appInfo?: AppInfo;
}

/** queryInstance answers (§3.2; V1 §5.4 adds `encryptType` and encrypts the credentials as newInstance does). */
export function queryAnswerText(context: AnswerContext, resultCode: string, resultMsg: string, info: readonly QueryInfo[]): string {
  switch (context.dialect) {
    case "v2":
      return asciiJson({ resultCode, resultMsg, info });
    case "v1":
      return asciiJson({
        resultCode,
        resultMsg,
        encryptType: context.encryptType,
        info: info.map((entry) => (entry.appInfo ? { instanceId: entry.instanceId, appInfo: v1AppInfo(context, entry.appInfo) } : entry)),
      });
    default: {
      const unhandled: never = context;
      throw new Error(`unknown dialect ${JSON.stringify(unhandled)}`);
    }
  }
}

type V1Context = Extract<AnswerContext, { dialect: "v1" }>;

function v1AppInfo(context: V1Context, appInfo: AppInfo) {
  return {
    frontEndUrl: appInfo.frontEndUrl,
    ...(appInfo.adminUrl ? { adminUrl: appInfo.adminUrl } : {}),
    ...(appInfo.userName === undefined ? {} : { userName: encryptForAnswer(context, "userName", appInfo.userName) }),
    ...(appInfo.password === undefined ? {} : { password: encryptForAnswer(context, "password", appInfo.password) }),
    ...(appInfo.memo === undefined ? {} : { memo: appInfo.memo }),
  };
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * The IV is derived from the value (keyed HMAC) instead of drawn at random, so that the same credentials always
 * encrypt to the same bytes: a recomputed answer (after a crash, or for a V1 call that meets a V2-created instance)
 * then equals the recorded one. The cost is that equal plaintexts show as equal ciphertexts, and these are one
 * instance's own credentials, repeated on purpose.
 */
function encryptForAnswer(context: V1Context, field: string, plaintext: string): string {
  const mac = hmacSha256(context.accessKey, `koogallery-v1-answer-iv\u0000${field}\u0000${plaintext}`);
  let iv = "";
  for (let i = 0; i < 16; i++) iv += ALPHANUMERIC[(mac[i] ?? 0) % ALPHANUMERIC.length];
  return encryptV1Field(context.accessKey, plaintext, context.encryptType, iv);
}

/** JSON with every non-ASCII character as a \uXXXX escape: the spec wants Chinese in `memo` sent that way (§3.2). */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

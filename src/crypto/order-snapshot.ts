import { InternalError } from "../protocol/errors";
import { PERSONAL_FIELDS } from "../protocol/personal-fields";
import { openSecret, sealSecret } from "./data-key";

/** Where a sealed field stood: readers see that it exists, not what it holds. */
export const SEALED = "[sealed]";
/** The field of a sealed snapshot that holds the buyer fields, sealed with DATA_KEY. */
export const SEALED_FIELD = "sealedBuyerFields";

type Path = ReadonlyArray<string | number>;
type Json = null | boolean | number | string | Json[] | { [name: string]: Json };

/**
 * A query-order `orderInfo` (marketplace-open-apis §2.1) as `orders.snapshot` may keep it: the buyer's personal
 * fields (PERSONAL_FIELDS: name, real name, user, phone, e-mail, extend params), wherever they sit, are replaced by
 * "[sealed]" and kept together in `sealedBuyerFields`, AES-256-GCM under DATA_KEY. Everything else (order, lines,
 * products, periods, `buyerInfo.customerId`, `customerType`) stays readable for reconciliation and the admin page.
 * The seal is bound to the order id, so a sealed value copied into another order's row does not open.
 */
export async function sealOrderSnapshot(dataKey: string, snapshot: Record<string, unknown>): Promise<Record<string, unknown>> {
  const taken: Array<[Path, unknown]> = [];
  const readable = replacePersonal(snapshot, [], taken) as Record<string, unknown>;
  if (taken.length === 0) return readable;
  return { ...readable, [SEALED_FIELD]: await sealSecret(dataKey, JSON.stringify(taken), contextOf(snapshot)) };
}

/** The snapshot as the Marketplace sent it. Throws InternalError when the seal does not open (key, order or tampering). */
export async function openOrderSnapshot(dataKey: string, sealed: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { [SEALED_FIELD]: seal, ...readable } = sealed;
  if (seal === undefined) return readable;
  if (typeof seal !== "string") throw new InternalError(`${SEALED_FIELD} is not a sealed value`);
  const taken = JSON.parse(await openSecret(dataKey, seal, contextOf(readable))) as Array<[Path, Json]>;
  const snapshot = structuredClone(readable) as Record<string, Json>;
  for (const [path, value] of taken) put(snapshot, path, value);
  return snapshot;
}

function contextOf(snapshot: Record<string, unknown>): string {
  return `order-snapshot:${String(snapshot.orderId ?? "")}`;
}

function replacePersonal(value: unknown, path: Path, taken: Array<[Path, unknown]>): unknown {
  if (Array.isArray(value)) return value.map((inner, index) => replacePersonal(inner, [...path, index], taken));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([name, inner]) => {
      if (!PERSONAL_FIELDS.has(name)) return [name, replacePersonal(inner, [...path, name], taken)];
      taken.push([[...path, name], inner]);
      return [name, SEALED];
    }),
  );
}

function put(target: Json, path: Path, value: Json): void {
  let node: Json = target;
  for (const step of path.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(node) ? node[Number(step)] : node !== null && typeof node === "object" ? node[String(step)] : undefined;
    if (next === undefined || next === null || typeof next !== "object") throw new InternalError("sealed order snapshot does not match its readable part");
    node = next;
  }
  const last = path[path.length - 1];
  if (last === undefined || node === null || typeof node !== "object") throw new InternalError("sealed order snapshot does not match its readable part");
  if (Array.isArray(node)) node[Number(last)] = value;
  else node[String(last)] = value;
}

import { createHmac } from "node:crypto";
import { derivedKey } from "../crypto/derived-key";
import { canonicalJson } from "../protocol/canonical-json";

export const GENESIS_HASH = "0".repeat(64);

export interface AuditLink {
  instanceId: string;
  seq: number;
  at: number;
  event: string;
  fromStatus: string | null;
  toStatus: string | null;
  detail: Record<string, unknown>;
  prevHash: string;
}

/**
 * The chain's MAC key, derived from DATA_KEY under its own label, so the audit key is never the key that seals
 * secrets. Whoever edits a row and re-hashes the rest without it produces a chain that fails verification.
 */
export function auditKeyOf(dataKeyB64: string): Buffer {
  return derivedKey(dataKeyB64, "koogallery-gateway audit-chain v1");
}

export function hashAuditLink(key: Buffer, link: AuditLink): string {
  return createHmac("sha256", key).update(canonicalJson(link)).digest("hex");
}

export type ChainVerdict = { ok: true; length: number } | { ok: false; seq: number; problem: string };

/** Verifies a whole chain, ordered by seq: numbering, links and every row's own MAC. */
export function verifyAuditChain(key: Buffer, rows: ReadonlyArray<AuditLink & { hash: string }>): ChainVerdict {
  let prevHash = GENESIS_HASH;
  for (const [index, row] of rows.entries()) {
    if (row.seq !== index + 1) return { ok: false, seq: row.seq, problem: `expected seq ${index + 1}` };
    if (row.prevHash !== prevHash) return { ok: false, seq: row.seq, problem: "prev_hash does not match the previous row" };
    const { hash, ...link } = row;
    if (hashAuditLink(key, link) !== hash) return { ok: false, seq: row.seq, problem: "row content does not match its MAC" };
    prevHash = hash;
  }
  return { ok: true, length: rows.length };
}

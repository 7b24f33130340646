import { createHash } from "node:crypto";
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

export function hashAuditLink(link: AuditLink): string {
  return createHash("sha256").update(canonicalJson(link)).digest("hex");
}

export type ChainVerdict = { ok: true; length: number } | { ok: false; seq: number; problem: string };

/** Verifies a whole chain, ordered by seq: numbering, links and every row's own hash. */
export function verifyAuditChain(rows: ReadonlyArray<AuditLink & { hash: string }>): ChainVerdict {
  let prevHash = GENESIS_HASH;
  for (const [index, row] of rows.entries()) {
    if (row.seq !== index + 1) return { ok: false, seq: row.seq, problem: `expected seq ${index + 1}` };
    if (row.prevHash !== prevHash) return { ok: false, seq: row.seq, problem: "prev_hash does not match the previous row" };
    const { hash, ...link } = row;
    if (hashAuditLink(link) !== hash) return { ok: false, seq: row.seq, problem: "row content does not match its hash" };
    prevHash = hash;
  }
  return { ok: true, length: rows.length };
}

/**
 * One string naming what several ids name together: an actor's name, an inbox key, a create key (whose hash is the
 * instance id). Joining ids with ':' is ambiguous once an id holds a ':' (("A:X", "L1") and ("A", "X:L1") both give
 * "A:X:L1"), so:
 *   - ids without ':' are joined as they always were, `<label>:<id>:<id>…`, so every key already stored, and every
 *     instance id and actor derived from one, stays exactly what it was;
 *   - if any id holds a ':', the key is `<label>~` + the JSON array of the ids, which no ':'-joined key of the same
 *     label can equal (it differs right after the label) and which splits one way only.
 * `label` is a constant of the caller (it may hold ':' itself); parts that are constants (`"line"`) go in as ids.
 * docs/lifecycle-rules.md rule 17.
 */
export function compoundKey(label: string, ids: readonly string[]): string {
  return ids.some((id) => id.includes(":")) ? `${label}~${JSON.stringify(ids)}` : [label, ...ids].join(":");
}

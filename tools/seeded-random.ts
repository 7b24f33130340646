/**
 * mulberry32: a small seeded PRNG, the same sequence on every machine and runtime (Node, workerd), so a printed seed
 * replays a run: the conformance runner's case order, the reliability suite's fault plans, the billing day's usage.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

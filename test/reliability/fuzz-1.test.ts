import { fuzzSuite } from "./support/fuzz-suite";

// The fuzzed interfaces in two shares, one per file, so both cores fuzz (support/fuzz-suite.ts).
fuzzSuite(0, 2);

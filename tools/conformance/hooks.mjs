// Lets Node run the runner's TypeScript straight from the source tree (no build step): src/ writes relative imports
// without an extension (tsc's "bundler" resolution), which Node's ESM loader refuses; this hook retries such an import
// with ".ts", so the runner signs with the very modules the tests use instead of a copy of them.
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (/^(\.{1,2}\/|\/|file:)/.test(specifier) && !/\.[cm]?[jt]s$/.test(specifier)) return nextResolve(`${specifier}.ts`, context);
      throw error;
    }
  },
});

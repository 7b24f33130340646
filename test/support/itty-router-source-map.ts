import { readFile } from "node:fs/promises";
import type { Plugin } from "vite";

/**
 * itty-router ships a source map whose sources point outside its package, and Vite warns about each of them on every
 * test run (17 lines of noise about a dependency we cannot change). Loading its modules without their source map
 * comment silences that and nothing else: stack traces through the router still name its bundled file and line.
 */
export function ittyRouterWithoutSourceMap(): Plugin {
  return {
    name: "itty-router-without-source-map",
    enforce: "pre",
    async load(id) {
      if (!/[\\/]node_modules[\\/]itty-router[\\/][^?]*\.m?js$/.test(id)) return null;
      const code = await readFile(id.split("?")[0]!, "utf8");
      return { code: code.replace(/^\/\/# sourceMappingURL=.*$/m, ""), map: null };
    },
  };
}

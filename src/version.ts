// esbuild (wrangler) and Vite (tests) both inline a named JSON import, so the version is package.json's, never a copy.
export { version as GATEWAY_VERSION } from "../package.json";

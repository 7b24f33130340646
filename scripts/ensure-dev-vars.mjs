// `npm run dev` on a fresh clone: give wrangler a .dev.vars to read, made from the committed example.
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("created .dev.vars from .dev.vars.example (development values only; never deploy them)");
}

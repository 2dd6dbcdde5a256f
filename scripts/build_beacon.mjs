// Minify the first-party beacon with esbuild and print its size (budget: 6 KB gzipped).
import { buildSync } from "esbuild";
import { readFileSync, mkdirSync } from "node:fs";
import { gzipSync } from "node:zlib";

const source = "collector/static/beacon.js";
const output = "collector/static/dist/beacon.min.js";
mkdirSync("collector/static/dist", { recursive: true });
buildSync({ entryPoints: [source], outfile: output, minify: true, target: "es2017", legalComments: "none" });
const built = readFileSync(output);
const gzipped = gzipSync(built, { level: 9 }).length;
const budget = 6 * 1024;
console.log(`beacon.js: ${readFileSync(source).length} B source, ${built.length} B minified, ${gzipped} B gzipped (budget ${budget} B)`);
if (gzipped > budget) {
  console.error("beacon.js is over its size budget");
  process.exit(1);
}

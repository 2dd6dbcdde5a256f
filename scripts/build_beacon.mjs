// Minify the first-party beacon and its consent banner with esbuild, print their sizes and fail
// when a file (or both together, as data-banner loads them) is over 6 KB gzipped.
// Run from anywhere: node scripts/build_beacon.mjs   (scripts/install.sh runs it after npm ci)
import { buildSync } from "esbuild";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const budget = 6 * 1024;
const files = ["beacon", "banner"];
const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;

mkdirSync(join(root, "collector/static/dist"), { recursive: true });
const built = files.map((name) => {
  const source = join(root, `collector/static/${name}.js`);
  const output = join(root, `collector/static/dist/${name}.min.js`);
  buildSync({ entryPoints: [source], outfile: output, minify: true, target: "es2017", legalComments: "none", logLevel: "error" });
  const bytes = readFileSync(output);
  const size = { name: `${name}.js`, source: readFileSync(source).length, minified: bytes.length, gzipped: gzip(bytes) };
  console.log(`${size.name}: ${size.source} B source, ${size.minified} B minified, ${size.gzipped} B gzipped (budget ${budget} B)`);
  return { size, bytes };
});
const together = gzip(Buffer.concat(built.map((b) => b.bytes)));
console.log(`beacon.js + banner.js: ${together} B gzipped together (budget ${budget} B)`);
const over = built.filter((b) => b.size.gzipped > budget).map((b) => b.size.name);
if (together > budget) over.push("beacon.js + banner.js");
if (over.length) {
  console.error(`over the ${budget} B gzipped budget: ${over.join(", ")}`);
  process.exit(1);
}

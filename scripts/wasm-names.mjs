// Gives wasm-bindgen's glue script the short names that `wasm-opt
// --minify-imports-and-exports-and-modules` gave the widget's imports and exports.
// wasm-bindgen names each import after its function and a 16-digit hash, 45 characters on
// average, a hundred of them, written once in the wasm and once in the script: about 3 KB
// of the download that compression cannot squeeze. Any name left out would make the
// browser refuse the module, so every rename is checked, and the end-to-end tests load
// the result in Chromium.
//
//   node scripts/wasm-names.mjs MAP.json MODULE.wasm GLUE.js   (rewrites GLUE.js)
import { readFileSync, writeFileSync } from "node:fs";

const [mapPath, wasmPath, jsPath] = process.argv.slice(2);
const map = JSON.parse(readFileSync(mapPath, "utf8"));
let js = readFileSync(jsPath, "utf8");

const fail = (why) => {
  console.error(`wasm-names: ${why}`);
  process.exit(1);
};
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// Replaces the one match of `pattern` (a global one): a key of the import object.
const renameKey = (pattern, to) => {
  const found = js.match(pattern)?.length ?? 0;
  if (found !== 1) fail(`${pattern} matched ${found} times`);
  js = js.replace(pattern, to);
};

// The one module the wasm now imports from, under its new name.
const module = new WebAssembly.Module(readFileSync(wasmPath));
const modules = new Set(WebAssembly.Module.imports(module).map((i) => i.module));
const oldModules = new Set(map.imports.map(([m]) => m));
if (modules.size !== 1 || oldModules.size !== 1) {
  fail(`expected one import module, found ${[...oldModules]} renamed to ${[...modules]}`);
}
const [newModule] = modules;
const [oldModule] = oldModules;
renameKey(new RegExp(`"${escape(oldModule)}"(?=\\s*:)`, "g"), JSON.stringify(newModule));

// Imports: each is a key of the import object, once.
for (const [, from, to] of map.imports) {
  renameKey(new RegExp(`(?<![\\w$])${escape(from)}(?=\\s*:)`, "g"), to);
}

// Exports: read as `wasm.name`, wherever the script reads them (some it never does).
for (const [from, to] of map.exports) {
  js = js.replace(new RegExp(`(?<=\\bwasm\\.)${escape(from)}(?![\\w$])`, "g"), to);
}

// Nothing of the old import names is left for the browser to look up.
for (const [, from] of map.imports) {
  if (js.includes(from)) fail(`the import ${from} is still named in the script`);
}

writeFileSync(jsPath, js);

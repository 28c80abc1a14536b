// Preloaded by .ci/test-on-node into every Node process of a run on another Node version, as
// NODE_OPTIONS=--import=file:///.../better-sqlite3-addon.mjs?addon=<path>: better-sqlite3 loads its native
// addon from node_modules, built by `npm ci` for the main Node's ABI; this resolves that one file to
// <path>, the copy built for this Node, so the main tree is never rebuilt. The path travels in the URL,
// not in a variable of its own, so it reaches every process NODE_OPTIONS reaches (the process driver
// hands instances the environment minus ORDINAL_*). module.registerHooks covers require() and import.
import fs from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const addon = new URL(import.meta.url).searchParams.get('addon');
if (!addon || !fs.existsSync(addon)) {
  throw new Error(`${import.meta.url}: ?addon= does not name the better-sqlite3 addon built for this Node`);
}
// As the loader resolves it: the real path (node_modules may be a symlink).
const replaced = pathToFileURL(
  fs.realpathSync(fileURLToPath(new URL('../node_modules/better-sqlite3/build/Release/better_sqlite3.node', import.meta.url))),
).href;
const replacement = pathToFileURL(addon).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    return resolved.url === replaced ? { ...resolved, url: replacement } : resolved;
  },
});

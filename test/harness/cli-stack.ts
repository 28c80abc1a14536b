// A test Ordinal for end-to-end tests of the real CLI, with a scratch folder and the environment the
// CLI runs in: pointed at this Ordinal's API only, with none of the runner's own Ordinal settings.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestOrdinal, type TestOrdinal } from './ordinal.js';

export interface CliTestOrdinal {
  ordinal: TestOrdinal;
  /** A scratch folder, removed by stopCliTestOrdinal. */
  tmp: string;
  /** For runCli: ORDINAL_API_URL is this Ordinal's; no token, host, port or config file of the runner's. */
  env: NodeJS.ProcessEnv;
}

export async function startCliTestOrdinal(tmpPrefix: string): Promise<CliTestOrdinal> {
  const ordinal = await startTestOrdinal();
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), tmpPrefix));
  const env = { ...process.env };
  for (const key of ['ORDINAL_API_HOST', 'ORDINAL_API_PORT', 'ORDINAL_TOKEN', 'ORDINAL_CONFIG']) delete env[key];
  // Never the config file of whoever runs the tests.
  env.XDG_CONFIG_HOME = path.join(tmp, 'no-config');
  env.ORDINAL_API_URL = ordinal.apiUrl;
  return { ordinal, tmp, env };
}

export async function stopCliTestOrdinal(ordinal: TestOrdinal | undefined, tmp: string | undefined): Promise<void> {
  await ordinal?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
}

// schemathesis: the property-based API fuzzer test/e2e/api-fuzz.test.ts runs against the OpenAPI
// document. Found or installed from PyPI into .tools/venv like the Temporal CLI (infra/tools.ts).
import { findTool, type ToolOptions, type ToolSpec } from '../../infra/tools.js';

/** Its CLI flags in api-fuzz.test.ts are those of 4.x. */
export const SCHEMATHESIS_VERSION = '4.32.5';

const SCHEMATHESIS: ToolSpec = {
  // Also installed as `st`, but that name is too common on a PATH (the suckless terminal) to trust.
  bin: 'schemathesis',
  envVar: 'SCHEMATHESIS',
  requirement: `schemathesis==${SCHEMATHESIS_VERSION}`,
  label: 'schemathesis (from PyPI)',
  checkArgs: ['--version'],
};

/** Path of schemathesis: $SCHEMATHESIS, else `schemathesis` on PATH, else .tools/venv, else installs it. */
export function findSchemathesis(options: ToolOptions = {}): Promise<string> {
  return findTool(SCHEMATHESIS, options);
}

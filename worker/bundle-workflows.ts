// Writes the workflow bundle to a file, for ORDINAL_WORKFLOW_BUNDLE: a container image bundles once at
// build time instead of every worker at start-up (webpack takes seconds, more on a small Fargate task).
//   node --import tsx worker/bundle-workflows.ts /app/workflow-bundle.js
import fs from 'node:fs';
import { bundleWorkflows } from './workflow-bundle.js';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: node --import tsx worker/bundle-workflows.ts OUTPUT_FILE\n');
  process.exit(2);
}
const code = await bundleWorkflows();
fs.writeFileSync(out, code);
process.stdout.write(`workflow bundle written to ${out} (${code.length} bytes)\n`);

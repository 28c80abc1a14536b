// The manifest `ordinal up --demo` applies: read and validated before anything starts, so a missing or
// invalid file stops `up` with one line and nothing running. The default example runs a program named
// relative to the repository (examples/echo-server.mjs): it gets the repository as its working
// directory, so the demo works from whatever directory `ordinal up` is started in.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readManifestText } from '../core/manifest-text.js';
import type { Manifest } from '../core/manifest.js';
import { REPO_ROOT } from '../infra/tools.js';

export const DEFAULT_DEMO_EXAMPLE = path.join(REPO_ROOT, 'examples', 'web.yaml');

export class DemoManifestError extends Error {
  override name = 'DemoManifestError';
}

export interface DemoManifest {
  manifest: Manifest;
  /** How to name it to a person: the path given, or the example's path in the repository. */
  source: string;
}

export function loadDemoManifest(file: string | undefined): DemoManifest {
  const source = file ?? path.relative(process.cwd(), DEFAULT_DEMO_EXAMPLE);
  let text: string;
  try {
    text = readFileSync(file ?? DEFAULT_DEMO_EXAMPLE, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new DemoManifestError(`cannot read the manifest for --demo, ${source}: ${reason} (--example FILE names another)`);
  }
  const parsed = readManifestText(text, /\.json$/i.test(source) ? 'json' : 'yaml');
  if (!parsed.ok) {
    throw new DemoManifestError(`the manifest for --demo, ${source}, is invalid: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
  const manifest = parsed.value;
  const process_ = manifest.spec.template.process;
  if (file === undefined && process_ && process_.workingDir === undefined) process_.workingDir = REPO_ROOT;
  return { manifest, source };
}

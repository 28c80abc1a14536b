// A set's manifest read from a file (the same YAML or JSON `ordinal apply -f` reads) for
// OrdinalStatefulSet, so a stack can deploy the manifests kept in a repository's deploy/ folder.
import fs from 'node:fs';
import { decodeManifest } from '../../../core/manifest-text.js';
import type { OrdinalSetManifest } from './construct.js';

/** The one manifest in `file` (.json is JSON, anything else YAML); throws naming the file and the problem. */
export function manifestFromFile(file: string): OrdinalSetManifest {
  const decoded = decodeManifest(fs.readFileSync(file, 'utf8'), file.endsWith('.json') ? 'json' : 'yaml');
  if (!decoded.ok) throw new Error(`${file}: ${decoded.issues.map((i) => i.message).join('; ')}`);
  // Checked with the rest by OrdinalStatefulSet (validateManifest).
  return decoded.value as OrdinalSetManifest;
}

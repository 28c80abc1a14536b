// Where the process driver keeps its files inside its data directory: the state database, one log per
// identity, the pods' files and the volumes. Every path is checked to stay inside the data directory.
import path from 'node:path';
import { isDns1123Label } from '../../../core/names.js';
import { dataPaths } from '../../../infra/config.js';
import { DriverError } from '../driver.js';

export class DataDirLayout {
  readonly dbPath: string;
  readonly logsDir: string;
  private readonly podsDir: string;

  /** `dataDir` must be a real path (no symbolic links), so that `confined` can compare against it. */
  constructor(readonly dataDir: string) {
    const paths = dataPaths(dataDir);
    this.dbPath = paths.instancesDb;
    this.logsDir = paths.logsDir;
    this.podsDir = path.join(dataDir, 'pods');
  }

  /** `<dataDir>/volumes/<template>-<set>-<ordinal>`, as Kubernetes names a StatefulSet's claims. */
  volumePath(set: string, ordinal: number, template: string): string {
    checkIdentity(set, ordinal);
    if (!isDns1123Label(template)) throw new DriverError(`invalid volume name '${template}': must be a DNS-1123 label`, false);
    return this.confined(path.join(this.dataDir, 'volumes', `${template}-${set}-${ordinal}`));
  }

  /** `<dataDir>/pods/<set>-<ordinal>`: the current incarnation's pod files, in a directory named by its number. */
  podPath(set: string, ordinal: number): string {
    return this.confined(path.join(this.podsDir, `${set}-${ordinal}`));
  }

  /** One incarnation's pod directory. */
  podDir(set: string, ordinal: number, incarnation: number): string {
    return path.join(this.podPath(set, ordinal), String(incarnation));
  }

  /** One log file per identity, appended to by every incarnation. */
  logPath(set: string, ordinal: number): string {
    return this.confined(path.join(this.logsDir, `${set}-${ordinal}.log`));
  }

  /** Every file the driver writes must stay inside the data dir (set names are checked too; belt and braces). */
  confined(file: string): string {
    const relative = path.relative(this.dataDir, file);
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new DriverError(`refusing to write '${file}' outside the data directory ${this.dataDir}`, false);
    }
    return file;
  }
}

/** A set name and ordinal safe to use in file names, markers and the state. */
export function checkIdentity(set: string, ordinal: number): void {
  if (typeof set !== 'string' || !isDns1123Label(set)) {
    throw new DriverError(`invalid set name '${set}': must be a DNS-1123 label`, false);
  }
  if (!Number.isSafeInteger(ordinal) || ordinal < 0) {
    throw new DriverError(`invalid ordinal ${ordinal}: must be a non-negative integer`, false);
  }
}

// An instance's volumes on the host: one directory per identity and volumeClaimTemplate, which outlives
// incarnations (reattached on recreation and on scaling back up) until the retention policy deletes
// it, owned the way Kubernetes applies a securityContext; and the template's volumeMounts as pod mounts.
import fs from 'node:fs';
import path from 'node:path';
import { DriverError, type CreateRequest } from '../driver.js';
import type { PodMount, PodPrivileges, PodUser } from '../pod.js';
import type { DataDirLayout } from './layout.js';

/** Creates a volume directory (or a subPath in one) if missing and, as root, gives it to the template's user. */
export function prepareVolumeDir(dir: string, user: PodUser | undefined, privileges: PodPrivileges): void {
  const created = !fs.existsSync(dir);
  fs.mkdirSync(dir, { recursive: true });
  if (privileges.mode === 'root' && user !== undefined) ownVolume(dir, user, created);
}

/** The template's volumeMounts as host directories (the identity's volumes, or subPaths in them) and pod paths. */
export function podMounts(request: CreateRequest, layout: DataDirLayout, user: PodUser | undefined, privileges: PodPrivileges): PodMount[] {
  const mounts = request.template.process?.volumeMounts ?? [];
  return mounts.map((m) => {
    if (!(request.volumes ?? []).includes(m.name)) {
      throw new DriverError(`${request.identity.name}: volumeMount '${m.name}' names no volumeClaimTemplate of the set`, false);
    }
    let source = layout.volumePath(request.identity.set, request.identity.ordinal, m.name);
    if (m.subPath) {
      source = layout.confined(path.join(source, m.subPath));
      prepareVolumeDir(source, user, privileges);
    }
    return { source, target: m.mountPath, readOnly: m.readOnly === true };
  });
}

/**
 * Volume ownership for the template's user, as Kubernetes applies it: a new volume belongs to runAsUser;
 * with fsGroup, everything in it gets that group, group read-write, and setgid directories.
 */
function ownVolume(dir: string, user: PodUser, created: boolean): void {
  if (created) fs.chownSync(dir, user.uid, user.gid);
  const group = user.groups[0];
  if (group === undefined) return;
  const walk = (file: string) => {
    const stat = fs.lstatSync(file);
    if (stat.isSymbolicLink()) return;
    fs.chownSync(file, stat.uid, group);
    fs.chmodSync(file, (stat.mode & 0o7777) | 0o060 | (stat.isDirectory() ? 0o2010 : 0));
    if (stat.isDirectory()) for (const name of fs.readdirSync(file)) walk(path.join(file, name));
  };
  walk(dir);
}

// Per-instance storage of the ECS driver: one EFS access point per instance and volume claim template,
// rooted at /ordinal/<set>/<template>-<set>-<ordinal>, found by that path before anything is created
// (and created with a client token), so every step is idempotent.
import {
  CreateAccessPointCommand,
  DeleteAccessPointCommand,
  DescribeAccessPointsCommand,
  DescribeFileSystemsCommand,
  type AccessPointDescription,
  type EFSClient,
} from '@aws-sdk/client-efs';
import { accessPointPath } from '../../../core/ecs.js';
import { MANAGED_BY, TAG, accessPointTokenOf } from './tags.js';

export interface AccessPointSpec {
  fileSystemId: string;
  set: string;
  ordinal: number;
  template: string;
  ownerUid: number;
  ownerGid: number;
  permissions: string;
}

/** Every access point of a file system (all pages). */
export async function listAccessPoints(efs: EFSClient, fileSystemId: string): Promise<AccessPointDescription[]> {
  const all: AccessPointDescription[] = [];
  let NextToken: string | undefined;
  do {
    const page = await efs.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId, NextToken, MaxResults: 1000 }));
    all.push(...(page.AccessPoints ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return all;
}

/** Ordinal's access points of one instance's volumes: by root path (the tags must not say otherwise). */
export function findInstanceAccessPoints(all: AccessPointDescription[], set: string, ordinal: number, templates: string[]): AccessPointDescription[] {
  const paths = new Set(templates.map((t) => accessPointPath(set, t, ordinal)));
  return all.filter((ap) => {
    if (!paths.has(ap.RootDirectory?.Path ?? '')) return false;
    const owner = ap.Tags?.find((t) => t.Key === TAG.managedBy)?.Value;
    return owner === undefined || owner === MANAGED_BY;
  });
}

const USABLE = new Set(['available', 'creating', 'updating']);

/**
 * The instance's access point for `template`, created when missing. Returns its id and whether this
 * call created it.
 */
export async function ensureAccessPoint(efs: EFSClient, spec: AccessPointSpec, known?: AccessPointDescription[]): Promise<{ id: string; created: boolean }> {
  const path = accessPointPath(spec.set, spec.template, spec.ordinal);
  const existing = findInstanceAccessPoints(known ?? (await listAccessPoints(efs, spec.fileSystemId)), spec.set, spec.ordinal, [spec.template]).find((ap) =>
    USABLE.has(ap.LifeCycleState ?? 'available'),
  );
  if (existing?.AccessPointId) return { id: existing.AccessPointId, created: false };
  try {
    const created = await efs.send(
      new CreateAccessPointCommand({
        ClientToken: accessPointTokenOf(spec.fileSystemId, path),
        FileSystemId: spec.fileSystemId,
        RootDirectory: { Path: path, CreationInfo: { OwnerUid: spec.ownerUid, OwnerGid: spec.ownerGid, Permissions: spec.permissions } },
        Tags: [
          { Key: 'Name', Value: `${spec.template}-${spec.set}-${spec.ordinal}` },
          { Key: TAG.managedBy, Value: MANAGED_BY },
          { Key: TAG.set, Value: spec.set },
          { Key: TAG.ordinal, Value: String(spec.ordinal) },
          { Key: TAG.volume, Value: spec.template },
        ],
      }),
    );
    if (!created.AccessPointId) throw new Error(`CreateAccessPoint for ${path} returned no id`);
    return { id: created.AccessPointId, created: true };
  } catch (err) {
    // Someone (another worker, an earlier attempt) created it meanwhile with the same token.
    if ((err as { name?: string }).name !== 'AccessPointAlreadyExists') throw err;
    const again = findInstanceAccessPoints(await listAccessPoints(efs, spec.fileSystemId), spec.set, spec.ordinal, [spec.template])[0];
    if (!again?.AccessPointId) throw err;
    return { id: again.AccessPointId, created: false };
  }
}

/** Deletes the instance's access points of these templates on these file systems. Idempotent. */
export async function deleteInstanceAccessPoints(efs: EFSClient, fileSystemIds: string[], set: string, ordinal: number, templates: string[]): Promise<string[]> {
  const deleted: string[] = [];
  for (const fileSystemId of fileSystemIds) {
    for (const ap of findInstanceAccessPoints(await listAccessPoints(efs, fileSystemId), set, ordinal, templates)) {
      if (!ap.AccessPointId) continue;
      try {
        await efs.send(new DeleteAccessPointCommand({ AccessPointId: ap.AccessPointId }));
      } catch (err) {
        if ((err as { name?: string }).name !== 'AccessPointNotFound') throw err;
      }
      deleted.push(ap.AccessPointId);
    }
  }
  return deleted;
}

/** Every file system id of the account and region (for a delete that does not know the set's). */
export async function listFileSystemIds(efs: EFSClient): Promise<string[]> {
  const ids: string[] = [];
  let Marker: string | undefined;
  do {
    const page = await efs.send(new DescribeFileSystemsCommand({ Marker }));
    for (const fs of page.FileSystems ?? []) if (fs.FileSystemId) ids.push(fs.FileSystemId);
    Marker = page.NextMarker;
  } while (Marker);
  return ids;
}

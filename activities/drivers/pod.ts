// What makes an instance a pod: its own UTS and mount namespaces (the host's network stays shared, so
// each incarnation keeps its own loopback address), in which it sees its own hostname, /etc/hosts,
// /etc/hostname and /etc/resolv.conf (the way the kubelet writes them), its volumes at their mount
// paths, and runs as the template's user. Built from well-kept util-linux tools rather than our own
// namespace code: `unshare` creates the namespaces, a short POSIX sh script sets them up, and
// `setpriv` switches user and drops capabilities before it execs the program. Every step keeps the
// same pid, so the pid the driver records is the program's own.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Template } from '../../core/manifest.js';
import { DriverError, type InstanceIdentity } from './driver.js';

/** The setup step's exit code when the pod cannot be set up (after that, the code is the program's). */
export const POD_SETUP_FAILED = 125;

/** The marker line in the pod's /etc/hosts: how the driver and `ordinal exec` find a pod whose program rewrote its environment. */
export const HOSTS_MARKER = '# ordinal-instance';

/** How the worker's user may create namespaces: as root, or in a user namespace of its own. */
export type PodPrivileges = { mode: 'root' } | { mode: 'rootless'; uid: number; gid: number };

/** The user the program runs as, after the setup. */
export interface PodUser {
  uid: number;
  gid: number;
  /** Supplementary groups (fsGroup). */
  groups: number[];
}

export interface PodMount {
  /** The host directory (the instance's volume, or a subPath in it). */
  source: string;
  /** The absolute path inside the pod. */
  target: string;
  readOnly: boolean;
}

/** Everything one incarnation's pod is made of. */
export interface PodSpec {
  identity: InstanceIdentity;
  address: string;
  /** The pod's directory: its hosts, hostname and resolv.conf files and pod.json. */
  dir: string;
  /** The full marker value (the driver's ORDINAL_INSTANCE_KEY). */
  marker: string;
  /** Where the pod's resolver sends queries (port 53). */
  nameserver: string;
  /** The host's own search domains, kept after the set's two. */
  hostSearch: string[];
  mounts: PodMount[];
  user?: PodUser;
  cwd: string;
  env: Record<string, string>;
}

/** What pod.json keeps: how to run another command inside the pod (exec probes, `ordinal exec`). */
export interface PodEntry {
  env: Record<string, string>;
  cwd: string;
  user?: PodUser;
  rootless: boolean;
}

/** /etc/hosts as the kubelet writes it, plus our marker line. */
export function hostsFile(spec: Pick<PodSpec, 'identity' | 'address' | 'marker' | 'dir'>): string {
  return [
    '# Ordinal-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${spec.address}\t${spec.identity.dnsName}\t${spec.identity.name}`,
    `${HOSTS_MARKER} ${spec.marker} ${spec.address} ${spec.dir}`,
    '',
  ].join('\n');
}

/**
 * resolv.conf as the kubelet writes it for a StatefulSet pod: the set's service domain and the zone
 * first (so `web-0` and `web-0.web` resolve), then the host's own search domains; ndots:5 so short
 * names walk the search list first. glibc allows at most 6 search domains and 256 characters.
 */
export function resolvConf(spec: Pick<PodSpec, 'identity' | 'nameserver' | 'hostSearch'>): string {
  const zone = spec.identity.serviceDnsName.slice(spec.identity.serviceDnsName.indexOf('.') + 1);
  const search: string[] = [];
  for (const domain of [spec.identity.serviceDnsName, zone, ...spec.hostSearch]) {
    if (search.includes(domain) || search.length >= 6 || [...search, domain].join(' ').length > 256) continue;
    search.push(domain);
  }
  return `search ${search.join(' ')}\nnameserver ${spec.nameserver}\noptions ndots:5\n`;
}

/** The host's own search domains (from its resolv.conf), to keep after the pod's. */
export function hostSearchDomains(text: string): string[] {
  let domains: string[] = [];
  for (const line of text.split('\n')) {
    const [keyword, ...rest] = line.trim().split(/\s+/);
    // The last search or domain line wins, as in glibc.
    if (keyword === 'search' || keyword === 'domain') domains = rest.filter((d) => d !== '' && d !== '.');
  }
  return domains.map((d) => d.replace(/\.$/, ''));
}

/**
 * The setup script, run by sh inside the new namespaces as `sh -c SCRIPT ordinal-pod DIR NAME
 * [SOURCE TARGET ro|rw]... -- PROGRAM ARGS...`. Arguments, never interpolation: no quoting to get wrong.
 * Mount points missing on the host are created there (the pod shares the host's file system).
 */
const SETUP_SCRIPT = `
fail() { echo "ordinal: pod setup failed: $*" >&2; exit ${POD_SETUP_FAILED}; }
dir=$1; name=$2; shift 2
hostname "$name" || fail "cannot set the hostname to $name"
for file in hosts hostname resolv.conf; do
  if [ -e "/etc/$file" ]; then
    mount --bind "$dir/$file" "/etc/$file" || fail "cannot mount $dir/$file on /etc/$file"
  fi
done
while [ "$1" != "--" ]; do
  source=$1; target=$2; mode=$3; shift 3
  if [ ! -d "$target" ]; then
    mkdir -p "$target" || fail "cannot create the mount point $target on the host; create it (as root) and try again"
  fi
  mount --bind "$source" "$target" || fail "cannot mount $source on $target"
  if [ "$mode" = ro ]; then
    mount -o remount,bind,ro "$target" || fail "cannot make $target read-only"
  fi
done
shift
exec "$@"
`;

/** The argv that starts `command` in a new pod, and the files to write first. */
export function podLaunch(spec: Pick<PodSpec, 'identity' | 'dir' | 'mounts' | 'user'>, command: readonly string[], privileges: PodPrivileges): string[] {
  const mounts = spec.mounts.flatMap((m) => [m.source, m.target, m.readOnly ? 'ro' : 'rw']);
  return [
    ...unshareArgv(privileges),
    '--',
    '/bin/sh',
    '-c',
    SETUP_SCRIPT,
    'ordinal-pod',
    spec.dir,
    spec.identity.name,
    ...mounts,
    '--',
    ...userSwitch(spec.user, privileges),
    ...command,
  ];
}

/**
 * `setpriv` in front of a command: the template's user and groups, and no capabilities left over
 * from the namespace setup. Empty when nothing changes (root without a securityContext).
 */
export function userSwitch(user: PodUser | undefined, privileges: PodPrivileges): string[] {
  if (user === undefined) {
    return privileges.mode === 'rootless' ? ['setpriv', '--inh-caps=-all', '--'] : [];
  }
  const groups = user.groups.length > 0 ? [`--groups=${user.groups.join(',')}`] : ['--clear-groups'];
  if (privileges.mode === 'rootless') {
    // One uid is mapped in the user namespace (the worker's own); nothing else to switch to.
    return ['setpriv', '--inh-caps=-all', '--'];
  }
  return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, ...groups, '--inh-caps=-all', '--'];
}

/** The argv prefix that runs a command inside a running pod, as its user (exec probes, `ordinal exec`). */
export function enterPod(pid: number, entry: PodEntry): string[] {
  const privileges: PodPrivileges = entry.rootless ? { mode: 'rootless', uid: 0, gid: 0 } : { mode: 'root' };
  const user = entry.rootless ? ['--user', '--preserve-credentials'] : [];
  return ['nsenter', '-t', String(pid), ...user, '--uts', '--mount', `--wd=${entry.cwd}`, '--', ...userSwitch(entry.user, privileges)];
}

/** The template's user, or undefined to keep the worker's; refuses what this worker cannot switch to. */
export function podUser(template: Template, privileges: PodPrivileges, name: string): PodUser | undefined {
  const context = template.securityContext;
  if (context?.runAsUser === undefined && context?.runAsGroup === undefined && context?.fsGroup === undefined) return undefined;
  const workerUid = privileges.mode === 'root' ? 0 : privileges.uid;
  const workerGid = privileges.mode === 'root' ? 0 : privileges.gid;
  const user: PodUser = {
    uid: context.runAsUser ?? workerUid,
    gid: context.runAsGroup ?? (context.runAsUser !== undefined ? context.runAsUser : workerGid),
    groups: context.fsGroup !== undefined ? [context.fsGroup] : [],
  };
  if (privileges.mode === 'rootless' && (user.uid !== privileges.uid || user.gid !== privileges.gid || user.groups.some((g) => g !== privileges.gid))) {
    throw new DriverError(
      `${name}: securityContext asks for uid ${user.uid}, gid ${user.gid}${user.groups.length ? `, group ${user.groups.join(',')}` : ''}, ` +
        `but the worker runs as uid ${privileges.uid} (gid ${privileges.gid}) without root, so its instances can only run as that user; ` +
        'run the worker as root, or drop those fields',
      false,
    );
  }
  return user;
}

/** The namespaces every pod gets: UTS and mount, in a user namespace of the worker's own without root. */
function unshareArgv(privileges: PodPrivileges): string[] {
  const user = privileges.mode === 'root' ? [] : [`--map-user=${privileges.uid}`, `--map-group=${privileges.gid}`, '--keep-caps'];
  return ['unshare', ...user, '--uts', '--mount', '--propagation', 'private'];
}

/** The worker's own privileges: root, or its uid and gid. */
export function workerPrivileges(): PodPrivileges {
  const uid = process.getuid?.() ?? 0;
  return uid === 0 ? { mode: 'root' } : { mode: 'rootless', uid, gid: process.getgid?.() ?? 0 };
}

/** The worker's privileges, and whether it can make pods at all: checked once, by trying. */
export function podPrivileges(): { privileges: PodPrivileges; problem?: string } {
  const privileges = workerPrivileges();
  // The namespaces and the hostname only: what every pod needs.
  const argv = [...unshareArgv(privileges), '--', '/bin/sh', '-c', 'hostname probe-0'];
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (result.status === 0) return { privileges };
  const cause = result.error ? `${argv[0]}: ${result.error.message}` : (result.stderr || result.stdout || `exit code ${result.status}`).trim();
  const fix =
    privileges.mode === 'root'
      ? 'the host refuses new UTS and mount namespaces even to root (a container without CAP_SYS_ADMIN?)'
      : 'this host does not allow unprivileged user namespaces: run the worker as root, or allow them ' +
        '(sysctl kernel.unprivileged_userns_clone=1 on Debian kernels, user.max_user_namespaces > 0, ' +
        'or kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04)';
  return {
    privileges,
    problem: `pod isolation is unavailable: \`${argv.slice(0, -2).join(' ')}\` failed (${cause}); ${fix}; or set spec.template.process.isolation: none`,
  };
}

/** Writes the pod's files: mode 0644 for what the program reads, 0600 for pod.json (it holds the environment). */
export function writePodFiles(spec: PodSpec, privileges: PodPrivileges): void {
  fs.mkdirSync(spec.dir, { recursive: true, mode: 0o755 });
  const write = (name: string, text: string, mode: number) => {
    const file = path.join(spec.dir, name);
    fs.writeFileSync(file, text, { mode });
    fs.chmodSync(file, mode);
  };
  write('hosts', hostsFile(spec), 0o644);
  write('hostname', `${spec.identity.name}\n`, 0o644);
  write('resolv.conf', resolvConf(spec), 0o644);
  const entry: PodEntry = { env: spec.env, cwd: spec.cwd, user: spec.user, rootless: privileges.mode === 'rootless' };
  write('pod.json', `${JSON.stringify(entry)}\n`, 0o600);
}

export function readPodEntry(dir: string): PodEntry | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'pod.json'), 'utf8')) as PodEntry;
  } catch {
    return undefined;
  }
}

/** The marker line of a pod's /etc/hosts as its processes see it, or undefined for a process that is no pod of ours. */
export function readPodMarker(pid: number): { marker: string; address: string; dir: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/root/etc/hosts`, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${HOSTS_MARKER} `)) continue;
    const [marker, address, ...dir] = line.slice(HOSTS_MARKER.length + 1).split(' ');
    if (marker && address && dir.length > 0) return { marker, address, dir: dir.join(' ') };
  }
  return undefined;
}

/** Whether the pod's setup (unshare, its sh script, setpriv) has yet to exec the program. */
export function inPodSetup(pid: number): boolean {
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return false;
  }
  return cmdline.startsWith('unshare\0') || cmdline.startsWith('setpriv\0') || cmdline.includes('\0ordinal-pod\0');
}

/** Whether a process lives in another mount namespace than ours: only then can it be a pod. */
export function inOtherMountNamespace(pid: number): boolean {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`) !== ownMountNamespace();
  } catch {
    return false;
  }
}

let ownNamespace: string | undefined;
function ownMountNamespace(): string {
  ownNamespace ??= fs.readlinkSync('/proc/self/ns/mnt');
  return ownNamespace;
}

/** Reads the host's search domains once per process: they do not change under a running worker. */
let hostSearchCache: string[] | undefined;
export function hostSearch(): string[] {
  if (hostSearchCache === undefined) {
    try {
      hostSearchCache = hostSearchDomains(fs.readFileSync('/etc/resolv.conf', 'utf8'));
    } catch {
      hostSearchCache = [];
    }
  }
  return hostSearchCache;
}

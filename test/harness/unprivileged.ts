// Runs a command as an unprivileged user (nobody) against this repository, wherever it was cloned: CI
// clones into directories only root may enter (mktemp's 0700), and node may live under /root. So the
// command runs in a mount namespace of its own where the repository is bind-mounted at a path anyone
// may enter, with a copy of node there when nobody cannot run the original; nothing changes on the host.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './system.js';

export const NOBODY = 65534;

export interface UnprivilegedView {
  /** The repository as the unprivileged command sees it. */
  repo: string;
  /** A node binary it may run. */
  node: string;
  /** [command, ...args] that runs `argv` as nobody in that view (paths in argv use `repo` and `node`). */
  argv(argv: string[]): string[];
  close(): void;
}

function nobodyCan(test: '-x' | '-r', file: string): boolean {
  return spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', 'test', test, file]).status === 0;
}

export function unprivilegedView(): UnprivilegedView {
  const root = fs.mkdtempSync('/tmp/ordinal-view-');
  fs.chmodSync(root, 0o755);
  const repo = path.join(root, 'repo');
  fs.mkdirSync(repo, { mode: 0o755 });
  let node = process.execPath;
  if (!nobodyCan('-x', node)) {
    node = path.join(root, 'node');
    fs.copyFileSync(process.execPath, node);
    fs.chmodSync(node, 0o755);
  }
  const setup = 'mount --bind "$1" "$2" || exit 125; shift 2; exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"';
  return {
    repo,
    node,
    argv: (argv) => ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', setup, 'sh', REPO, repo, ...argv],
    close: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

// `ordinal exec SET ORDINAL [--] COMMAND...`, like `kubectl exec`: runs a command inside a running
// instance (its namespaces, user, environment and working directory) with stdin, stdout and stderr
// attached, and exits with the command's exit code. It works on the instance's own host: the API says
// which incarnation runs where, and /proc finds its process (activities/drivers/instance-finder.ts).
import { spawn } from 'node:child_process';
import type { SetView } from '../core/status.js';
import { findInstanceProcess } from '../activities/drivers/instance-finder.js';

/** Why `ordinal exec` cannot run, for the user (exit code 1). */
export class ExecError extends Error {}

/** What to run, or why not: checks the set's view before looking for the process. */
export function execTarget(view: SetView, ordinal: number): { pid: number; argvPrefix: string[]; env: Record<string, string>; cwd: string } {
  const name = `${view.metadata.name}-${ordinal}`;
  const ecs = view.spec.template.ecs;
  if (ecs !== undefined) {
    throw new ExecError(
      `${name} is an ECS task: ordinal exec runs commands in process-driver instances only; use ECS Exec ` +
        `(aws ecs execute-command --cluster ${ecs.cluster} --task TASK_ARN --container ${ecs.containerName ?? view.metadata.name} --interactive --command ...)`,
    );
  }
  const instance = view.status.instances.find((i) => i.ordinal === ordinal);
  if (instance === undefined) {
    throw new ExecError(`set ${view.metadata.name} has no instance ${ordinal} (replicas: ${view.spec.replicas})`);
  }
  if (instance.phase !== 'Running' || instance.address === null) {
    throw new ExecError(`${name} is not running (phase ${instance.phase}${instance.lastError ? `: ${instance.lastError}` : ''})`);
  }
  const found = findInstanceProcess({ set: view.metadata.name, ordinal, incarnation: instance.incarnation, address: instance.address });
  if (found === undefined) {
    throw new ExecError(
      `${name} (incarnation ${instance.incarnation}, ${instance.address}) does not run on this host as a process this user can see: ` +
        'run ordinal exec on the worker\'s host, as root or as the worker\'s user',
    );
  }
  return { pid: found.pid, argvPrefix: found.entry.prefix, env: found.entry.env, cwd: found.entry.cwd };
}

/** Runs the command with the terminal attached; resolves with its exit code (128 + n for a signal, as shells do). */
export function runAttached(argv: string[], env: Record<string, string>, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env, cwd });
    // The terminal's signals reach the command (its process group is ours); do not die before it.
    const ignore = () => {};
    for (const signal of ['SIGINT', 'SIGQUIT', 'SIGTERM'] as const) process.on(signal, ignore);
    child.once('error', (err) => reject(new ExecError(`cannot run ${argv[0]}: ${err.message}`)));
    child.once('exit', (code, signal) => {
      for (const s of ['SIGINT', 'SIGQUIT', 'SIGTERM'] as const) process.off(s, ignore);
      resolve(code ?? 128 + (signal ? signalNumber(signal) : 1));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return numbers[signal] ?? 1;
}

// What the numbers were measured on: they only mean something next to the machine and its load.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  hostname: string;
  os: string;
  kernel: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  temporalCli?: string;
  dnsperf?: string;
  dnsmasq?: string;
  /** 1, 5 and 15 minute load averages when the run started: a busy machine makes slow numbers. */
  loadAverageAtStart: number[];
  git?: { commit: string; dirty: boolean };
}

export function machineInfo(tools: { temporalCli?: string; dnsperf?: string; dnsmasq?: string } = {}): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    os: osName(),
    kernel: os.release(),
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    ...tools,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    git: gitInfo(),
  };
}

function osName(): string {
  try {
    const release = fs.readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1] ?? `${os.type()} ${os.release()}`;
  } catch {
    return `${os.type()} ${os.release()}`;
  }
}

function gitInfo(): MachineInfo['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return undefined;
  }
}

/** The first line a tool prints for `args`, or undefined when it does not run. */
export function toolVersion(file: string, args: string[], line?: RegExp): string | undefined {
  let out: string | undefined;
  try {
    out = execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (err) {
    out = (err as { stdout?: string }).stdout || (err as { stderr?: string }).stderr;
  }
  if (!out) return undefined;
  if (line) return line.exec(out)?.[0]?.trim();
  return out.split('\n').find((l) => l.trim() !== '')?.trim();
}

// Summarizes V8 CPU profiles (--cpu-prof, written with --profile): self time by function and by
// package or source folder, so a run's cost can be attributed without opening a profiler.
//   npx tsx bench/lib/profile.ts bench/results/profiles/*.cpuprofile
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './procs.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  byArea: Array<{ area: string; ms: number; share: number }>;
  byFunction: Array<{ fn: string; ms: number; share: number }>;
}

/** For a webpack bundle (the workflow bundle): the module each line belongs to, from its markers. */
const bundles = new Map<string, Array<{ line: number; module: string }> | undefined>();
function bundleModule(file: string, line: number): string | undefined {
  if (!bundles.has(file)) {
    let marks: Array<{ line: number; module: string }> | undefined;
    try {
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      marks = [];
      lines.forEach((text, i) => {
        const m = /^\s*!\*{3} (\S+) \*{3}!$/.exec(text);
        if (m) marks!.push({ line: i, module: m[1] });
      });
      if (marks.length === 0) marks = undefined;
    } catch {
      marks = undefined;
    }
    bundles.set(file, marks);
  }
  const marks = bundles.get(file);
  if (!marks) return undefined;
  let found: string | undefined;
  for (const mark of marks) {
    if (mark.line > line) break;
    found = mark.module;
  }
  if (!found) return undefined;
  const nm = found.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = found.slice(nm + 'node_modules/'.length).split('/');
    return `bundle: ${parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  return `bundle: ${found.replace(/^\.\//, '').split('/').slice(0, 2).join('/')}`;
}

/** Where a frame's code lives: an npm package, one of the repo's folders, or a V8/Node category. */
function area(url: string, functionName: string, lineNumber = 0): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const inBundle = file.endsWith('-workflows.js') ? bundleModule(file, lineNumber) : undefined;
  if (inBundle) return inBundle;
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = file.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (file.startsWith('node:')) return 'node:' + file.slice(5).split('/')[0];
  if (file.startsWith(REPO_ROOT)) return path.relative(REPO_ROOT, file).split('/').slice(0, 2).join('/');
  if (/^(evalmachine|vm|workflow)/.test(file) || file.includes('workflow-bundle')) return '(workflow sandbox)';
  return file.split('/').slice(-2).join('/');
}

export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    total += ms;
    const a = area(url, functionName, lineNumber);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const fn = `${functionName || '(anonymous)'} ${a}${url ? `:${lineNumber + 1}` : ''}`;
    fns.set(fn, (fns.get(fn) ?? 0) + ms);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, ms]) => ({ k, ms, share: total ? ms / total : 0 }));
  return {
    file: path.basename(file),
    totalMs: total,
    byArea: rank(areas).map(({ k, ms, share }) => ({ area: k, ms, share })),
    byFunction: rank(fns).map(({ k, ms, share }) => ({ fn: k, ms, share })),
  };
}

export function renderProfile(s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  return [
    `${s.file}: ${(s.totalMs / 1000).toFixed(1)} s of CPU on the main thread (idle excluded)`,
    '  by area:',
    ...s.byArea.map((a) => `    ${pct(a.share)}  ${a.area}`),
    '  by function (self time):',
    ...s.byFunction.map((f) => `    ${pct(f.share)}  ${f.fn}`),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const file of process.argv.slice(2)) process.stdout.write(`${renderProfile(summarizeProfile(file))}\n\n`);
}

// A unified diff of two texts, line by line (as `diff -u` prints it), from a longest common subsequence.
// Small inputs only (manifests): the table is lines(a) x lines(b).

export interface UnifiedDiffOptions {
  /** The names on the --- and +++ lines. */
  from: string;
  to: string;
  /** Unchanged lines shown around each change (default 3). */
  context?: number;
}

type Edit = { kind: ' ' | '-' | '+'; line: string };

/** The unified diff of `a` and `b`, or '' when they are equal. */
export function unifiedDiff(a: string, b: string, options: UnifiedDiffOptions): string {
  if (a === b) return '';
  const edits = lineEdits(splitLines(a), splitLines(b));
  const context = options.context ?? 3;
  const hunks = hunksOf(edits, context);
  if (hunks.length === 0) return '';
  return [`--- ${options.from}`, `+++ ${options.to}`, ...hunks].join('\n') + '\n';
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The shortest edit script through the longest common subsequence; deletions before insertions. */
export function lineEdits(a: readonly string[], b: readonly string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: the LCS length of a[i..] and b[j..], row-major in one array.
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] = a[i] === b[j] ? lcs[(i + 1) * width + j + 1]! + 1 : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
    }
  }
  const edits: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      edits.push({ kind: ' ', line: a[i]! });
      i++;
      j++;
    } else if (j >= m || (i < n && lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)) {
      edits.push({ kind: '-', line: a[i]! });
      i++;
    } else {
      edits.push({ kind: '+', line: b[j]! });
      j++;
    }
  }
  return edits;
}

/** Groups the edits into hunks with `context` lines around each change; changes closer than that merge. */
function hunksOf(edits: readonly Edit[], context: number): string[] {
  const changed = edits.map((e, index) => (e.kind === ' ' ? -1 : index)).filter((index) => index >= 0);
  if (changed.length === 0) return [];
  const ranges: Array<[number, number]> = [];
  for (const index of changed) {
    const start = Math.max(0, index - context);
    const end = Math.min(edits.length - 1, index + context);
    const last = ranges[ranges.length - 1];
    if (last && start <= last[1] + 1) last[1] = end;
    else ranges.push([start, end]);
  }
  // Line numbers (1-based) of each edit in a and b.
  const oldLine: number[] = [];
  const newLine: number[] = [];
  let o = 0;
  let p = 0;
  for (const e of edits) {
    oldLine.push(o);
    newLine.push(p);
    if (e.kind !== '+') o++;
    if (e.kind !== '-') p++;
  }
  return ranges.map(([start, end]) => {
    const slice = edits.slice(start, end + 1);
    const oldCount = slice.filter((e) => e.kind !== '+').length;
    const newCount = slice.filter((e) => e.kind !== '-').length;
    // As diff -u: an empty range names the line before it.
    const oldStart = oldCount === 0 ? oldLine[start]! : oldLine[start]! + 1;
    const newStart = newCount === 0 ? newLine[start]! : newLine[start]! + 1;
    const header = `@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@`;
    return [header, ...slice.map((e) => `${e.kind}${e.line}`)].join('\n');
  });
}

function range(start: number, count: number): string {
  return count === 1 ? String(start) : `${start},${count}`;
}

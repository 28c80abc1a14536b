// The import architecture (.dependency-cruiser.cjs: layers, no cycles, core/ self-contained, the
// workflow sandbox, nothing imports test/), enforced in `npm test`: every violation is listed.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('import architecture', () => {
  it('every import follows .dependency-cruiser.cjs', async () => {
    const options = await extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.cjs'));
    const tsConfig = extractTSConfig(join(ROOT, 'tsconfig.json'));
    const { output } = await cruise(['.'], { ...options, baseDir: ROOT }, {}, { tsConfig });
    const result = output as ICruiseResult;

    // The cruise saw the code (a wrong exclude or root would pass vacuously): every layer, resolved.
    const seen = new Set(result.modules.map((m) => m.source));
    for (const file of ['core/planner.ts', 'workflows/statefulset.ts', 'activities/drivers/driver.ts', 'api/app.ts', 'cli/main.ts', 'test/harness/sets.ts']) {
      expect(seen, `${file} was not cruised`).toContain(file);
    }
    const planner = result.modules.find((m) => m.source === 'core/planner.ts')!;
    expect(planner.dependencies.map((d) => d.resolved)).toContain('core/set-state.ts');

    // One line per violation: the rule, then the import (a cycle: its whole path).
    const violations = result.summary.violations.map((v) => {
      const path = v.cycle ? [v.from, ...v.cycle.map((step) => step.name)] : [v.from, v.to];
      return `${v.rule.name}: ${path.join(' -> ')}`;
    });
    expect(violations).toEqual([]);
  }, 180_000);
});

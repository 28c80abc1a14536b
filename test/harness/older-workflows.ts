// Workflow bundles of the set workflow as an older worker runs it: the real workflow code with one of its
// modules swapped for a stand-in (test/fixtures/*), for tests of what the API does with sets whose
// workflows run on a worker older than the API (no view in the memo, no getEvents Query).
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

/** The set workflow's code with `request` (as the workflows import it, e.g. './view-memo.js') replaced by the fixture `stub`. */
export async function olderWorkflowBundle(request: string, stub: string): Promise<{ code: string }> {
  return bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
    webpackConfigHook: (config) => ({
      ...config,
      plugins: [...(config.plugins ?? []), replaceModule(/[\\/]workflows$/, request, stub)],
    }),
  });
}

/** A webpack plugin (webpack's own NormalModuleReplacementPlugin, without importing webpack): `request` from a folder matching `context` becomes `replacement`. */
function replaceModule(context: RegExp, request: string, replacement: string) {
  return {
    apply(compiler: { hooks: { normalModuleFactory: { tap(name: string, fn: (factory: any) => void): void } } }) {
      compiler.hooks.normalModuleFactory.tap('ReplaceModule', (factory) => {
        factory.hooks.beforeResolve.tap('ReplaceModule', (data: { context: string; request: string }) => {
          if (data.request === request && context.test(data.context)) data.request = replacement;
        });
      });
    },
  };
}

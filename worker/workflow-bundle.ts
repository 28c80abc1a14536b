// How the worker's workflow code is bundled: one function for the worker, the prebuilt-bundle script,
// the tests, the replay tests and the bench, so each runs exactly the bundle users run.
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';

/** The bundle's entry: every export is a workflow type. */
export const WORKFLOWS_ENTRY = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * Loaded once per workflow thread and shared by every workflow (the bundler's preloadModules): zod, the
 * core and the manifest schema. Without it each set workflow evaluated them again, about 2 MiB each.
 */
export const SHARED_WORKFLOW_MODULES = fileURLToPath(new URL('../workflows/shared-modules.ts', import.meta.url));

/** Bundles the workflows (webpack: seconds); `workflowsPath` replaces the entry (the replay tests' scratch copies). */
export async function bundleWorkflows(options: { workflowsPath?: string; logger?: BundleOptions['logger'] } = {}): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: options.workflowsPath ?? WORKFLOWS_ENTRY,
    preloadModules: [SHARED_WORKFLOW_MODULES],
    logger: options.logger,
  });
  return code;
}

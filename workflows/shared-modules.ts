// Modules every workflow shares. The worker runs all workflows in one V8 context (reuseV8Context) but
// evaluates the bundle's modules again for each workflow, so every set workflow carried its own zod,
// its own core and its own manifest schema. The bundler's preloadModules (worker/workflow-bundle.ts)
// loads this file once, before any workflow, and the modules it imports are then shared: only pure,
// deterministic modules belong here (the sandbox freezes what they export, and any state they keep is
// seen by every workflow). Nothing here may use @temporalio/workflow: no workflow exists yet.
import { z } from 'zod';
import { getManifestSchema } from '../core/manifest.js';
import '../core/dns-records.js';
import '../core/names.js';
import '../core/planner.js';
import '../core/rollout-preview.js';
import '../core/set-state.js';
import '../core/status.js';
import '../core/transitions.js';

// zod writes its default locale into its config object on first use, and caches whether `new Function`
// works in a lazily defined property: both would be frozen by then. Set the locale now, and parse
// without compiled parsers (jitless), which also keeps generated code out of the shared context.
z.config({ ...z.locales.en(), jitless: true });
// Built once here, not by each workflow's first update validator.
getManifestSchema();

// The Lambda entry of OrdinalStatefulSet's custom resource: onEvent and isComplete of handler.ts, with
// the API token read from Secrets Manager (the standard AWS configuration of the function) on each call,
// so a rotated token is used at once. Bundled by esbuild at synth time (construct.ts).
import { readSecret } from '../../aws-secrets.js';
import { createStatefulSetHandler } from './handler.js';

const handler = createStatefulSetHandler({ readSecret });

export const onEvent = handler.onEvent;
export const isComplete = handler.isComplete;

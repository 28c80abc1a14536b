// The worker's workflow bundle entry: every export here is a workflow type.
export { statefulSet } from './statefulset.js';
export { route53Zone } from './route53-zone.js';

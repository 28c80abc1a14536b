// The bench's own workflows, bundled separately from Ordinal's (see bench/lib/context.ts).
export { floor } from './floor.js';

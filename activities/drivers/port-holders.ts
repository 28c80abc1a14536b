// Instances share the host's network, so a program that binds 0.0.0.0 (or ::) takes its port from every
// other instance. When an instance exits and one of its ports is held that way by another process, the
// driver names the holder and the fix instead of leaving an unexplained crash loop.
import { processesHolding, readProcSockets, TCP_LISTEN } from './proc-sockets.js';

/**
 * For each of `ports` that another process holds on a wildcard address (so this instance's address
 * cannot have it), a sentence naming the port, the holder and the fix.
 */
export function portConflicts(ports: number[], address: string): string[] {
  if (ports.length === 0) return [];
  const wildcards = readProcSockets('tcp').filter(
    (s) => s.state === TCP_LISTEN && ports.includes(s.port) && (s.address === '0.0.0.0' || s.address === '::'),
  );
  const holders = processesHolding(new Set(wildcards.map((s) => s.inode)));
  return wildcards.map((listener) => {
    const found = holders.get(listener.inode) ?? [];
    const named = found.length ? found.map((p) => `pid ${p.pid} (${p.command})`).join(', ') : 'another process';
    return (
      `port ${listener.port} is held on ${listener.address} by ${named}: ` +
      `instances share the host's network, so every program must bind its own address (${address}, ` +
      'the $(ORDINAL_ADDRESS) variable in command or env), never 0.0.0.0'
    );
  });
}

// A receiver process of the embedded DNS server (receivers.ts starts it): it answers from the UDP socket
// the server hands it, the very socket the server reads too (each datagram goes to whichever process
// reads it first), so a listener answers on more than one core. It opens its own connection to the
// store and checks its freshness per burst as the server does: every answer reflects every commit made
// before its query arrived, whichever process answers it. It exits when the server disconnects.
import type dgram from 'node:dgram';
import { logger } from '../infra/logger.js';
import { createForwarder, type Forwarder } from './forwarder.js';
import { createResponder, type ReceivedQuery, type ReplySink } from './responder.js';
import { DnsStore } from './store.js';
import type { ReceiverSpec, ToReceiver } from './receivers.js';

let serving = false;

process.on('message', (message: ToReceiver, handle: unknown) => {
  if (message.type !== 'serve' || serving) return;
  serving = true;
  try {
    serve(message.spec, handle as dgram.Socket);
    process.send?.({ type: 'ready' });
  } catch (error) {
    logger.error({ err: error }, 'dns receiver failed to start');
    process.exit(1);
  }
});
// The server closed the channel or is gone: nothing may answer for it any more.
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal (and a service manager's stop) signals the whole group: the server stops its
// receivers itself, in order, so they outlive it by no more than its shutdown.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

function serve(spec: ReceiverSpec, udp: dgram.Socket): void {
  const log = logger.child({ component: 'dns', receiver: process.pid });
  const store = DnsStore.open(spec.storeFile, spec.defaultZone);
  const forwarder: Forwarder | undefined = spec.forwarder === undefined ? undefined : createForwarder({ ...spec.forwarder, logger: log });
  const responder = createResponder({ store, answerOptions: spec.answerOptions, forwarder, logger: log });
  const sink: ReplySink = {
    send(reply, query) {
      // No callback: a lost UDP reply is retried by the client, and none saves a tick per query.
      udp.send(reply, query.port, query.address);
    },
  };
  udp.on('message', (message, remote) => {
    const query: ReceivedQuery = { message, transport: 'udp', address: remote.address, port: remote.port, sink };
    responder.enqueue(query);
  });
  udp.on('error', (error) => log.warn({ err: error }, 'dns udp socket error'));
}

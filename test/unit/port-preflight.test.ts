// The port check `ordinal up`, `api` and `dns` make before starting anything: which ports each needs and
// which variable moves them, the /proc/net parsing that names a port's holder, the one-block message,
// and that every conflict is collected, not just the first. (test/e2e/port-preflight.test.ts runs the
// real commands against ports a test holds.)
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config.js';
import {
  clashes,
  conflictKind,
  explainStartFailure,
  findConflicts,
  formatConflict,
  formatConflicts,
  portNeeds,
  PortConflictError,
  temporalUnreachableError,
  type PortConflict,
  type PortNeed,
  type PreflightIo,
  type Protocol,
} from '../../cli/port-preflight.js';
import {
  addressesOverlap,
  decodeProcAddress,
  formatCmdline,
  parseProcNet,
  socketsInTheWay,
  userName,
  type ProcSocket,
} from '../../activities/drivers/proc-sockets.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1BA8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 284184 1 000000007a3e6a08 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1BA8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 0 1 0000000000000000 20 4 30 10 -1
   garbage line
   3: 0100007F:XYZ 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 5555 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5556 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5557 1 0000000000000000 100 0 0 10 0
`;
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: FEFF4D7F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 7777 2 0000000000000000 0
`;

describe('/proc/net parsing', () => {
  it('reads the local address, port, state, uid and inode of every socket line', () => {
    expect(parseProcNet(TCP, 'tcp', true)).toEqual<ProcSocket[]>([
      { protocol: 'tcp', address: '127.0.0.1', port: 7080, state: '0A', uid: 1000, inode: '284184' },
      { protocol: 'tcp', address: '0.0.0.0', port: 22, state: '0A', uid: 0, inode: '1234' },
      { protocol: 'tcp', address: '127.0.0.1', port: 7080, state: '01', uid: 1000, inode: '0' },
    ]);
    expect(parseProcNet(TCP6, 'tcp', true).map((s) => [s.address, s.port, s.uid, s.inode])).toEqual([
      ['::1', 8080, 105, '5555'],
      ['::', 8081, 0, '5556'],
      ['::ffff:127.0.0.1', 8082, 0, '5557'],
    ]);
    expect(parseProcNet(UDP, 'udp', true)).toEqual<ProcSocket[]>([
      { protocol: 'udp', address: '127.77.255.254', port: 53, state: '07', uid: 0, inode: '7777' },
    ]);
    expect(parseProcNet('', 'udp')).toEqual([]);
  });

  it.each<[string, boolean, string]>([
    ['0100007F', true, '127.0.0.1'],
    ['7F000001', false, '127.0.0.1'],
    ['00000000', true, '0.0.0.0'],
    ['FEFF4D7F', true, '127.77.255.254'],
    ['00000000000000000000000001000000', true, '::1'],
    ['00000000000000000000000000000001', false, '::1'],
    ['00000000000000000000000000000000', true, '::'],
    ['0000000000000000FFFF00000100007F', true, '::ffff:127.0.0.1'],
    ['B80D0120000000000000000001000000', true, '2001:db8::1'],
    ['B80D0120010000000000000000000000', true, '2001:db8:0:1::'],
    ['B80D0120010000000100000001000000', true, '2001:db8:0:1:0:1:0:1'],
  ])('decodes %s (little-endian %s) as %s', (hex, littleEndian, address) => {
    expect(decodeProcAddress(hex, littleEndian)).toBe(address);
  });

  it.each<[string, string, boolean]>([
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1', '127.0.0.2', false],
    ['127.0.0.1', '0.0.0.0', true],
    ['127.0.0.1', '::', true],
    ['127.0.0.1', '::ffff:127.0.0.1', true],
    ['127.0.0.1', '::1', false],
    ['0.0.0.0', '127.0.0.9', true],
    ['0.0.0.0', '::1', false],
    ['::', '127.0.0.9', true],
    ['::1', '0:0:0:0:0:0:0:1', true],
    ['::1', '0.0.0.0', false],
    ['localhost', '127.0.0.1', true],
  ])('binding %s collides with a socket on %s: %s', (ours, theirs, overlap) => {
    expect(addressesOverlap(ours, theirs)).toBe(overlap);
  });

  it('finds the sockets in the way: TCP listeners first, any bound UDP socket, never inode 0', () => {
    const sockets = [...parseProcNet(TCP, 'tcp', true), ...parseProcNet(TCP6, 'tcp', true), ...parseProcNet(UDP, 'udp', true)];
    expect(socketsInTheWay(sockets, '127.0.0.1', 7080, 'tcp').map((s) => s.inode)).toEqual(['284184']);
    expect(socketsInTheWay(sockets, '127.0.0.1', 7080, 'udp')).toEqual([]);
    expect(socketsInTheWay(sockets, '127.0.0.5', 22, 'tcp').map((s) => s.inode)).toEqual(['1234']);
    expect(socketsInTheWay(sockets, '127.0.0.1', 8081, 'tcp').map((s) => s.inode)).toEqual(['5556']);
    expect(socketsInTheWay(sockets, '127.0.0.1', 8082, 'tcp').map((s) => s.inode)).toEqual(['5557']);
    expect(socketsInTheWay(sockets, '127.0.0.1', 8080, 'tcp')).toEqual([]);
    expect(socketsInTheWay(sockets, '127.77.255.254', 53, 'udp').map((s) => s.inode)).toEqual(['7777']);
    // A bound, non-listening TCP socket counts only when there is no listener.
    const connected: ProcSocket = { protocol: 'tcp', address: '127.0.0.1', port: 9000, state: '01', uid: 0, inode: '42' };
    expect(socketsInTheWay([connected], '127.0.0.1', 9000, 'tcp').map((s) => s.inode)).toEqual(['42']);
  });

  it.each<[string, string]>([
    ['node\0/tmp/hold.mjs\x007080\0', 'node /tmp/hold.mjs 7080'],
    ['dnsmasq\0', 'dnsmasq'],
    ['', ''],
    [`${'x'.repeat(150)}\0`, `${'x'.repeat(97)}...`],
  ])('formats the command line %j as %j', (raw, line) => {
    expect(formatCmdline(raw)).toBe(line);
  });

  it('names uids from /etc/passwd', () => {
    const passwd = () => 'root:x:0:0:root:/root:/bin/bash\npostgres:x:105:110::/var/lib/postgresql:/bin/bash\n';
    expect(userName(105, passwd)).toBe('postgres');
    expect(userName(0, passwd)).toBe('root');
    expect(userName(4242, passwd)).toBeUndefined();
    expect(
      userName(0, () => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
  });
});

const config = (env: NodeJS.ProcessEnv) => loadConfig(env, '/tmp', () => '');
const brief = (needs: PortNeed[]) => needs.map((n) => `${n.what} ${n.host}:${n.port}/${n.protocols.join('+')} ${n.variable}`);

describe('the ports each command needs', () => {
  it.each<[string, 'up' | 'api' | 'dns', NodeJS.ProcessEnv, string[]]>([
    [
      'up with its own Temporal dev server',
      'up',
      {},
      [
        'API 127.0.0.1:7080/tcp ORDINAL_API_PORT',
        'DNS host listener 127.0.0.1:7053/udp+tcp ORDINAL_DNS_PORT',
        'DNS pod listener 127.77.255.254:53/udp+tcp ORDINAL_DNS_POD_PORT',
        'worker metrics 127.0.0.1:7081/tcp ORDINAL_WORKER_METRICS',
        'Temporal dev server 127.0.0.1:7233/tcp ORDINAL_TEMPORAL_PORT',
        'Temporal UI 127.0.0.1:8233/tcp ORDINAL_TEMPORAL_UI_PORT',
      ],
    ],
    [
      'up against TEMPORAL_ADDRESS, moved ports, no pod listener',
      'up',
      { TEMPORAL_ADDRESS: 'temporal:7233', ORDINAL_API_HOST: '::1', ORDINAL_API_PORT: '9080', ORDINAL_DNS_PORT: '9053', ORDINAL_DNS_POD: 'disabled' },
      ['API ::1:9080/tcp ORDINAL_API_PORT', 'DNS host listener 127.0.0.1:9053/udp+tcp ORDINAL_DNS_PORT', 'worker metrics 127.0.0.1:7081/tcp ORDINAL_WORKER_METRICS'],
    ],
    [
      'up with ports of 0 (any free port)',
      'up',
      { ORDINAL_API_PORT: '0', ORDINAL_TEMPORAL_UI_PORT: '0', ORDINAL_ADDRESS_POOL: '127.181.0.0/16' },
      [
        'DNS host listener 127.0.0.1:7053/udp+tcp ORDINAL_DNS_PORT',
        'DNS pod listener 127.181.255.254:53/udp+tcp ORDINAL_DNS_POD_PORT',
        'worker metrics 127.0.0.1:7081/tcp ORDINAL_WORKER_METRICS',
        'Temporal dev server 127.0.0.1:7233/tcp ORDINAL_TEMPORAL_PORT',
      ],
    ],
    ['api', 'api', { ORDINAL_API_PORT: '9999' }, ['API 127.0.0.1:9999/tcp ORDINAL_API_PORT']],
    [
      'dns',
      'dns',
      { ORDINAL_DNS_POD_ADDRESS: '127.5.5.5', ORDINAL_DNS_POD_PORT: '5353' },
      ['DNS host listener 127.0.0.1:7053/udp+tcp ORDINAL_DNS_PORT', 'DNS pod listener 127.5.5.5:5353/udp+tcp ORDINAL_DNS_POD_PORT'],
    ],
  ])('%s', (_, command, env, expected) => {
    expect(brief(portNeeds(config(env), command, env))).toEqual(expected);
  });

  it('names the flags of `ordinal api` besides the variables', () => {
    const [api] = portNeeds(config({}), 'api', {});
    expect(api.fixes.inUse).toBe('stop it, or set ORDINAL_API_PORT (--port) to a free port');
    expect(api.fixes.notLocal).toBe('set ORDINAL_API_HOST (--host) to an address of this host');
  });
});

const needs = portNeeds(config({}), 'up', {});
const need = (what: string) => needs.find((n) => n.what === what)!;

describe('the message', () => {
  it.each<[string, PortConflict, string]>([
    [
      'a port in use by a process we can see',
      { need: need('API'), kind: 'in-use', protocols: ['tcp'], holders: { processes: [{ pid: 1234, command: 'node server.js' }], hiddenUsers: [] } },
      'port 7080 (API, ORDINAL_API_PORT) on 127.0.0.1 is in use by pid 1234 (node server.js); stop it, or set ORDINAL_API_PORT to a free port',
    ],
    [
      "another user's process",
      { need: need('API'), kind: 'in-use', protocols: ['tcp'], holders: { processes: [], hiddenUsers: [{ uid: 105, name: 'postgres' }, { uid: 2000 }] } },
      'port 7080 (API, ORDINAL_API_PORT) on 127.0.0.1 is in use by a process of user postgres (uid 105), a process of uid 2000; stop it, or set ORDINAL_API_PORT to a free port',
    ],
    [
      'a holder the system cannot tell',
      { need: need('Temporal UI'), kind: 'in-use', protocols: ['tcp'], holders: { processes: [], hiddenUsers: [] } },
      'port 8233 (Temporal UI, ORDINAL_TEMPORAL_UI_PORT) on 127.0.0.1 is in use by another process (the system cannot tell which); ' +
        'stop it, or set ORDINAL_TEMPORAL_UI_PORT to a free port; or set TEMPORAL_ADDRESS to use a Temporal server that already runs',
    ],
    [
      'only one of the two protocols of a DNS listener',
      {
        need: need('DNS host listener'),
        kind: 'in-use',
        protocols: ['udp'],
        holders: { processes: [1, 2, 3, 4, 5].map((pid) => ({ pid, command: 'dnsmasq' })), hiddenUsers: [] },
      },
      'port 7053 (DNS host listener, ORDINAL_DNS_PORT) on 127.0.0.1 is in use (UDP) by pid 1 (dnsmasq), pid 2 (dnsmasq), pid 3 (dnsmasq), 2 more; ' +
        'stop it, or set ORDINAL_DNS_PORT to a free port',
    ],
    [
      'the pod listener in use',
      { need: need('DNS pod listener'), kind: 'in-use', protocols: ['udp', 'tcp'], holders: { processes: [{ pid: 9, command: 'node bin/ordinal.js dns' }], hiddenUsers: [] } },
      'port 53 (DNS pod listener, ORDINAL_DNS_POD_PORT) on 127.77.255.254 is in use (UDP and TCP) by pid 9 (node bin/ordinal.js dns); ' +
        'stop it (another Ordinal installation on the same address pool, or a local resolver), or set ORDINAL_DNS_POD_ADDRESS (or ORDINAL_ADDRESS_POOL) ' +
        "to a free address; or set ORDINAL_DNS_POD=disabled (sets then need 'isolation: none' in their process template)",
    ],
    [
      'port 53 without privileges',
      { need: need('DNS pod listener'), kind: 'privileged', protocols: ['udp', 'tcp'], unprivilegedPortStart: 1024 },
      'port 53 (DNS pod listener, ORDINAL_DNS_POD_PORT) on 127.77.255.254 needs privileges (ports below 1024): this user may not listen on ' +
        '127.77.255.254:53 (UDP and TCP). Fix: run as root, or let node bind it: sudo setcap cap_net_bind_service=+ep $(readlink -f $(which node)), ' +
        "or sudo sysctl net.ipv4.ip_unprivileged_port_start=53; or set ORDINAL_DNS_POD=disabled (sets then need 'isolation: none' in their process template)",
    ],
    [
      'a low API port without privileges',
      { need: portNeeds(config({ ORDINAL_API_PORT: '80' }), 'api', {})[0], kind: 'privileged', protocols: ['tcp'], unprivilegedPortStart: 1000 },
      'port 80 (API, ORDINAL_API_PORT) on 127.0.0.1 needs privileges (ports below 1000): this user may not listen on 127.0.0.1:80. ' +
        'Fix: run as root, or let node bind it: sudo setcap cap_net_bind_service=+ep $(readlink -f $(which node)), ' +
        'or sudo sysctl net.ipv4.ip_unprivileged_port_start=80; or set ORDINAL_API_PORT (--port) to a higher port',
    ],
    [
      'an address that is not this host’s',
      { need: portNeeds(config({ ORDINAL_API_HOST: '192.0.2.7' }), 'up', {})[0], kind: 'not-local', protocols: ['tcp'] },
      'port 7080 (API, ORDINAL_API_PORT) on 192.0.2.7 cannot be bound: 192.0.2.7 is not an address of this host; set ORDINAL_API_HOST to an address of this host',
    ],
    [
      'two listeners configured on one port',
      { need: need('Temporal UI'), kind: 'clash', protocols: ['tcp'], other: need('API') },
      'port 8233 (Temporal UI, ORDINAL_TEMPORAL_UI_PORT) on 127.0.0.1 is also the port of the API (ORDINAL_API_PORT) on 127.0.0.1: set one of them to another port',
    ],
    [
      'another error',
      { need: need('API'), kind: 'other', protocols: ['tcp'], detail: 'getaddrinfo ENOTFOUND nowhere' },
      'port 7080 (API, ORDINAL_API_PORT) on 127.0.0.1 cannot be bound: getaddrinfo ENOTFOUND nowhere',
    ],
  ])('%s', (_, conflict, line) => {
    expect(formatConflict(conflict)).toBe(line);
  });

  it('is one line for one conflict, a count and one indented line each for more', () => {
    const api: PortConflict = { need: need('API'), kind: 'in-use', protocols: ['tcp'], holders: { processes: [{ pid: 7, command: 'x' }], hiddenUsers: [] } };
    const ui: PortConflict = { need: need('Temporal UI'), kind: 'in-use', protocols: ['tcp'], holders: { processes: [{ pid: 8, command: 'y' }], hiddenUsers: [] } };
    expect(formatConflicts([api])).toBe(`cannot start: ${formatConflict(api)}`);
    expect(formatConflicts([api, ui])).toBe(`cannot start: 2 ports are not available:\n  ${formatConflict(api)}\n  ${formatConflict(ui)}`);
    const error = new PortConflictError([api, ui]);
    expect(error.name).toBe('PortConflictError');
    expect(error.message).toBe(formatConflicts([api, ui]));
  });

  it.each<[string | undefined, string]>([
    ['EADDRINUSE', 'in-use'],
    ['EACCES', 'privileged'],
    ['EPERM', 'privileged'],
    ['EADDRNOTAVAIL', 'not-local'],
    ['ENOTFOUND', 'other'],
    [undefined, 'other'],
  ])('error code %s is %s', (code, kind) => {
    expect(conflictKind(code)).toBe(kind);
  });

  it.each<[string, boolean, 'up' | 'worker', string]>([
    [
      'temporal.internal:7233',
      true,
      'worker',
      'cannot reach Temporal at temporal.internal:7233 (TEMPORAL_ADDRESS): Failed to connect before the deadline. Fix: start the Temporal server there, ' +
        'or set TEMPORAL_ADDRESS to one that runs (with TEMPORAL_NAMESPACE, and TEMPORAL_TLS or TEMPORAL_API_KEY if it needs them)',
    ],
    [
      '127.0.0.1:7233',
      false,
      'worker',
      'cannot reach Temporal at 127.0.0.1:7233 (TEMPORAL_ADDRESS is not set: the default): Failed to connect before the deadline. Fix: start a Temporal server ' +
        'there (e.g. "temporal server start-dev"), or set TEMPORAL_ADDRESS to one that runs (with TEMPORAL_NAMESPACE, and TEMPORAL_TLS or TEMPORAL_API_KEY if it needs them)',
    ],
    [
      'temporal.internal:7233',
      true,
      'up',
      'cannot reach Temporal at temporal.internal:7233 (TEMPORAL_ADDRESS): Failed to connect before the deadline. Fix: start the Temporal server there, ' +
        'or set TEMPORAL_ADDRESS to one that runs (with TEMPORAL_NAMESPACE, and TEMPORAL_TLS or TEMPORAL_API_KEY if it needs them), ' +
        'or unset TEMPORAL_ADDRESS and `ordinal up` starts its own',
    ],
  ])('an unreachable Temporal at %s (from the environment: %s) for %s', (address, fromEnv, command, message) => {
    const error = temporalUnreachableError(address, fromEnv, new Error('Failed to connect before the deadline\n    at somewhere'), command);
    expect(error.name).toBe('TemporalUnreachableError');
    expect(error.message).toBe(message);
  });
});

/** Probes and /proc answered from tables: `taken` maps 'host:port/protocol' to an error code. */
function fakeIo(taken: Record<string, string>): PreflightIo & { probes: string[]; lookups: string[] } {
  const probes: string[] = [];
  const lookups: string[] = [];
  return {
    probes,
    lookups,
    async probe(host, port, protocol) {
      const key = `${host}:${port}/${protocol}`;
      probes.push(key);
      const code = taken[key];
      return code ? Object.assign(new Error(`bind ${code} ${key}`), { code }) : undefined;
    },
    holders(host, port, protocols: Protocol[]) {
      lookups.push(`${host}:${port}/${protocols.join('+')}`);
      return { processes: [{ pid: port, command: `holder of ${port}` }], hiddenUids: [] };
    },
    userName: () => undefined,
    unprivilegedPortStart: () => 1024,
  };
}

describe('collecting the conflicts', () => {
  it('checks every port and protocol and reports every conflict, not just the first', async () => {
    const io = fakeIo({
      '127.0.0.1:7080/tcp': 'EADDRINUSE',
      '127.0.0.1:7053/udp': 'EADDRINUSE',
      '127.77.255.254:53/udp': 'EACCES',
      '127.77.255.254:53/tcp': 'EACCES',
      '127.0.0.1:8233/tcp': 'EADDRINUSE',
    });
    const conflicts = await findConflicts(needs, io);
    expect(io.probes).toEqual([
      '127.0.0.1:7080/tcp',
      '127.0.0.1:7053/udp',
      '127.0.0.1:7053/tcp',
      '127.77.255.254:53/udp',
      '127.77.255.254:53/tcp',
      '127.0.0.1:7081/tcp',
      '127.0.0.1:7233/tcp',
      '127.0.0.1:8233/tcp',
    ]);
    expect(conflicts.map((c) => [c.need.what, c.kind, c.protocols.join('+')])).toEqual([
      ['API', 'in-use', 'tcp'],
      ['DNS host listener', 'in-use', 'udp'],
      ['DNS pod listener', 'privileged', 'udp+tcp'],
      ['Temporal UI', 'in-use', 'tcp'],
    ]);
    // The holder is looked up for the protocols in use only.
    expect(io.lookups).toEqual(['127.0.0.1:7080/tcp', '127.0.0.1:7053/udp', '127.0.0.1:8233/tcp']);
    expect(formatConflicts(conflicts).split('\n')).toHaveLength(5);
    expect(formatConflicts(conflicts)).toContain('pid 7080 (holder of 7080)');
  });

  it('finds nothing when every port is free', async () => {
    expect(await findConflicts(needs, fakeIo({}))).toEqual([]);
  });

  it('reports listeners configured on one port, which each find it free alone', async () => {
    const env = { ORDINAL_API_PORT: '7233', ORDINAL_DNS_PORT: '8233', ORDINAL_DNS_POD_ADDRESS: '127.0.0.1', ORDINAL_DNS_POD_PORT: '7233' };
    const clashing = portNeeds(config(env), 'up', env);
    expect(clashes(clashing).map((c) => `${c.need.what} ${c.protocols.join('+')} = ${c.other!.what}`)).toEqual([
      'DNS pod listener tcp = API',
      'Temporal dev server tcp = API',
      'Temporal UI tcp = DNS host listener',
      'Temporal dev server tcp = DNS pod listener',
    ]);
    expect((await findConflicts(clashing, fakeIo({}))).map((c) => c.kind)).toEqual(['clash', 'clash', 'clash', 'clash']);
    // Other addresses, or other protocols, do not clash.
    const apart = { ORDINAL_API_HOST: '127.0.0.2', ORDINAL_API_PORT: '7233' };
    expect(clashes(portNeeds(config(apart), 'up', apart))).toEqual([]);
  });

  it('explains a start failure by checking again (the safety net for a port taken after the check)', async () => {
    const api = [need('API')];
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:7080'), { code: 'EADDRINUSE' });
    // Still held: named with its holder.
    const held = await explainStartFailure(inUse, api, fakeIo({ '127.0.0.1:7080/tcp': 'EADDRINUSE' }));
    expect(held).toBeInstanceOf(PortConflictError);
    expect((held as Error).message).toContain('is in use by pid 7080');
    // Free again by now: explained from the error's code.
    const gone = await explainStartFailure(inUse, api, fakeIo({}));
    expect((gone as PortConflictError).conflicts.map((c) => c.kind)).toEqual(['in-use']);
    // Anything else passes through.
    const other = new Error('temporal dev server exited before it was ready');
    expect(await explainStartFailure(other, needs.filter((n) => n.component === 'temporal'), fakeIo({}))).toBe(other);
  });
});

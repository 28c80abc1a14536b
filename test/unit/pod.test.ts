// The pure parts of a pod: the files it sees (as the kubelet writes them), the argv that makes it, and
// which users a worker can run it as.
import { describe, expect, it } from 'vitest';
import type { Template } from '../../core/manifest.js';
import { DriverError } from '../../activities/drivers/driver.js';
import { enterPod, hostSearchDomains, hostsFile, podLaunch, podUser, resolvConf, userSwitch, type PodSpec } from '../../activities/drivers/pod.js';

const identity = {
  set: 'redis',
  ordinal: 1,
  name: 'redis-1',
  dnsName: 'redis-1.redis.ordinal.internal',
  serviceDnsName: 'redis.ordinal.internal',
  dnsServer: '127.0.0.1:7053',
};

const spec: PodSpec = {
  identity,
  address: '127.77.0.9',
  dir: '/data/pods/redis-1/3',
  marker: 'abc/redis/1/3/rev',
  nameserver: '127.77.255.254',
  hostSearch: [],
  mounts: [],
  cwd: '/srv',
  env: {},
};

describe('hostsFile', () => {
  it('holds localhost, the instance address with its DNS name first (hostname -f), and the marker', () => {
    const lines = hostsFile(spec).split('\n');
    expect(lines).toContain('127.0.0.1\tlocalhost');
    expect(lines).toContain('::1\tlocalhost ip6-localhost ip6-loopback');
    expect(lines).toContain('127.77.0.9\tredis-1.redis.ordinal.internal\tredis-1');
    expect(lines).toContain('# ordinal-instance abc/redis/1/3/rev 127.77.0.9 /data/pods/redis-1/3');
  });
});

describe('resolvConf', () => {
  it.each([
    [[], 'search redis.ordinal.internal ordinal.internal'],
    [['corp.example'], 'search redis.ordinal.internal ordinal.internal corp.example'],
    [['ordinal.internal', 'corp.example'], 'search redis.ordinal.internal ordinal.internal corp.example'],
    // glibc reads at most 6 domains.
    [['a.x', 'b.x', 'c.x', 'd.x', 'e.x'], 'search redis.ordinal.internal ordinal.internal a.x b.x c.x d.x'],
  ])('host search %j -> %s', (hostSearch, search) => {
    expect(resolvConf({ ...spec, hostSearch })).toBe(`${search}\nnameserver 127.77.255.254\noptions ndots:5\n`);
  });
});

describe('hostSearchDomains', () => {
  it.each([
    ['nameserver 10.0.0.2\n', []],
    ['search a.example b.example\nnameserver 10.0.0.2\n', ['a.example', 'b.example']],
    ['domain corp.example\n', ['corp.example']],
    ['search a.example\nsearch b.example.\n', ['b.example']],
    ['search .\n', []],
  ])('%j -> %j', (text, domains) => expect(hostSearchDomains(text)).toEqual(domains));
});

describe('userSwitch', () => {
  it.each([
    ['root, no user', undefined, { mode: 'root' as const }, []],
    ['root, a user', { uid: 999, gid: 998, groups: [] }, { mode: 'root' as const }, ['setpriv', '--reuid=999', '--regid=998', '--clear-groups', '--inh-caps=-all', '--']],
    ['root, fsGroup', { uid: 999, gid: 998, groups: [2000] }, { mode: 'root' as const }, ['setpriv', '--reuid=999', '--regid=998', '--groups=2000', '--inh-caps=-all', '--']],
    ['rootless drops the namespace capabilities', undefined, { mode: 'rootless' as const, uid: 1000, gid: 1000 }, ['setpriv', '--inh-caps=-all', '--']],
  ])('%s', (_, user, privileges, argv) => expect(userSwitch(user, privileges)).toEqual(argv));
});

describe('podLaunch', () => {
  it('unshares UTS and mount namespaces, passes mounts as arguments, switches user last', () => {
    const argv = podLaunch(
      { ...spec, mounts: [{ source: '/v/data-redis-1', target: '/data', readOnly: false }, { source: '/v/conf', target: '/etc/redis', readOnly: true }] },
      ['redis-server', '--dir', '/data'],
      { mode: 'root' },
    );
    expect(argv.slice(0, 6)).toEqual(['unshare', '--uts', '--mount', '--propagation', 'private', '--']);
    const script = argv.indexOf('ordinal-pod');
    expect(argv.slice(script)).toEqual([
      'ordinal-pod', '/data/pods/redis-1/3', 'redis-1',
      '/v/data-redis-1', '/data', 'rw', '/v/conf', '/etc/redis', 'ro',
      '--', 'redis-server', '--dir', '/data',
    ]);
  });

  it('maps the worker user into a user namespace of its own without root', () => {
    const argv = podLaunch(spec, ['true'], { mode: 'rootless', uid: 1000, gid: 100 });
    expect(argv.slice(0, 4)).toEqual(['unshare', '--map-user=1000', '--map-group=100', '--keep-caps']);
    expect(argv.slice(-4)).toEqual(['setpriv', '--inh-caps=-all', '--', 'true']);
  });
});

describe('enterPod', () => {
  it('enters the namespaces and directory, then the user', () => {
    expect(enterPod(42, { env: {}, cwd: '/srv', user: { uid: 7, gid: 7, groups: [] }, rootless: false })).toEqual([
      'nsenter', '-t', '42', '--uts', '--mount', '--wd=/srv', '--',
      'setpriv', '--reuid=7', '--regid=7', '--clear-groups', '--inh-caps=-all', '--',
    ]);
    expect(enterPod(42, { env: {}, cwd: '/', rootless: true }).slice(0, 5)).toEqual(['nsenter', '-t', '42', '--user', '--preserve-credentials']);
  });
});

describe('podUser', () => {
  const template = (securityContext?: Template['securityContext']) => ({ securityContext }) as Template;

  it.each([
    ['no securityContext keeps the worker user', undefined, undefined],
    ['runAsUser alone: its own group, as the id', { runAsUser: 999 }, { uid: 999, gid: 999, groups: [] }],
    ['user, group and fsGroup', { runAsUser: 999, runAsGroup: 50, fsGroup: 2000 }, { uid: 999, gid: 50, groups: [2000] }],
    ['fsGroup alone: root keeps its ids', { fsGroup: 2000 }, { uid: 0, gid: 0, groups: [2000] }],
  ])('as root: %s', (_, context, user) => expect(podUser(template(context), { mode: 'root' }, 'redis-1')).toEqual(user));

  it('without root, runs only as the worker user, and says why otherwise', () => {
    const rootless = { mode: 'rootless' as const, uid: 1000, gid: 1000 };
    expect(podUser(template({ runAsUser: 1000 }), rootless, 'redis-1')).toEqual({ uid: 1000, gid: 1000, groups: [] });
    const error = (() => {
      try {
        podUser(template({ runAsUser: 999 }), rootless, 'redis-1');
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(DriverError);
    expect((error as DriverError).retryable).toBe(false);
    expect((error as DriverError).message).toMatch(/^redis-1: securityContext asks for uid 999.*worker runs as uid 1000.*run the worker as root/);
  });
});

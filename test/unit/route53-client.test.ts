// The Route 53 client's own logic against a fake SDK: finding a zone in a listing that starts from a
// name, isolating rejected changes, retrying throttling, waiting for INSYNC, translating errors.
import type { Route53Client } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { Route53, Route53Error, translateError } from '../../activities/dns/route53/client.js';
import type { ChangeGroup } from '../../activities/dns/route53/plan.js';

type Handler = (input: Record<string, any>, command: string) => unknown;

/** A Route53 whose SDK answers with `handler(input, commandName)`; records every call. */
function fake(handler: Handler, options: ConstructorParameters<typeof Route53>[1] = {}) {
  const calls: Array<{ command: string; input: Record<string, any> }> = [];
  const sdk = {
    async send(command: { input: Record<string, any>; constructor: { name: string } }) {
      const name = command.constructor.name.replace(/Command$/, '');
      calls.push({ command: name, input: command.input });
      return handler(command.input, name);
    },
  } as unknown as Route53Client;
  return { route53: new Route53(sdk, { retry: { baseMs: 1, maxMs: 2, deadlineMs: 5_000 }, poll: { initialMs: 1, maxMs: 2 }, ...options }), calls };
}

function awsError(name: string, message: string, status = 400, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status }, ...extra });
}

function zone(name: string, id: string, isPrivate = false) {
  return { Id: `/hostedzone/${id}`, Name: `${name}.`, Config: { PrivateZone: isPrivate } };
}

describe('findHostedZone: ListHostedZonesByName lists from a name, it does not filter', () => {
  /** All zones in Route 53's order (reversed labels); pages of `pageSize` from DNSName/HostedZoneId. */
  function listing(zones: ReturnType<typeof zone>[], pageSize: number): Handler {
    const key = (name: string) => name.replace(/\.$/, '').split('.').reverse().join('.');
    const sorted = [...zones].sort((a, b) => (key(a.Name) < key(b.Name) ? -1 : key(a.Name) > key(b.Name) ? 1 : a.Id < b.Id ? -1 : 1));
    return (input) => {
      let start = sorted.findIndex((z) => key(z.Name) >= key(input.DNSName));
      if (input.HostedZoneId) start = sorted.findIndex((z) => z.Id.endsWith(input.HostedZoneId));
      if (start < 0) start = sorted.length;
      const page = sorted.slice(start, start + pageSize);
      const next = sorted[start + pageSize];
      return { HostedZones: page, IsTruncated: next !== undefined, NextDNSName: next?.Name, NextHostedZoneId: next?.Id.replace('/hostedzone/', '') };
    };
  }

  const zones = [
    zone('a.internal', 'ZA'),
    zone('example.internal', 'ZPUB'),
    zone('example.internal', 'ZPRIV', true),
    zone('sub.example.internal', 'ZSUB'),
    zone('other.internal', 'ZOTHER'),
    zone('z.internal', 'ZZ'),
  ];

  for (const pageSize of [1, 2, 100]) {
    it(`chooses by dns.private and stops at the first other name (pages of ${pageSize})`, async () => {
      const { route53, calls } = fake(listing(zones, pageSize));
      expect(await route53.findHostedZone({ zone: 'example.internal', private: true })).toEqual({ id: 'ZPRIV', name: 'example.internal', private: true });
      expect(await route53.findHostedZone({ zone: 'example.internal', private: false })).toEqual({ id: 'ZPUB', name: 'example.internal', private: false });
      // Never more pages than it takes to pass the name.
      expect(calls.length).toBeLessThanOrEqual(2 * (Math.ceil(3 / pageSize) + 1));
      await expect(route53.findHostedZone({ zone: 'example.internal' })).rejects.toMatchObject({ code: 'HostedZoneAmbiguous' });
    });
  }

  it('does not take the next zone in the listing for the one asked for', async () => {
    const { route53 } = fake(listing(zones, 100));
    await expect(route53.findHostedZone({ zone: 'b.internal' })).rejects.toMatchObject({ code: 'HostedZoneNotFound', message: 'no hosted zone named b.internal' });
    await expect(route53.findHostedZone({ zone: 'other.internal', private: true })).rejects.toMatchObject({
      code: 'HostedZoneNotFound',
      hint: expect.stringContaining('public zone with this name (ZOTHER): fix dns.private'),
    });
  });
});

describe('applyBatch: one bad change never blocks the others', () => {
  function group(name: string): ChangeGroup {
    return {
      set: 'web',
      name,
      type: 'A',
      kind: 'create',
      description: name,
      changes: [
        { Action: 'CREATE', ResourceRecordSet: { Name: `${name}.`, Type: 'A', TTL: 5, ResourceRecords: [{ Value: '10.0.0.1' }] } },
        { Action: 'CREATE', ResourceRecordSet: { Name: `_ordinal-a.${name}.`, Type: 'TXT', TTL: 5, ResourceRecords: [{ Value: '"x"' }] } },
      ],
    };
  }
  const groups = Array.from({ length: 8 }, (_, i) => group(`n${i}.example.internal`));

  /** Rejects any batch holding a bad name; `named`: with Route 53's message naming it. */
  function rejecting(bad: string[], named: boolean): Handler {
    return (input) => {
      const names: string[] = input.ChangeBatch.Changes.map((c: any) => c.ResourceRecordSet.Name);
      const hits = bad.filter((b) => names.includes(`${b}.`) || names.includes(`_ordinal-a.${b}.`));
      if (hits.length === 0) return { ChangeInfo: { Id: `/change/C${names.length}`, Status: 'PENDING' } };
      const message = named ? `[${hits.map((h) => `Tried to create resource record set [name='${h}.', type='A'] but it already exists`).join(', ')}]` : 'Invalid request';
      throw awsError(named ? 'InvalidChangeBatch' : 'InvalidInput', message);
    };
  }

  it('sets aside what Route 53 names and applies the rest in one more call', async () => {
    const { route53, calls } = fake(rejecting(['n2.example.internal', 'n5.example.internal'], true));
    const outcome = await route53.applyBatch('/hostedzone/Z1', groups);
    expect(outcome.failed.map((f) => [f.group.name, f.code, f.message])).toEqual([
      ['n2.example.internal', 'InvalidChangeBatch', "Tried to create resource record set [name='n2.example.internal.', type='A'] but it already exists"],
      ['n5.example.internal', 'InvalidChangeBatch', "Tried to create resource record set [name='n5.example.internal.', type='A'] but it already exists"],
    ]);
    expect(outcome.applied.flatMap((a) => a.groups.map((g) => g.name))).toEqual(groups.map((g) => g.name).filter((n) => n !== 'n2.example.internal' && n !== 'n5.example.internal'));
    expect(calls).toHaveLength(2);
    expect(calls[0].input.HostedZoneId).toBe('Z1');
  });

  it('bisects when Route 53 names nothing, keeping each record with its TXT', async () => {
    const { route53, calls } = fake(rejecting(['n6.example.internal'], false));
    const outcome = await route53.applyBatch('Z1', groups);
    expect(outcome.failed.map((f) => f.group.name)).toEqual(['n6.example.internal']);
    expect(outcome.applied.flatMap((a) => a.groups)).toHaveLength(7);
    expect(calls.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(groups.length)));
    for (const call of calls) {
      const names: string[] = call.input.ChangeBatch.Changes.map((c: any) => c.ResourceRecordSet.Name);
      for (const n of names.filter((x) => !x.startsWith('_ordinal-'))) expect(names).toContain(`_ordinal-a.${n}`);
    }
  });

  it('throws anything else, so nothing of the batch is lost', async () => {
    const { route53 } = fake(() => {
      throw awsError('AccessDenied', 'not authorized', 403);
    });
    await expect(route53.applyBatch('Z1', groups)).rejects.toMatchObject({ code: 'AccessDenied', retryable: false });
  });
});

describe('retries', () => {
  for (const code of ['Throttling', 'ThrottlingException', 'PriorRequestNotComplete']) {
    it(`retries ${code} with growing, jittered pauses`, async () => {
      let n = 0;
      const retries: number[] = [];
      const { route53 } = fake(
        () => {
          if (++n <= 4) throw awsError(code, code === 'Throttling' ? 'Rate exceeded' : 'busy');
          return { ResourceRecordSets: [], IsTruncated: false };
        },
        { retry: { baseMs: 4, maxMs: 16, deadlineMs: 5_000 }, onRetry: (i) => retries.push(i.delayMs) },
      );
      expect(await route53.listRecordSets('Z1')).toEqual([]);
      expect(retries).toHaveLength(4);
      retries.forEach((delay, i) => {
        const cap = Math.min(16, 4 * 2 ** i);
        expect(delay).toBeGreaterThanOrEqual(cap / 2);
        expect(delay).toBeLessThanOrEqual(cap);
      });
    });
  }

  it('reports every request with its operation and outcome, for metrics', async () => {
    let n = 0;
    const requests: string[] = [];
    const { route53 } = fake(
      () => {
        n++;
        if (n === 1) throw awsError('Throttling', 'Rate exceeded');
        if (n === 2) throw awsError('Unknown', 'Rate exceeded', 400);
        if (n === 3) throw awsError('InternalFailure', 'oops', 500);
        return { ResourceRecordSets: [], IsTruncated: false };
      },
      { retry: { baseMs: 1, maxMs: 2, deadlineMs: 5_000 }, onRequest: (i) => requests.push(`${i.operation} ${i.outcome}`) },
    );
    expect(await route53.listRecordSets('Z1')).toEqual([]);
    expect(requests).toEqual([
      'ListResourceRecordSets throttled',
      'ListResourceRecordSets throttled',
      'ListResourceRecordSets error',
      'ListResourceRecordSets ok',
    ]);
  });

  it('an HTTP 400 "Rate exceeded" under another code is throttling too', () => {
    expect(translateError(awsError('Unknown', 'Rate exceeded', 400)).retryable).toBe(true);
  });

  it('gives up at the deadline with a retryable error (the caller retries later)', async () => {
    const { route53 } = fake(
      () => {
        throw awsError('Throttling', 'Rate exceeded');
      },
      { retry: { baseMs: 5, maxMs: 5, deadlineMs: 30 } },
    );
    await expect(route53.listRecordSets('Z1')).rejects.toMatchObject({ code: 'Throttling', retryable: true, message: expect.stringMatching(/still failing after \d+ attempts/) });
  });

  it('does not retry what waiting cannot fix', async () => {
    let n = 0;
    const { route53 } = fake(() => {
      n++;
      throw awsError('NoSuchHostedZone', 'No hosted zone found with ID: Z1', 404);
    });
    await expect(route53.listRecordSets('Z1')).rejects.toMatchObject({ code: 'NoSuchHostedZone' });
    expect(n).toBe(1);
  });

  it('lists every page', async () => {
    const { route53, calls } = fake((input) =>
      input.StartRecordName === undefined
        ? { ResourceRecordSets: [{ Name: 'a.' }], IsTruncated: true, NextRecordName: 'b.', NextRecordType: 'A' }
        : { ResourceRecordSets: [{ Name: 'b.' }], IsTruncated: false },
    );
    expect((await route53.listRecordSets('Z1')).map((r) => r.Name)).toEqual(['a.', 'b.']);
    expect(calls[1].input).toMatchObject({ StartRecordName: 'b.', StartRecordType: 'A' });
  });
});

describe('waitInSync', () => {
  it('polls until every change is INSYNC', async () => {
    const polls = new Map<string, number>();
    const { route53 } = fake((input) => {
      const n = (polls.get(input.Id) ?? 0) + 1;
      polls.set(input.Id, n);
      return { ChangeInfo: { Id: `/change/${input.Id}`, Status: n >= (input.Id === 'C1' ? 2 : 4) ? 'INSYNC' : 'PENDING' } };
    });
    expect(await route53.waitInSync(['/change/C1', 'C2'], Date.now() + 5_000)).toEqual({ C1: 'INSYNC', C2: 'INSYNC' });
    expect(polls.get('C1')).toBe(2); // not polled once INSYNC
  });

  it('reports PENDING what is not INSYNC by the deadline', async () => {
    const { route53 } = fake(() => ({ ChangeInfo: { Status: 'PENDING' } }));
    expect(await route53.waitInSync(['C1'], Date.now() + 20)).toEqual({ C1: 'PENDING' });
  });
});

describe('translateError', () => {
  const cases: Array<{ error: unknown; code: string; retryable: boolean; hint: RegExp }> = [
    { error: Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), code: 'CredentialsProviderError', retryable: false, hint: /AWS_ACCESS_KEY_ID/ },
    { error: awsError('AccessDenied', 'User is not authorized', 403), code: 'AccessDenied', retryable: false, hint: /route53:ChangeResourceRecordSets/ },
    { error: awsError('NoSuchHostedZone', 'No hosted zone found', 404), code: 'NoSuchHostedZone', retryable: false, hint: /dns\.hostedZoneId/ },
    { error: awsError('InvalidClientTokenId', 'The security token included in the request is invalid', 403), code: 'InvalidClientTokenId', retryable: false, hint: /not valid/ },
    { error: awsError('SignatureDoesNotMatch', 'signature', 403), code: 'SignatureDoesNotMatch', retryable: false, hint: /not valid/ },
    { error: awsError('ExpiredToken', 'expired', 403), code: 'ExpiredToken', retryable: false, hint: /expired/ },
    { error: awsError('Throttling', 'Rate exceeded'), code: 'Throttling', retryable: true, hint: /retries/ },
    { error: awsError('PriorRequestNotComplete', 'busy'), code: 'PriorRequestNotComplete', retryable: true, hint: /retries/ },
    { error: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), code: 'ECONNREFUSED', retryable: true, hint: /AWS_ENDPOINT_URL_ROUTE_53/ },
    { error: awsError('InternalFailure', 'oops', 500), code: 'InternalFailure', retryable: true, hint: /internal error/ },
    { error: awsError('ServiceUnavailable', 'down', 503), code: 'ServiceUnavailable', retryable: true, hint: /internal error/ },
    { error: awsError('InvalidChangeBatch', '[a, B]'), code: 'InvalidChangeBatch', retryable: false, hint: /rejected/ },
  ];
  for (const c of cases) {
    it(`${c.code}${c.retryable ? ' (retried)' : ''}`, () => {
      const error = translateError(c.error);
      expect(error).toBeInstanceOf(Route53Error);
      expect(error.code).toBe(c.code);
      expect(error.retryable).toBe(c.retryable);
      expect(error.hint).toMatch(c.hint);
    });
  }

  it("splits Route 53's bracketed list of problems", () => {
    const error = translateError(awsError('InvalidChangeBatch', "[Tried to delete resource record set [name='a.', type='A'] but it was not found, Tried to create resource record set [name='b.', type='A'] but it already exists]"));
    expect(error.messages).toEqual([
      "Tried to delete resource record set [name='a.', type='A'] but it was not found",
      "Tried to create resource record set [name='b.', type='A'] but it already exists",
    ]);
  });
});

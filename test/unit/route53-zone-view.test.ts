// What a worker keeps of a zone between flushes: the records as the last flush left them, handed out
// once and only under the key the publisher names.
import { describe, expect, it } from 'vitest';
import { ZoneViews, withChanges } from '../../activities/dns/route53/zone-view.js';

const a = (name: string, value: string, ttl = 5) => ({ Name: name, Type: 'A' as const, TTL: ttl, ResourceRecords: [{ Value: value }] });

describe('ZoneViews', () => {
  it('hands a view out once, and only under its key', () => {
    const views = new ZoneViews();
    views.store('Z1', 'k1', [a('x.example.', '10.0.0.1')]);
    expect(views.take('Z1', 'other')).toBeUndefined();
    // A wrong key still removes the view: whoever asked next lists the zone.
    expect(views.take('Z1', 'k1')).toBeUndefined();
    views.store('Z1', 'k2', [a('x.example.', '10.0.0.1')]);
    expect(views.take('Z1', 'k2')).toEqual([a('x.example.', '10.0.0.1')]);
    expect(views.take('Z1', 'k2')).toBeUndefined();
    expect(views.take('Z2', undefined)).toBeUndefined();
  });
});

describe('withChanges', () => {
  it('applies creates, upserts and deletes by name and type, whatever the trailing dot and case', () => {
    const zone = [a('x.example.', '10.0.0.1'), a('y.example.', '10.0.0.2'), { ...a('w.example.', '10.0.0.9'), SetIdentifier: 'blue' }];
    const after = withChanges(zone, [
      { Action: 'UPSERT', ResourceRecordSet: a('X.example', '10.0.0.3') },
      { Action: 'DELETE', ResourceRecordSet: a('y.example.', '10.0.0.2') },
      { Action: 'CREATE', ResourceRecordSet: a('z.example.', '10.0.0.4') },
      { Action: 'CREATE', ResourceRecordSet: a('w.example.', '10.0.0.5') },
    ]);
    expect(after).toEqual([a('X.example', '10.0.0.3'), { ...a('w.example.', '10.0.0.9'), SetIdentifier: 'blue' }, a('w.example.', '10.0.0.5'), a('z.example.', '10.0.0.4')]);
  });
});

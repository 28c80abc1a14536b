// ORDINAL_TEMPORAL_UI_URL: where the dashboard links each set's workflow; unset means no link, and a
// value that is not an http(s) URL is refused at start with the variable's name.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config.js';

const load = (env: Record<string, string>) => loadConfig(env, '/tmp', () => '');

describe('ORDINAL_TEMPORAL_UI_URL', () => {
  it('is undefined unless set', () => {
    expect(load({}).temporal.uiUrl).toBeUndefined();
  });

  it('takes an http(s) URL, without its trailing slash', () => {
    expect(load({ ORDINAL_TEMPORAL_UI_URL: 'http://127.0.0.1:8233/' }).temporal.uiUrl).toBe('http://127.0.0.1:8233');
    expect(load({ ORDINAL_TEMPORAL_UI_URL: 'https://cloud.temporal.io' }).temporal.uiUrl).toBe('https://cloud.temporal.io');
  });

  it('refuses anything else, naming the variable', () => {
    expect(() => load({ ORDINAL_TEMPORAL_UI_URL: 'javascript:alert(1)' })).toThrow(/ORDINAL_TEMPORAL_UI_URL must be an http\(s\) URL/);
    expect(() => load({ ORDINAL_TEMPORAL_UI_URL: '127.0.0.1:8233' })).toThrow(/ORDINAL_TEMPORAL_UI_URL/);
  });
});

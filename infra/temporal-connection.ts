// Connection options for Temporal from the standard environment variables the Temporal CLI reads,
// so the worker, the API and `temporal` itself all point at the same server (local, self-hosted or
// Temporal Cloud): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
// TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH,
// TEMPORAL_TLS_SERVER_NAME, and the PEM contents themselves instead of paths,
// TEMPORAL_TLS_CLIENT_CERT_DATA, TEMPORAL_TLS_CLIENT_KEY_DATA, TEMPORAL_TLS_SERVER_CA_CERT_DATA (what a
// container gets from a secrets store, e.g. ECS secrets from AWS Secrets Manager).
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { OrdinalConfig } from './config.js';

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

export function temporalConnectionOptions(config: OrdinalConfig, env: NodeJS.ProcessEnv = process.env): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: config.temporal.address };
  const cert = pem(env, 'TEMPORAL_TLS_CLIENT_CERT');
  const key = pem(env, 'TEMPORAL_TLS_CLIENT_KEY');
  const ca = pem(env, 'TEMPORAL_TLS_SERVER_CA_CERT');
  if (Boolean(cert) !== Boolean(key)) {
    throw new Error('TEMPORAL_TLS_CLIENT_CERT_PATH (or _DATA) and TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA) must be set together');
  }
  const tlsWanted = env.TEMPORAL_TLS === 'true' || Boolean(cert) || Boolean(ca) || Boolean(env.TEMPORAL_API_KEY);
  if (tlsWanted && env.TEMPORAL_TLS !== 'false') {
    const tls: TLSConfig = {};
    if (cert && key) tls.clientCertPair = { crt: cert(), key: key() };
    if (ca) tls.serverRootCACertificate = ca();
    if (env.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = env.TEMPORAL_TLS_SERVER_NAME;
    options.tls = Object.keys(tls).length > 0 ? tls : true;
  }
  if (env.TEMPORAL_API_KEY) options.apiKey = env.TEMPORAL_API_KEY;
  return options;
}

/** A PEM from <prefix>_PATH (a file) or <prefix>_DATA (the text itself), not both; undefined when neither is set. */
function pem(env: NodeJS.ProcessEnv, prefix: string): (() => Buffer) | undefined {
  const file = env[`${prefix}_PATH`];
  const data = env[`${prefix}_DATA`];
  if (file && data) throw new Error(`set ${prefix}_PATH or ${prefix}_DATA, not both`);
  if (file) return () => readFileSync(file);
  if (data) return () => Buffer.from(data, 'utf8');
  return undefined;
}

// Connection options for Temporal from the standard environment variables the Temporal CLI reads,
// so the worker, the API and `temporal` itself all point at the same server (local, self-hosted or
// Temporal Cloud): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
// TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH,
// TEMPORAL_TLS_SERVER_NAME.
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
  const certPath = env.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const keyPath = env.TEMPORAL_TLS_CLIENT_KEY_PATH;
  const caPath = env.TEMPORAL_TLS_SERVER_CA_CERT_PATH;
  if (Boolean(certPath) !== Boolean(keyPath)) {
    throw new Error('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together');
  }
  const tlsWanted = env.TEMPORAL_TLS === 'true' || Boolean(certPath) || Boolean(caPath) || Boolean(env.TEMPORAL_API_KEY);
  if (tlsWanted && env.TEMPORAL_TLS !== 'false') {
    const tls: TLSConfig = {};
    if (certPath && keyPath) tls.clientCertPair = { crt: readFileSync(certPath), key: readFileSync(keyPath) };
    if (caPath) tls.serverRootCACertificate = readFileSync(caPath);
    if (env.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = env.TEMPORAL_TLS_SERVER_NAME;
    options.tls = Object.keys(tls).length > 0 ? tls : true;
  }
  if (env.TEMPORAL_API_KEY) options.apiKey = env.TEMPORAL_API_KEY;
  return options;
}

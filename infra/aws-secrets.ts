// Secrets from AWS Secrets Manager, for Ordinal on AWS (infra/cdk/): the Temporal credentials and the
// API's token records. Read with the standard AWS configuration (credential chain, AWS_REGION, and
// AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL for another endpoint).
//
// The Temporal secret is a JSON object whose keys are the Temporal CLI's variables, so one secret
// serves the worker on Fargate (ECS injects each key as the variable of the same name) and the API on
// Lambda (which reads it at cold start) alike:
//   {"TEMPORAL_API_KEY": "..."}                                                   (API key)
//   {"TEMPORAL_TLS_CLIENT_CERT_DATA": "-----BEGIN ...", "TEMPORAL_TLS_CLIENT_KEY_DATA": "-----BEGIN ..."}  (mTLS)
// optionally with TEMPORAL_TLS_SERVER_CA_CERT_DATA and TEMPORAL_TLS_SERVER_NAME. A secret that is not a
// JSON object is taken as an API key.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The keys a Temporal secret may hold: the variables infra/temporal-connection.ts reads. */
export const TEMPORAL_SECRET_KEYS = [
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
] as const;
export type TemporalSecretKey = (typeof TEMPORAL_SECRET_KEYS)[number];

/** Reads a secret's string value by ARN or name. */
export type ReadSecret = (secretId: string) => Promise<string>;

let client: SecretsManagerClient | undefined;

/** The secret's SecretString, through the standard AWS configuration. */
export const readSecret: ReadSecret = async (secretId) => {
  client ??= new SecretsManagerClient({});
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (SecretString === undefined) throw new Error(`the secret ${secretId} has no string value (binary secrets are not supported)`);
  return SecretString;
};

/** The Temporal variables a secret holds (see the top of this file); unknown keys are refused, naming them. */
export function temporalEnvFromSecret(text: string, secretId: string): Partial<Record<TemporalSecretKey, string>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const key = text.trim();
    if (key === '') throw new Error(`the Temporal secret ${secretId} is empty`);
    return { TEMPORAL_API_KEY: key };
  }
  const env: Partial<Record<TemporalSecretKey, string>> = {};
  const unknown: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (!(TEMPORAL_SECRET_KEYS as readonly string[]).includes(key)) unknown.push(key);
    else if (typeof v !== 'string') throw new Error(`the Temporal secret ${secretId}: ${key} must be a string`);
    else env[key as TemporalSecretKey] = v;
  }
  if (unknown.length > 0) {
    throw new Error(`the Temporal secret ${secretId} has unknown keys ${unknown.join(', ')}; it may hold ${TEMPORAL_SECRET_KEYS.join(', ')}`);
  }
  if (!env.TEMPORAL_API_KEY && !(env.TEMPORAL_TLS_CLIENT_CERT_DATA && env.TEMPORAL_TLS_CLIENT_KEY_DATA)) {
    throw new Error(
      `the Temporal secret ${secretId} holds neither TEMPORAL_API_KEY nor TEMPORAL_TLS_CLIENT_CERT_DATA with TEMPORAL_TLS_CLIENT_KEY_DATA`,
    );
  }
  return env;
}

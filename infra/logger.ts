// One structured logger for every component: JSON lines, level from ORDINAL_LOG_LEVEL (default info),
// on stderr; `ordinal up` sends them to a file instead so the terminal shows only what people need.
// The Temporal SDK's own logs (worker, workflows, the Rust core) go through the same logger.
import { createRequire } from 'node:module';
import pino from 'pino';
import type { LogLevel } from '@temporalio/worker';

// @temporalio/worker (its native core and webpack) is loaded only by installTemporalLogging, i.e. by
// workers: the API, the CLI and the API's Lambda bundle (api/lambda.ts) never load it.
const requireWorker = createRequire(import.meta.url);

function create(destination: pino.DestinationStream): pino.Logger {
  return pino({ level: process.env.ORDINAL_LOG_LEVEL || 'info', base: { pid: process.pid } }, destination);
}

/** Live binding: modules that log read it when they log, so logToFile() reaches them all. */
export let logger: pino.Logger = create(pino.destination({ dest: 2, sync: true }));

export type Logger = pino.Logger;

/** Sends every log line to `file` (created with its folder) from now on. */
export function logToFile(file: string): void {
  logger = create(pino.destination({ dest: file, mkdir: true, sync: true }));
}

let runtimeInstalled = false;

/**
 * Routes the Temporal SDK's logs into ours; must run before the first worker connection. With
 * `prometheusBindAddress` the SDK also serves its worker metrics there (Prometheus text at /metrics).
 * Once per process: returns false when it had already run (then without the metrics asked for now).
 */
export function installTemporalLogging(options: { prometheusBindAddress?: string; histogramBuckets?: Record<string, number[]> } = {}): boolean {
  if (runtimeInstalled) return false;
  runtimeInstalled = true;
  const { DefaultLogger, Runtime, makeTelemetryFilterString } = requireWorker('@temporalio/worker') as typeof import('@temporalio/worker');
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace',
    DEBUG: 'debug',
    INFO: 'info',
    WARN: 'warn',
    ERROR: 'error',
  };
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) => {
      // A watch still running when its set's workflow ends (deleted, or continued as new) completes
      // into nothing: expected, and no reason for a warning.
      const level = entry.message.startsWith('Activity not found on completion') ? 'debug' : levels[entry.level];
      logger[level]({ component: 'temporal', ...entry.meta }, entry.message);
    }),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) },
      ...(options.prometheusBindAddress
        ? {
            metrics: {
              prometheus: {
                bindAddress: options.prometheusBindAddress,
                countersTotalSuffix: true,
                useSecondsForDurations: true,
                unitSuffix: true,
                ...(options.histogramBuckets ? { histogramBucketOverrides: options.histogramBuckets } : {}),
              },
            },
          }
        : {}),
    },
  });
  return true;
}

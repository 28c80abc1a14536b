// One structured logger for every component: JSON lines on stderr, level from ORDINAL_LOG_LEVEL.
import pino from 'pino';

export const logger = pino(
  { level: process.env.ORDINAL_LOG_LEVEL || 'info', base: { pid: process.pid } },
  pino.destination({ dest: 2, sync: true }),
);

export type Logger = pino.Logger;

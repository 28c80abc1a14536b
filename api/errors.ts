// The API's one error shape, and the mapping from everything that can go wrong to it:
// {"error": {"code": "...", "message": "...", "details": [{"path": "spec.replicas", "message": "..."}]}}
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { toFieldIssues, type FieldIssue } from '../core/manifest.js';
import { SetError, type SetErrorCode } from './sets.js';

export const ERROR_STATUS = {
  InvalidManifest: 400,
  BadRequest: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Internal: 500,
  NotImplemented: 501,
  Unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: FieldIssue[] };
}

/** An error a handler throws to answer with the error shape; the app's onError renders it. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: FieldIssue[] = [],
    /** Extra response headers, e.g. Allow on a 405. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }
}

export function errorBody(code: ErrorCode, message: string, details: FieldIssue[] = []): ErrorBody {
  return { error: { code, message, details } };
}

export function errorResponse(c: Context, error: ApiError): Response {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json(errorBody(error.code, error.message, error.details), error.status);
}

// SetError codes are already API codes; the satisfies keeps it so if either list changes.
const SET_ERROR_CODES = {
  InvalidManifest: 'InvalidManifest',
  BadRequest: 'BadRequest',
  Conflict: 'Conflict',
  NotFound: 'NotFound',
  Unavailable: 'Unavailable',
} as const satisfies Record<SetErrorCode, ErrorCode>;

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'BadRequest',
  401: 'Unauthenticated',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  503: 'Unavailable',
};

/**
 * Classifies any thrown value: ApiError and SetError carry their code; hono's HTTPException carries
 * a status; anything else is a bug or an outage, so undefined (the caller answers 500 and logs it).
 */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof SetError) return new ApiError(SET_ERROR_CODES[err.code], err.message, err.details);
  if (err instanceof HTTPException) {
    const code = STATUS_CODES[err.status] ?? (err.status < 500 ? 'BadRequest' : undefined);
    if (code) return new ApiError(code, err.message || defaultMessage(code));
  }
  return undefined;
}

function defaultMessage(code: ErrorCode): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

const TARGET_NAMES: Record<string, string> = {
  param: 'path parameter',
  header: 'header',
  query: 'query parameter',
  json: 'body',
};

/** zod-openapi's defaultHook: request validation failures in the error shape, naming each field. */
export function validationHook(result: { target: string; success: boolean; error?: z.ZodError }, c: Context): Response | undefined {
  if (result.success || !result.error) return undefined;
  const details = toFieldIssues(result.error);
  const fields = [...new Set(details.map((d) => d.path).filter((p) => p !== ''))];
  const what = TARGET_NAMES[result.target] ?? result.target;
  const message = fields.length > 0 ? `invalid ${what} ${fields.map((f) => `'${f}'`).join(', ')}` : `invalid ${what}`;
  return errorResponse(c, new ApiError('BadRequest', message, details));
}


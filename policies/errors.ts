// The one registry of error codes a client or operator can see. Every error that leaves the
// gateway is an RFC 9457 problem built from an entry here; anything else becomes GW_INTERNAL
// with no detail. docs/errors.md lists the same codes, and errors.test.ts checks both ways.

export interface ErrorDef {
  readonly code: string;
  readonly status: number;
  readonly title: string;
}

const registry = new Map<string, ErrorDef>();

function defineError<C extends string>(code: C, status: number, title: string): ErrorDef & { code: C } {
  if (registry.has(code)) throw new Error(`duplicate error code ${code}`);
  const def = Object.freeze({ code, status, title });
  registry.set(code, def);
  return def;
}

export const Errors = {
  GW_INTERNAL: defineError('GW_INTERNAL', 500, 'Internal error'),
  GW_NOT_FOUND: defineError('GW_NOT_FOUND', 404, 'No route matches this path'),
  GW_METHOD_NOT_ALLOWED: defineError('GW_METHOD_NOT_ALLOWED', 405, 'Method not allowed on this path'),
  GW_VERSION_GONE: defineError('GW_VERSION_GONE', 410, 'This API version has been retired'),
  GW_PATH_INVALID: defineError('GW_PATH_INVALID', 400, 'The request path is not acceptable'),
  GW_AUTH_REQUIRED: defineError('GW_AUTH_REQUIRED', 401, 'Valid credentials are required'),
  GW_AUTH_FORBIDDEN: defineError('GW_AUTH_FORBIDDEN', 403, 'The credential does not allow this call'),
  GW_AUTH_INSUFFICIENT_SCOPE: defineError('GW_AUTH_INSUFFICIENT_SCOPE', 403, 'The token lacks a scope this call needs'),
  GW_RATE_LIMITED: defineError('GW_RATE_LIMITED', 429, 'Rate limit exceeded'),
  GW_QUOTA_EXCEEDED: defineError('GW_QUOTA_EXCEEDED', 429, 'Quota exhausted for this period'),
  GW_LIMITER_UNAVAILABLE: defineError('GW_LIMITER_UNAVAILABLE', 503, 'Rate limiter unavailable'),
  GW_IP_DENIED: defineError('GW_IP_DENIED', 403, 'Client address is not allowed'),
  GW_CORS_DENIED: defineError('GW_CORS_DENIED', 403, 'Origin is not allowed'),
  GW_BODY_TOO_LARGE: defineError('GW_BODY_TOO_LARGE', 413, 'Request body too large'),
  GW_UNSUPPORTED_MEDIA_TYPE: defineError('GW_UNSUPPORTED_MEDIA_TYPE', 415, 'Unsupported content type'),
  GW_MALFORMED_JSON: defineError('GW_MALFORMED_JSON', 400, 'Request body is not valid JSON'),
  GW_JSON_FORBIDDEN_KEY: defineError('GW_JSON_FORBIDDEN_KEY', 400, 'Request body has duplicate or forbidden keys'),
  GW_VALIDATION_FAILED: defineError('GW_VALIDATION_FAILED', 400, 'Request does not match the API contract'),
  GW_UPSTREAM_UNAVAILABLE: defineError('GW_UPSTREAM_UNAVAILABLE', 502, 'Upstream service unavailable'),
  GW_UPSTREAM_CONTRACT: defineError('GW_UPSTREAM_CONTRACT', 502, 'The upstream answered in a shape this version cannot serve'),
  GW_UPSTREAM_TIMEOUT: defineError('GW_UPSTREAM_TIMEOUT', 504, 'Upstream service timed out'),
  GW_BAD_REQUEST: defineError('GW_BAD_REQUEST', 400, 'The request is not valid HTTP'),
  GW_ADMIN_AUTH_REQUIRED: defineError('GW_ADMIN_AUTH_REQUIRED', 401, 'Admin credential required'),
  GW_ADMIN_BAD_REQUEST: defineError('GW_ADMIN_BAD_REQUEST', 400, 'Admin request is invalid'),
  GW_ADMIN_NOT_FOUND: defineError('GW_ADMIN_NOT_FOUND', 404, 'No such resource'),
  GW_CONFIG_INVALID: defineError('GW_CONFIG_INVALID', 422, 'Configuration is invalid'),
} as const;

export type ErrorCode = keyof typeof Errors;

export interface ProblemFieldError {
  readonly pointer: string;
  readonly message: string;
}

/** An error the gateway answers with; `detail` must never carry library text or secrets. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly errors: readonly ProblemFieldError[] | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    code: ErrorCode,
    opts: { detail?: string; errors?: readonly ProblemFieldError[]; headers?: Record<string, string> } = {},
  ) {
    // These are answers, not faults: no stack trace is captured (a 401 or 429 flood would pay
    // for one per request otherwise).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(code);
    Error.stackTraceLimit = limit;
    this.name = 'GatewayError';
    this.code = code;
    this.status = Errors[code].status;
    this.detail = opts.detail;
    this.errors = opts.errors;
    this.headers = opts.headers;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  instance?: string;
  errors?: readonly ProblemFieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Builds the RFC 9457 body for any thrown value; unknown errors reveal nothing. */
export function toProblem(err: unknown, requestId?: string): { problem: Problem; headers: Record<string, string> } {
  const e = err instanceof GatewayError ? err : new GatewayError('GW_INTERNAL');
  const def = Errors[e.code];
  const problem: Problem = {
    type: `https://docs.quant.dev/errors#${def.code}`,
    title: def.title,
    status: def.status,
    code: def.code,
  };
  if (e.detail) problem.detail = e.detail;
  if (requestId) problem.instance = requestId;
  if (e.errors) problem.errors = e.errors;
  return { problem, headers: { ...e.headers } };
}

export function allErrorDefs(): ErrorDef[] {
  return [...registry.values()];
}

// The catalogue of coded errors the adapters throw. The HTTP layer turns them into the verb's
// error form (an `Error` string for filter and bind, a 4xx/503 status where the verb has no field).

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_READY'
  | 'BIND_REFUSED'
  | 'BIND_FAILED'
  | 'BIND_CONFLICT'
  | 'GANG_BARRIER_TIMEOUT'
  | 'GANG_PLAN_RELEASED';

const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  NOT_READY: 503,
  BIND_REFUSED: 200,
  BIND_FAILED: 200,
  BIND_CONFLICT: 200,
  GANG_BARRIER_TIMEOUT: 200,
  GANG_PLAN_RELEASED: 200,
};

export class ExtenderError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ExtenderError';
    this.code = code;
    this.statusCode = STATUS[code];
  }
}

export function badRequest(message: string): ExtenderError {
  return new ExtenderError('BAD_REQUEST', message);
}

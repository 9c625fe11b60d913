export type ExternalSystem = 'bitrix' | 'evotor' | 'atol' | 'ferma' | 'middleware';

/**
 * An outside system said no, or could not be reached. `retryable` says whether the same call can
 * succeed later (rate limit, 5xx, timeout) or needs a person or a different request (auth, validation,
 * not found). Messages never carry secrets or personal data.
 */
export class ExternalServiceError extends Error {
  override readonly name = 'ExternalServiceError';
  constructor(
    readonly system: ExternalSystem,
    /** The system's own error code (e.g. QUERY_LIMIT_EXCEEDED, 200540400001, ATOL "33"), or a transport code. */
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly httpStatus?: number,
    /** A hint from the outside system on when to try again. */
    readonly retryAfterMs?: number,
  ) {
    super(`${system}: ${code}: ${message}`);
  }
}

export function isExternalServiceError(e: unknown): e is ExternalServiceError {
  return e instanceof ExternalServiceError;
}

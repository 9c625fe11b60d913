import { ExternalServiceError } from '../../activities/shared/errors';

/** The ExternalServiceError a call rejects with; fails the test when it resolves or throws something else. */
export async function caught(p: Promise<unknown>): Promise<ExternalServiceError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ExternalServiceError) return e;
    throw e;
  }
  throw new Error('expected an ExternalServiceError');
}

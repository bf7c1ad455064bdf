/** Catching the error a test expects, and failing the test when none comes. */
import { ValidationError } from '../../functions/shared/errors.js';

/** What `promise` rejected with; throws if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** The ValidationError `act` throws; any other error is rethrown, and no error at all fails. */
export function validationErrorOf(act: () => unknown): ValidationError {
  try {
    act();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

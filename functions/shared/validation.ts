import type { z } from 'zod';
import { ValidationError } from './errors.js';

/** Parses with a zod schema and turns its issues into a ValidationError naming each field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
  const summary = issues
    .slice(0, 5)
    .map((issue) => `${issue.path}: ${issue.message}`)
    .join('; ');
  return fail(`invalid ${what}: ${summary}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`);

  function fail(message: string): never {
    throw new ValidationError(message, issues);
  }
}

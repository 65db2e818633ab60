import { RealtimeError } from './errors';

/** Any thrown value as a RealtimeError (listeners and providers may throw anything). */
export function asRealtimeError(error: unknown, wrap: (message: string, cause: unknown) => RealtimeError) {
  if (error instanceof RealtimeError) return error;
  return wrap(error instanceof Error ? error.message : String(error), error);
}

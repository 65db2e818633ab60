import { type InvocationOutcome, type Invoker, SerializedEvent } from './types';

/** Told after each invocation, with what went in (a SerializedEvent's summary) and what came out. */
export type InvocationObserver = (
  functionId: string,
  event: unknown,
  trigger: string,
  outcome: InvocationOutcome,
) => void;

/** An invoker that tells `observe` of every invocation; an observer that throws never fails the invocation. */
export function observedInvoker(invoker: Invoker, observe: InvocationObserver): Invoker {
  return {
    async invoke(functionId, event, trigger) {
      const outcome = await invoker.invoke(functionId, event, trigger);
      try {
        observe(functionId, event instanceof SerializedEvent ? event.summary : event, trigger, outcome);
      } catch {
        // Watching must never change what the platform does.
      }
      return outcome;
    },
  };
}

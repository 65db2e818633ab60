import { parseEventJson } from '../../src/functions/protocol';
import { type InvocationOutcome, type Invoker, SerializedEvent } from '../../src/types';

/** A stand-in for a template function: receives the event and the trigger label, returns the result or throws. */
// biome-ignore lint/suspicious/noExplicitAny: tests read whichever event fields they assert on, like a handler would.
export type FakeFunction = (event: any, trigger: string) => unknown;

/** One recorded invocation. */
export interface FakeInvocation {
  functionId: string;
  // biome-ignore lint/suspicious/noExplicitAny: see FakeFunction.
  event: any;
  trigger: string;
  outcome: InvocationOutcome;
}

/**
 * An Invoker that runs plain async functions by function id, records every call and never throws for handler
 * errors (they become `{ ok: false }` outcomes, as the real runner reports them).
 */
export class FakeInvoker implements Invoker {
  readonly calls: FakeInvocation[] = [];
  private readonly functions = new Map<string, FakeFunction>();
  private readonly waiters = new Set<() => void>();
  private sequence = 0;

  constructor(functions: Record<string, FakeFunction> = {}) {
    for (const [id, fn] of Object.entries(functions)) this.functions.set(id, fn);
  }

  /** Replaces (or adds) the function behind an id. */
  set(functionId: string, fn: FakeFunction): void {
    this.functions.set(functionId, fn);
  }

  async invoke(functionId: string, received: unknown, trigger: string): Promise<InvocationOutcome> {
    // What the handler would see: a serialised event parsed, as the sandbox's worker parses it.
    const event = received instanceof SerializedEvent ? parseEventJson(received.json) : received;
    const requestId = `fake-${++this.sequence}`;
    const started = performance.now();
    const fn = this.functions.get(functionId);
    let outcome: InvocationOutcome;
    try {
      if (!fn)
        throw Object.assign(new Error(`Function not found: ${functionId}`), { name: 'ResourceNotFoundException' });
      const result = await fn(event, trigger);
      outcome = { ok: true, result, durationMs: performance.now() - started, requestId };
    } catch (err: unknown) {
      const error = err instanceof Error ? err : new Error(String(err));
      outcome = {
        ok: false,
        error: { errorType: error.name, errorMessage: error.message, stack: error.stack?.split('\n') },
        durationMs: performance.now() - started,
        requestId,
      };
    }
    this.calls.push({ functionId, event, trigger, outcome });
    for (const wake of this.waiters) wake();
    return outcome;
  }

  /** The recorded calls to one function, oldest first. */
  callsTo(functionId: string): FakeInvocation[] {
    return this.calls.filter((call) => call.functionId === functionId);
  }

  /** Resolves with the first finished call to functionId that matches, waiting for it when needed. */
  waitForCall(
    functionId: string,
    matches: (call: FakeInvocation) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<FakeInvocation> {
    const find = () => this.calls.find((call) => call.functionId === functionId && matches(call));
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`No matching call to ${functionId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        const call = find();
        if (!call) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(call);
      };
      this.waiters.add(check);
    });
  }
}

import type { Caller } from './identity';

/**
 * Per-key authorization: who may read a key (subscribe to it on $connect or with `subscribe`, get its snapshot, read
 * it over REST). Keys belong to a domain by prefix (`presence:<userId>`, `calendar:<userId>`, `chat:<id>` …); each
 * domain registers one rule. Keys of no registered domain (vehicle ids, sensor names) are public, as before.
 */

export type KeyAccessDecision =
  | { allowed: true }
  | { allowed: false; code: 'UNAUTHORIZED' | 'FORBIDDEN'; message: string };

export interface KeyAccessRule {
  /** The key prefix the rule owns, including its colon, e.g. "calendar:". */
  prefix: string;
  /** May `caller` read the key whose part after the prefix is `subject`? */
  canRead(caller: Caller | undefined, subject: string): Promise<KeyAccessDecision>;
}

/** Decides for one key. */
export type KeyAccessPolicy = (caller: Caller | undefined, key: string) => Promise<KeyAccessDecision>;

export const ALLOWED: KeyAccessDecision = { allowed: true };

/** A denial for a caller nobody signed in. */
export function signInRequired(key: string): KeyAccessDecision {
  return {
    allowed: false,
    code: 'UNAUTHORIZED',
    message: `${JSON.stringify(key)} needs a signed-in user (AuthMode=jwt)`,
  };
}

/** A denial for a signed-in caller without the right. */
export function forbidden(key: string, why: string): KeyAccessDecision {
  return { allowed: false, code: 'FORBIDDEN', message: `not allowed to read ${JSON.stringify(key)}: ${why}` };
}

/** A rule for keys only their own user may read, e.g. `inbox:<userId>`. */
export function ownerOnlyRule(prefix: string): KeyAccessRule {
  return {
    prefix,
    async canRead(caller, subject) {
      if (caller === undefined) return signInRequired(`${prefix}${subject}`);
      return caller.userId === subject ? ALLOWED : forbidden(`${prefix}${subject}`, 'it belongs to another user');
    },
  };
}

/** Combines the domains' rules into one policy; a key matching no prefix is public. */
export function createKeyAccessPolicy(rules: readonly KeyAccessRule[]): KeyAccessPolicy {
  return async (caller, key) => {
    const rule = rules.find((candidate) => key.startsWith(candidate.prefix));
    if (rule === undefined) return ALLOWED;
    return rule.canRead(caller, key.slice(rule.prefix.length));
  };
}

/**
 * The first key of `keys` the caller may not read, with the reason; undefined when all are allowed. Checks run in
 * parallel (each is at most one GetItem).
 */
export async function firstDenied(
  policy: KeyAccessPolicy,
  caller: Caller | undefined,
  keys: readonly string[],
): Promise<{ key: string; decision: Exclude<KeyAccessDecision, { allowed: true }> } | undefined> {
  const decisions = await Promise.all(keys.map((key) => policy(caller, key)));
  for (const [index, decision] of decisions.entries()) {
    if (!decision.allowed) return { key: keys[index] as string, decision };
  }
  return undefined;
}

import type { Caller } from './identity';

/**
 * Per-key authorization: who may read a key (subscribe to it on $connect or with `subscribe`, get its snapshot, read
 * it over REST). Keys belong to a domain by prefix (`presence:<userId>`, `calendar:<userId>`, `chat:<id>` …); each
 * domain registers one rule. Keys of no registered domain (vehicle ids, sensor names) are public, as before.
 */

/**
 * The RealTimeData row whose state granted an access: `key` is the row's partition key value (e.g.
 * `$calendar-shares:<ownerId>`), `itemId` its sort key; `condition` what must still hold — the row exists, or one
 * attribute has one value. A subscription is written together with a ConditionCheck on this row (one transaction),
 * so a grant taken back between the decision and the write refuses the subscription instead of leaving it live.
 */
export interface AccessRequirement {
  key: string;
  itemId: string;
  condition: 'exists' | { attribute: string; equals: string };
}

export type KeyAccessDecision =
  /** `requires`: the row the access rests on, when it can be taken back (absent for owners, public keys …). */
  | { allowed: true; requires?: AccessRequirement }
  | { allowed: false; code: 'UNAUTHORIZED' | 'FORBIDDEN'; message: string };

/** A refusal, as firstDenied and authorizeKeys report it. */
export type KeyAccessDenial = Exclude<KeyAccessDecision, { allowed: true }>;

/** A requested key whose access rests on a row that can change (the subscription must check it when written). */
export interface GuardedKey {
  /** The key asked for, e.g. `calendar:<ownerId>`. */
  key: string;
  requires: AccessRequirement;
}

/** The verdict on a whole request: the first refused key, or every key allowed with what they rest on. */
export type KeysDecision =
  | { allowed: true; requirements: GuardedKey[] }
  | { allowed: false; key: string; decision: KeyAccessDenial };

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
export function signInRequired(key: string): KeyAccessDenial {
  return {
    allowed: false,
    code: 'UNAUTHORIZED',
    message: `${JSON.stringify(key)} needs a signed-in user (AuthMode=jwt)`,
  };
}

/** A denial for a signed-in caller without the right. */
export function forbidden(key: string, why: string): KeyAccessDenial {
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
 * Decides every key of a request (in parallel: each check is at most one GetItem): the first refused key with the
 * reason, or — all allowed — the requirements of the keys whose access rests on a revocable row (see requirementsOf).
 */
export async function authorizeKeys(
  policy: KeyAccessPolicy,
  caller: Caller | undefined,
  keys: readonly string[],
): Promise<KeysDecision> {
  const decisions = await Promise.all(keys.map((key) => policy(caller, key)));
  for (const [index, decision] of decisions.entries()) {
    if (!decision.allowed) return { allowed: false, key: keys[index] as string, decision };
  }
  return { allowed: true, requirements: requirementsOf(keys, decisions) };
}

/**
 * The requirements of the allowed decisions (`decisions[i]` is the decision on `keys[i]`), one per guarded key; a
 * key asked for twice counts once (a transaction may not name one row twice).
 */
export function requirementsOf(keys: readonly string[], decisions: readonly KeyAccessDecision[]): GuardedKey[] {
  const guarded = new Map<string, GuardedKey>();
  for (const [index, decision] of decisions.entries()) {
    const key = keys[index];
    if (key === undefined || !decision.allowed || decision.requires === undefined || guarded.has(key)) continue;
    guarded.set(key, { key, requires: decision.requires });
  }
  return [...guarded.values()];
}

/** The first key of `keys` the caller may not read, with the reason; undefined when all are allowed. */
export async function firstDenied(
  policy: KeyAccessPolicy,
  caller: Caller | undefined,
  keys: readonly string[],
): Promise<{ key: string; decision: KeyAccessDenial } | undefined> {
  const verdict = await authorizeKeys(policy, caller, keys);
  return verdict.allowed ? undefined : { key: verdict.key, decision: verdict.decision };
}

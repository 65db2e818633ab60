import { createHash } from 'node:crypto';

const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Deterministic characters from a seed: the same stack and logical id give the same id on every start. */
function seededChars(seed: string, alphabet: string, length: number): string {
  const digest = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[(digest[i] ?? 0) % alphabet.length];
  return out;
}

/** An API Gateway-looking id (10 lowercase alphanumerics), e.g. "k3x9ab2c1d". */
export function apiGatewayId(stackName: string, logicalId: string): string {
  return seededChars(`${stackName}/${logicalId}/api`, LOWER_ALNUM, 10);
}

/** A 7-character API Gateway sub-resource id (routes, integrations, stages, authorizers). */
export function apiGatewayChildId(stackName: string, logicalId: string): string {
  return seededChars(`${stackName}/${logicalId}/child`, LOWER_ALNUM, 7);
}

/**
 * The name CloudFormation generates when a resource has no explicit name: `{stack}-{logicalId}-{SUFFIX}`, cut to
 * the service's length limit.
 */
export function generatedPhysicalName(stackName: string, logicalId: string, maxLength = 255): string {
  const suffix = seededChars(`${stackName}/${logicalId}/name`, UPPER_ALNUM, 12);
  const room = Math.max(1, maxLength - suffix.length - 2);
  const prefix = `${stackName}-${logicalId}`.slice(0, room);
  return `${prefix}-${suffix}`;
}

/**
 * The bucket name CloudFormation generates without BucketName: `{stack}-{logicalid}-{suffix}`, lower case and
 * DNS-safe (letters, digits, hyphens; at most 63 characters; no leading or trailing hyphen).
 */
export function generatedBucketName(stackName: string, logicalId: string): string {
  const suffix = seededChars(`${stackName}/${logicalId}/bucket`, LOWER_ALNUM, 12);
  const safe = (text: string) =>
    text
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/-+/g, '-');
  const prefix = safe(`${stackName}-${logicalId}`)
    .slice(0, 63 - suffix.length - 1)
    .replace(/^-+|-+$/g, '');
  return prefix ? `${prefix}-${suffix}` : suffix;
}

/** A deterministic UUID-shaped string (stack ids). */
export function seededUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Placeholder stream ARN for GetAtt Table.StreamArn. The real label is only known once DynamoDB Local has created
 * the table; consumers read it from DescribeTable (ensureTables) and match the placeholder by table.
 */
export const PLACEHOLDER_STREAM_LABEL = '1970-01-01T00:00:00.000';

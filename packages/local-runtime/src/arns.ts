/**
 * The account, region and partition the local runtime reports where AWS would report real ones, and the ARNs
 * built from them.
 */

/** AWS::AccountId locally, unless the caller names one: the account AWS's own documentation examples use. */
export const LOCAL_ACCOUNT_ID = '123456789012';
export const DEFAULT_REGION = 'us-east-1';
export const PARTITION = 'aws';

/** A Lambda function's ARN, as context.invokedFunctionArn and OnFailure records carry it. */
export function functionArn(region: string, accountId: string, functionName: string): string {
  return `arn:${PARTITION}:lambda:${region}:${accountId}:function:${functionName}`;
}

/** The function name in a Lambda function ARN (with or without a version or alias); undefined for anything else. */
export function functionNameOfArn(text: string): string | undefined {
  return /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/.exec(text)?.[1];
}

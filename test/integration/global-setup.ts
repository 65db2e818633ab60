import { type RunningDynamoDbLocal, startDynamoDbLocal } from '@real-time-platform/local-runtime';
import { freePort } from '@real-time-platform/test-support';

declare global {
  // Shared between globalSetup and globalTeardown, which run in the same process.
  var __dynamoDbLocal: RunningDynamoDbLocal | undefined;
}

/** One real DynamoDB Local for the whole integration run, on a free port; tests read DYNAMODB_ENDPOINT. */
export default async function globalSetup(): Promise<void> {
  const port = await freePort();
  // Two cores shared by parallel suites can take a while to start a JVM.
  const ddb = await startDynamoDbLocal({ port, startTimeoutMs: 120_000 });
  globalThis.__dynamoDbLocal = ddb;
  process.env.DYNAMODB_ENDPOINT = ddb.endpoint;
}

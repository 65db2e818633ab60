/** Stops the DynamoDB Local started by global-setup. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__dynamoDbLocal?.stop();
}

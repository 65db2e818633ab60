import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type LocalPlatformOptions, localCredentials } from '@real-time-platform/local-runtime';
import { startTestPlatform, type TestPlatform } from '@real-time-platform/test-support';

/** The platforms of template.yaml the client's suites start (each with tables of its own), stopped together. */
export interface LocalStack {
  /** A document client on the run's DynamoDB Local. */
  documents: DynamoDBDocumentClient;
  start(environment: string, limits?: LocalPlatformOptions['limits']): Promise<TestPlatform>;
  stop(): Promise<void>;
}

export async function startLocalStack(): Promise<LocalStack> {
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'us-east-1', credentials: localCredentials }),
  );
  const platforms: TestPlatform[] = [];
  return {
    documents,
    async start(environment, limits) {
      const platform = await startTestPlatform({
        parameterOverrides: { Environment: environment },
        ...(limits === undefined ? {} : { limits }),
      });
      platforms.push(platform);
      return platform;
    },
    async stop() {
      for (const platform of platforms) await platform.stop();
      documents.destroy();
    },
  };
}

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type LocalPlatformOptions,
  localCredentials,
  type RunningDynamoDbLocal,
  startDynamoDbLocal,
} from '@real-time-platform/local-runtime';
import { freePort, startTestPlatform, type TestPlatform } from '@real-time-platform/test-support';

/**
 * The client's integration suites run the platform of template.yaml on a DynamoDB Local of their own: the
 * platform's table names are fixed per Environment, and another suite's platform streaming the same tables would post
 * to (and clean up) connections it does not know. One JVM serves both suites, each on its own Environment.
 */
export interface LocalStack {
  dynamodb: RunningDynamoDbLocal;
  documents: DynamoDBDocumentClient;
  start(environment: string, limits?: LocalPlatformOptions['limits']): Promise<TestPlatform>;
  stop(): Promise<void>;
}

export async function startLocalStack(): Promise<LocalStack> {
  // A busy machine (two cores shared by everyone) can take a while to start a JVM.
  const dynamodb = await startDynamoDbLocal({ port: await freePort(), startTimeoutMs: 120_000 });
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'us-east-1', credentials: localCredentials }),
  );
  const platforms: TestPlatform[] = [];
  return {
    dynamodb,
    documents,
    async start(environment, limits) {
      const platform = await startTestPlatform({
        parameterOverrides: { Environment: environment },
        dynamodbEndpoint: dynamodb.endpoint,
        ...(limits === undefined ? {} : { limits }),
      });
      platforms.push(platform);
      return platform;
    },
    async stop() {
      for (const platform of platforms) await platform.stop();
      documents.destroy();
      await dynamodb.stop();
    },
  };
}

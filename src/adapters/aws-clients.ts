import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The SDK clients the handler entries create once per container. Endpoints come from the SDK's standard
 * variables (AWS_ENDPOINT_URL_DYNAMODB …) or WS_ENDPOINT, so the same code runs on AWS and locally.
 */

/** A DynamoDB client and a document client sharing its connections and middleware. */
export function createDynamoDbClients(config: DynamoDBClientConfig = {}): {
  dynamodb: DynamoDBClient;
  documents: DynamoDBDocumentClient;
} {
  const dynamodb = new DynamoDBClient(config);
  return { dynamodb, documents: DynamoDBDocumentClient.from(dynamodb) };
}

export interface ManagementApiClientOptions {
  /** WS_ENDPOINT, e.g. https://{apiId}.execute-api.{region}.amazonaws.com/{stage}. */
  endpoint: string;
  /** Sockets per host: at least the fan-out concurrency, or posts queue behind the SDK's default of 50. */
  maxSockets: number;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Per-request timeout, ms. */
  requestTimeoutMs?: number;
}

/**
 * A management-API client for ConnectionSender: `maxAttempts: 1` because the sender retries itself within the
 * invocation's deadline (two retry layers would multiply attempts and hide them from the metrics).
 */
export function createManagementApiClient(options: ManagementApiClientOptions): ApiGatewayManagementApiClient {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
  return new ApiGatewayManagementApiClient({
    endpoint: options.endpoint,
    maxAttempts: 1,
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    requestHandler: {
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      requestTimeout: options.requestTimeoutMs ?? 5000,
      // Without it the SDK only warns when a request runs past requestTimeout, and the post keeps waiting.
      throwOnRequestTimeout: true,
    },
  });
}

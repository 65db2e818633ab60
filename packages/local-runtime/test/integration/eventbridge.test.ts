import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type LocalEventBridge, startLocalEventBridge } from '../../src/eventbridge';

// The local EventBridge answers the real SDK client as AWS does: accepted entries get an EventId and are logged,
// bad entries fail one by one (FailedEntryCount), a bad request fails as a whole.

let eventBridge: LocalEventBridge;
let client: EventBridgeClient;
const logged: { message: string; fields?: Record<string, unknown> }[] = [];

beforeAll(async () => {
  eventBridge = await startLocalEventBridge({
    host: '127.0.0.1',
    port: 0,
    logger: {
      debug() {},
      info: (message, fields) => logged.push({ message, ...(fields ? { fields } : {}) }),
      warn() {},
      error() {},
    },
  });
  client = new EventBridgeClient({
    endpoint: eventBridge.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await eventBridge?.close();
});

test('PutEvents: accepted entries are logged with their detail; bad ones are reported per entry', async () => {
  const output = await client.send(
    new PutEventsCommand({
      Entries: [
        { Source: 'rtp.presence', DetailType: 'presence.connected', Detail: '{"userId":"u1"}', EventBusName: 'bus' },
        { Source: 'rtp.presence', DetailType: 'presence.updated', Detail: 'not json' },
        { DetailType: 'presence.updated', Detail: '{}' },
      ],
    }),
  );
  expect(output.FailedEntryCount).toBe(2);
  expect(output.Entries?.[0]?.EventId).toEqual(expect.any(String));
  expect(output.Entries?.[1]).toMatchObject({ ErrorCode: 'MalformedDetail' });
  expect(output.Entries?.[2]).toMatchObject({ ErrorCode: 'InvalidArgument' });
  expect(logged).toEqual([
    {
      message: 'EventBridge bus: presence.connected from rtp.presence',
      fields: { eventId: output.Entries?.[0]?.EventId, detail: { userId: 'u1' } },
    },
  ]);
  expect(eventBridge.received()).toMatchObject([{ eventBusName: 'bus', detail: { userId: 'u1' } }]);
});

test('more than 10 entries is a ValidationException, as on AWS', async () => {
  const entries = Array.from({ length: 11 }, () => ({ Source: 's', DetailType: 'd', Detail: '{}' }));
  await expect(client.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({
    name: 'ValidationException',
    $metadata: { httpStatusCode: 400 },
  });
});

test('a request over 1 MB is refused with 413 RequestEntityTooLargeException', async () => {
  const res = await fetch(eventBridge.url, {
    method: 'POST',
    headers: { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' },
    body: JSON.stringify({
      Entries: [{ Source: 's', DetailType: 'd', Detail: `{"pad":"${'x'.repeat(1024 * 1024)}"}` }],
    }),
  });
  expect(res.status).toBe(413);
  expect(await res.json()).toEqual({ __type: 'RequestEntityTooLargeException', message: 'the request is over 1 MB' });
});

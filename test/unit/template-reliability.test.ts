import { join } from 'node:path';
import { readCfnTemplate } from '@real-time-platform/local-runtime';

// No loss across outages, checked on template.yaml itself (the reasoning is in docs/reliability.md): every stream
// reader retries until its records are two hours old — never a count of attempts, whose duration AWS does not
// document — and sends what it discards to an OnFailure queue of the template.

const template = readCfnTemplate(join(__dirname, '../../template.yaml'));

interface StreamEvent {
  function: string;
  event: string;
  properties: Record<string, unknown>;
}

const streamReaders: StreamEvent[] = Object.entries(template.Resources ?? {}).flatMap(([logicalId, resource]) => {
  const events = ((resource.Properties as { Events?: Record<string, { Type: string; Properties: unknown }> })?.Events ??
    {}) as Record<string, { Type: string; Properties: Record<string, unknown> }>;
  return Object.entries(events)
    .filter(([, event]) => event.Type === 'DynamoDB' || event.Type === 'Kinesis')
    .map(([eventId, event]) => ({ function: logicalId, event: eventId, properties: event.Properties }));
});

test('the template has stream readers to check', () => {
  expect(streamReaders.map((reader) => reader.function).sort()).toEqual([
    'OnReceiveRealTimeItem',
    'PresenceEventsFunction',
  ]);
});

test.each(streamReaders.map((reader) => [`${reader.function}.${reader.event}`, reader] as const))(
  '%s retries until records are 2 h old, then sends them to an SQS queue of the template',
  (_name, reader) => {
    const { properties } = reader;
    expect(properties.MaximumRetryAttempts).toBe(-1);
    // Over an hour-long outage plus its catch-up; well under the stream's 24 h retention, so the record can still be
    // read from the stream with the metadata the OnFailure message carries.
    expect(properties.MaximumRecordAgeInSeconds).toBe(7200);
    expect(properties.BisectBatchOnFunctionError).toBe(true);
    expect(properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const onFailure = (
      properties.DestinationConfig as { OnFailure?: { Type: string; Destination: { 'Fn::GetAtt'?: string } } }
    )?.OnFailure;
    expect(onFailure?.Type).toBe('SQS');
    const queue = String(onFailure?.Destination['Fn::GetAtt']).replace(/\.Arn$/, '');
    expect(template.Resources?.[queue]?.Type).toBe('AWS::SQS::Queue');
  },
);

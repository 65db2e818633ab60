import { FanoutTail } from '../../src/admin/fanout-tail';
import type { InvocationOutcome } from '../../src/types';

// The console's fan-out tail joins two things that travel separately from a function's worker: the invocation's
// outcome (message port) and the fan-out's "Fan-out batch" log line (stdout). Either may come first.

const streamEvent = (seq: string) => ({
  Records: [{ eventSource: 'aws:dynamodb', eventName: 'INSERT', dynamodb: { SequenceNumber: seq } }],
});
const ok = (requestId: string): InvocationOutcome => ({
  ok: true,
  result: { batchItemFailures: [] },
  durationMs: 12.4,
  requestId,
});
const summaryLine = (requestId: string, counts: Record<string, number>) =>
  JSON.stringify({
    level: 'INFO',
    message: 'Fan-out batch',
    service: 'real-time-platform',
    timestamp: new Date().toISOString(),
    function_request_id: requestId,
    records: 1,
    ...counts,
  });

describe('FanoutTail', () => {
  test('the summary line read after the outcome gives the batch its posts, 410s and post retries', () => {
    const tail = new FanoutTail();
    tail.observe('OnReceiveRealTimeItem', streamEvent('100'), 'stream', ok('req-1'));
    expect(tail.since(0)[0]).not.toHaveProperty('posts');
    tail.observeLog('OnReceiveRealTimeItem', summaryLine('req-1', { posts: 3, gone: 1, retries: 2 }));
    expect(tail.since(0)).toEqual([
      expect.objectContaining({ requestId: 'req-1', records: 1, posts: 3, gone: 1, postRetries: 2 }),
    ]);
  });

  test('the summary line read before the outcome is kept until the batch arrives', () => {
    const tail = new FanoutTail();
    tail.observeLog('OnReceiveRealTimeItem', summaryLine('req-2', { posts: 5, gone: 0, retries: 0 }));
    expect(tail.since(0)).toEqual([]);
    tail.observe('OnReceiveRealTimeItem', streamEvent('200'), 'stream', ok('req-2'));
    expect(tail.since(0)[0]).toMatchObject({ requestId: 'req-2', posts: 5, gone: 0, postRetries: 0 });
  });

  test('other lines, other messages and lines without a request id change nothing', () => {
    const tail = new FanoutTail();
    tail.observe('OnReceiveRealTimeItem', streamEvent('300'), 'stream', ok('req-3'));
    tail.observeLog('OnReceiveRealTimeItem', 'Fan-out batch, as plain text');
    tail.observeLog('OnReceiveRealTimeItem', JSON.stringify({ message: 'Post failed', function_request_id: 'req-3' }));
    tail.observeLog('OnReceiveRealTimeItem', JSON.stringify({ message: 'Fan-out batch', posts: 9 }));
    tail.observeLog('OnReceiveRealTimeItem', summaryLine('req-3', { posts: Number.NaN }).replace('null', '"x"'));
    expect(tail.since(0)[0]).not.toHaveProperty('posts');
    expect(tail.since(0)[0]).not.toHaveProperty('gone');
  });
});

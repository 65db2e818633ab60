import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';

/** Where presence events go: one PutEvents call (at most 10 entries); the results answer the entries in order. */
export interface EventBus {
  put(entries: PutEventsRequestEntry[]): Promise<PutEventsResultEntry[]>;
}

/** The EventBridge-backed EventBus. Failures of the call itself are thrown (the caller retries). */
export function createEventBus(client: Pick<EventBridgeClient, 'send'>): EventBus {
  return {
    async put(entries) {
      const output = await client.send(new PutEventsCommand({ Entries: entries }));
      return output.Entries ?? [];
    },
  };
}

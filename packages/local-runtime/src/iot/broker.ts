/**
 * A local stand-in for AWS IoT Core: an MQTT broker (aedes, MQTT 3.1 / 3.1.1) on TCP that applies the template's
 * topic rules to every message a client publishes. DynamoDBv2 actions write to DynamoDB Local, Lambda actions run
 * the template's functions, Sqs actions send to the template's queues in the local SQS, and failed actions go to the
 * rule's error action (an SQS error action sends to that queue of the local SQS, or appends a JSON line under the
 * dead-letter directory when the queue is not the template's).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { createBroker } from 'aedes';
import { type DeadLetterSink, deadLetterSink } from '../dead-letters';
import { listen, PORTS } from '../ports';
import type { Queue } from '../sqs/queues';
import type { Invoker, IotActionSpec, IotRuleSpec, LocalLogger } from '../types';
import { type CompiledRule, compileIotRule } from './sql';

/** AWS IoT Core's limit on a PUBLISH payload (128 KB); larger messages are refused and the client disconnected. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;

// The whole packet may also carry the topic (at most 65,535 bytes) and MQTT 5 properties; anything beyond this is
// refused while reading the header, so a client announcing a huge packet never makes the broker buffer it.
const MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 65_535 + 4096;

/** What startIotBroker needs: where to listen, the template's topic rules and the services their actions call. */
export interface IotBrokerOptions {
  host: string;
  /** 1883 by default in the runtime; 0 picks a free port. */
  port: number;
  rules: IotRuleSpec[];
  dynamodb: DynamoDBClient;
  invoker: Invoker;
  logger: LocalLogger;
  /** Where SQS error actions are written, one `<queue logical id>.jsonl` per queue, when there is no `deadLetters`. */
  deadLetterDir: string;
  /** Where SQS error actions go: the template's queue in the local SQS, else that file (the platform's sink). */
  deadLetters?: DeadLetterSink;
  /** The template's queue of that logical id in the local SQS, for Sqs actions (undefined: the action is not run). */
  queueOf?: (logicalId: string) => Queue | undefined;
}

/** A running broker. */
export interface IotBroker {
  /** e.g. mqtt://127.0.0.1:1883 */
  url: string;
  /** Disconnects every client, stops listening and waits for rule actions still running. */
  close(): Promise<void>;
}

/** AWS's error action document (rule-error-handling): one per rule and message, listing every failed action. */
export interface IotErrorActionMessage {
  ruleName: string;
  topic: string;
  cloudwatchTraceId: string;
  clientId: string;
  base64OriginalPayload: string;
  failures: { failedAction: string; failedResource: string; errorMessage: string }[];
}

interface ActiveRule {
  spec: IotRuleSpec;
  compiled: CompiledRule;
}

type Failure = IotErrorActionMessage['failures'][number];

/** Starts the MQTT broker and the rules engine; rejects when a rule's SQL is outside the supported subset. */
export async function startIotBroker(options: IotBrokerOptions): Promise<IotBroker> {
  const { logger, invoker, dynamodb, deadLetterDir } = options;
  // Compile every rule first (disabled ones too, as AWS validates SQL on create) so bad SQL stops the start.
  const rules: ActiveRule[] = options.rules.map((spec) => ({
    spec,
    compiled: compileIotRule(spec.sql, `${spec.ruleName} (${spec.logicalId})`),
  }));
  for (const rule of rules) {
    if (rule.spec.disabled) logger.info(`IoT rule ${rule.spec.ruleName} is disabled (RuleDisabled: true)`);
  }
  const enabled = rules.filter((rule) => !rule.spec.disabled);

  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  const warned = new Set<string>();
  const warnOnce = (key: string, message: string, fields?: Record<string, unknown>) => {
    if (warned.has(key)) return;
    warned.add(key);
    logger.warn(message, fields);
  };
  const deadLetters = options.deadLetters ?? deadLetterSink({ dir: deadLetterDir });

  const broker = createBroker({
    // The payload limit is checked here, where the message and its client are known.
    authorizePublish(client, packet, callback) {
      const size = Buffer.byteLength(packet.payload);
      if (size > MAX_PAYLOAD_BYTES) {
        logger.warn(
          `MQTT: refused a ${size}-byte message on ${packet.topic} from ${client?.id ?? 'the broker'}: AWS IoT Core limits payloads to ${MAX_PAYLOAD_BYTES} bytes (128 KB); the client is disconnected`,
        );
        callback(new Error('Message payload exceeds size limit for message type.'));
        return;
      }
      if (packet.topic.startsWith('$SYS')) {
        callback(new Error('$SYS topics are reserved'));
        return;
      }
      if (packet.qos === 2 && client) {
        warnOnce(`qos2:${client.id}`, `MQTT: ${client.id} publishes with QoS 2, which AWS IoT Core does not support`);
      }
      callback(null);
    },
  });

  broker.on('publish', (packet, client) => {
    // Messages the broker publishes itself ($SYS heartbeats) have no client and never reach the rules engine.
    if (!client || enabled.length === 0) return;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    track(applyRules(packet.topic, payload, client.id));
  });
  broker.on('clientError', (client, error) => logger.debug(`MQTT: client ${client.id}: ${error.message}`));
  broker.on('connectionError', (_client, error) => {
    if (/protocol version/.test(error.message)) {
      // aedes 0.51 speaks MQTT 3.1 and 3.1.1 only; say how to connect instead of a bare CONNACK refusal.
      warnOnce(
        'mqtt5',
        'MQTT: refused a client asking for MQTT 5; the local broker speaks MQTT 3.1.1 (mosquitto_pub -V mqttv311, mqtt.connect(url, { protocolVersion: 4 }))',
      );
    }
    logger.debug(`MQTT: connection refused: ${error.message}`);
  });
  // aedes emits 'error' (e.g. from its will-message sweep) without declaring it; unhandled it would crash.
  (broker as unknown as NodeJS.EventEmitter).on('error', (error: Error) =>
    logger.error(`MQTT broker: ${error.message}`),
  );

  async function applyRules(topic: string, payload: Buffer, clientId: string): Promise<void> {
    const parsed = parsePayload(payload);
    await Promise.all(
      enabled
        .filter((rule) => rule.compiled.matches(topic))
        .map((rule) =>
          applyRule(rule, topic, payload, parsed, clientId).catch((err: unknown) =>
            logger.error(`IoT rule ${rule.spec.ruleName}: ${errorText(err)}`, { topic, clientId }),
          ),
        ),
    );
  }

  async function applyRule(
    rule: ActiveRule,
    topic: string,
    raw: Buffer,
    payload: unknown,
    clientId: string,
  ): Promise<void> {
    const { spec, compiled } = rule;
    const output = compiled.evaluate({ topic, payload, clientId });
    if (!output) {
      logger.debug(`IoT rule ${spec.ruleName}: WHERE is not true for the message on ${topic}`);
      return;
    }
    // AWS: for a payload that is not a JSON object, `*` is the raw bytes, which the DynamoDBv2 and Lambda actions
    // cannot take (they need a JSON object); so those actions fail and the error action gets the message.
    const unstructured = compiled.selectsWildcard && !isPlainObject(payload);
    const results = await Promise.all(spec.actions.map((action) => runAction(spec, action, output, unstructured, raw)));
    const failures = results.filter((failure): failure is Failure => failure !== undefined);
    if (failures.length === 0) return;
    const message: IotErrorActionMessage = {
      ruleName: spec.ruleName,
      topic,
      cloudwatchTraceId: randomUUID(),
      clientId,
      base64OriginalPayload: raw.toString('base64'),
      failures,
    };
    await runErrorAction(spec, message);
  }

  async function runAction(
    rule: IotRuleSpec,
    action: IotActionSpec,
    output: Record<string, unknown>,
    unstructured: boolean,
    raw: Buffer,
  ): Promise<Failure | undefined> {
    switch (action.type) {
      case 'DynamoDBv2': {
        const failure = (errorMessage: string): Failure => ({
          failedAction: 'DynamoDBv2Action',
          failedResource: action.tableName,
          errorMessage,
        });
        if (unstructured) {
          return failure('The payload is not a JSON object, so DynamoDBv2 cannot write its attributes as columns');
        }
        try {
          // Each top-level attribute becomes its own attribute (numbers as N, objects as M, arrays as L); the
          // table's keys must be among them, or DynamoDB refuses the item and the action fails.
          const item = marshall(output, { removeUndefinedValues: true });
          await dynamodb.send(new PutItemCommand({ TableName: action.tableName, Item: item }));
          logger.debug(`IoT rule ${rule.ruleName}: put an item into ${action.tableName}`);
          return undefined;
        } catch (err) {
          return failure(errorText(err));
        }
      }
      case 'Lambda': {
        const failure = (errorMessage: string): Failure => ({
          failedAction: 'LambdaAction',
          failedResource: action.functionId,
          errorMessage,
        });
        if (unstructured) return failure('The Lambda action does not accept a payload that is not a JSON object');
        try {
          const outcome = await invoker.invoke(action.functionId, output, `iot ${rule.ruleName}`);
          if (outcome.ok) return undefined;
          // AWS invokes the function asynchronously: only a failed Invoke call (e.g. no such function) fails the
          // action; an error thrown by the handler is the function's own failure and never reaches the error action.
          if (outcome.error.errorType === 'ResourceNotFoundException') {
            return failure(`${outcome.error.errorType}: ${outcome.error.errorMessage}`);
          }
          logger.warn(`IoT rule ${rule.ruleName}: ${action.functionId} failed: ${outcome.error.errorMessage}`, {
            errorType: outcome.error.errorType,
          });
          return undefined;
        } catch (err) {
          return failure(errorText(err));
        }
      }
      case 'Sqs': {
        const queue = action.queueLogicalId ? options.queueOf?.(action.queueLogicalId) : undefined;
        if (!queue) {
          warnOnce(
            `action:${rule.ruleName}:sqs:${action.queueLogicalId ?? action.queueUrl}`,
            `IoT rule ${rule.ruleName}: its Sqs action (${action.queueLogicalId ?? action.queueUrl}) is not run locally: ` +
              "the local SQS runs the template's own queues only",
          );
          return undefined;
        }
        // As IoT Core: the rule's output as JSON, or the payload's bytes when `*` selected a payload that is no JSON.
        const text = unstructured ? raw.toString('utf8') : JSON.stringify(output);
        try {
          queue.send({ body: action.useBase64 ? Buffer.from(text).toString('base64') : text });
          return undefined;
        } catch (err) {
          return { failedAction: 'SqsAction', failedResource: action.queueUrl, errorMessage: errorText(err) };
        }
      }
      case 'Unsupported':
        warnOnce(
          `action:${rule.ruleName}:${action.name}`,
          `IoT rule ${rule.ruleName}: its ${action.name} action is not run locally`,
        );
        return undefined;
    }
  }

  async function runErrorAction(rule: IotRuleSpec, message: IotErrorActionMessage): Promise<void> {
    const summary = message.failures.map((f) => `${f.failedAction} ${f.failedResource}: ${f.errorMessage}`).join('; ');
    const errorAction = rule.errorAction;
    try {
      switch (errorAction?.type) {
        case undefined:
          logger.error(`IoT rule ${rule.ruleName}: action failed and the rule has no error action: ${summary}`, {
            topic: message.topic,
            clientId: message.clientId,
          });
          return;
        case 'Sqs': {
          const where = await deadLetters.send({
            ...(errorAction.queueLogicalId ? { queue: { logicalId: errorAction.queueLogicalId } } : {}),
            fileName: errorAction.queueLogicalId ?? 'iot-errors',
            body: message,
          });
          logger.warn(`IoT rule ${rule.ruleName}: action failed (${summary}); error action message sent to ${where}`);
          return;
        }
        case 'Lambda': {
          logger.warn(`IoT rule ${rule.ruleName}: action failed (${summary}); invoking ${errorAction.functionId}`);
          const outcome = await invoker.invoke(errorAction.functionId, message, `iot ${rule.ruleName} error action`);
          if (!outcome.ok) {
            logger.error(`IoT rule ${rule.ruleName}: error action ${errorAction.functionId} failed`, {
              errorMessage: outcome.error.errorMessage,
            });
          }
          return;
        }
        case 'DynamoDBv2': {
          logger.warn(
            `IoT rule ${rule.ruleName}: action failed (${summary}); error action writes to ${errorAction.tableName}`,
          );
          await dynamodb.send(
            new PutItemCommand({
              TableName: errorAction.tableName,
              Item: marshall(message, { removeUndefinedValues: true }),
            }),
          );
          return;
        }
        case 'Unsupported':
          logger.error(
            `IoT rule ${rule.ruleName}: action failed (${summary}); its ${errorAction.name} error action is not run locally`,
            { message },
          );
          return;
      }
    } catch (err) {
      // AWS only logs a failed error action; so does the local runtime.
      logger.error(`IoT rule ${rule.ruleName}: the error action failed: ${errorText(err)}`, { message });
    }
  }

  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const guarded = new GuardedConnection(socket, MAX_PACKET_BYTES, (reason) =>
      logger.warn(`MQTT: dropped the connection from ${socket.remoteAddress ?? 'a client'}: ${reason}`),
    );
    broker.handle(guarded);
  });

  let url: string;
  try {
    ({ url } = await listen(server, { host: options.host, port: options.port, setting: PORTS.mqtt }, 'mqtt'));
  } catch (error) {
    broker.close();
    throw error;
  }
  server.on('error', (err) => logger.error(`MQTT server: ${err.message}`));
  logger.debug(`MQTT broker listening on ${url}`, {
    rules: enabled.map((rule) => `${rule.spec.ruleName}: ${rule.compiled.topicFilter}`),
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await serverClosed;
        await Promise.allSettled([...pending]);
      })();
      return closing;
    },
  };
}

/** The payload as the rules engine sees it: empty → {}, JSON → its value, anything else → the raw bytes. */
function parsePayload(payload: Buffer): unknown {
  // AWS lets a rule add data to an empty payload as to a JSON one (binary-payloads).
  if (payload.length === 0) return {};
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return payload;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message;
  return String(err);
}

/**
 * Reads MQTT fixed headers as the bytes arrive (packet type, then the 1–4 byte remaining length) and skips the
 * bodies, so an oversized or malformed packet is refused before the MQTT parser buffers it.
 */
export class MqttPacketSizeGuard {
  private lengthBytes = -1;
  private remaining = 0;
  private multiplier = 1;
  private skip = 0;
  private refused: string | undefined;

  constructor(private readonly maxPacketBytes: number) {}

  /** Feeds one chunk; returns the reason once a packet is refused (and on every later call), else undefined. */
  feed(chunk: Buffer): string | undefined {
    if (this.refused) return this.refused;
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++] as number;
      if (this.lengthBytes < 0) {
        // First byte: the packet type and flags.
        this.lengthBytes = 0;
        this.remaining = 0;
        this.multiplier = 1;
        continue;
      }
      this.remaining += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes >= 4) return this.refuse('malformed remaining length');
        continue;
      }
      if (this.remaining > this.maxPacketBytes) {
        return this.refuse(`a ${this.remaining}-byte packet is over the ${this.maxPacketBytes}-byte limit`);
      }
      this.skip = this.remaining;
      this.lengthBytes = -1;
    }
    return this.refused;
  }

  private refuse(reason: string): string {
    this.refused = reason;
    return reason;
  }
}

/** The client's socket as aedes reads it: bytes pass through once MqttPacketSizeGuard has seen their headers. */
class GuardedConnection extends Duplex {
  private readonly guard: MqttPacketSizeGuard;

  constructor(
    private readonly socket: Socket,
    maxPacketBytes: number,
    onRefused: (reason: string) => void,
  ) {
    super();
    this.guard = new MqttPacketSizeGuard(maxPacketBytes);
    socket.on('data', (chunk: Buffer) => {
      const refused = this.guard.feed(chunk);
      if (refused) {
        socket.removeAllListeners('data');
        onRefused(refused);
        socket.destroy();
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) {
      callback();
      return;
    }
    this.socket.write(chunk, (err) => callback(err ?? null));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}

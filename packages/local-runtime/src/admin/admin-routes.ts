import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { DEFAULT_REGION, LOCAL_ACCOUNT_ID } from '../arns';
import type { LocalPlatform } from '../platform';
import { scheduledEvent, scheduleRuleArn } from '../schedules';
import type { FanoutReply, OverviewReply } from './admin-api';
import type { TokenSigner } from './dev-tokens';
import { type FanoutTail, readDeadLetters } from './fanout-tail';
import type { PlatformView } from './platform-view';
import type { VehicleSimulator } from './vehicle-simulator';

/** What a route answers: a status and a JSON body (none for 204). */
export interface JsonReply {
  status: number;
  body?: unknown;
}

/** A caller's mistake, answered with its status and `{"error":{"code","message"}}`. */
export class AdminRequestError extends Error {
  override name = 'AdminRequestError';
  readonly retryable = false;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface AdminDeps {
  platform: LocalPlatform;
  view: PlatformView;
  tail: FanoutTail;
  documents: DynamoDBDocumentClient;
  /** The data table and its partition key attribute (RealTimeItemKey). */
  dataTable: string;
  keyAttribute: string;
  simulator: VehicleSimulator;
  signToken: TokenSigner | undefined;
}

const KEY = z.string().min(1).max(1024);
const ITEM_ID = z.string().min(1).max(1024);
const writeItemBody = z.object({
  key: KEY,
  itemId: ITEM_ID.default('latest'),
  attributes: z.record(z.string(), z.unknown()).default({}),
});
const deleteItemBody = z.object({ key: KEY, itemId: ITEM_ID });
const tokenBody = z.object({ userId: z.string().min(1).max(128) });
const runScheduleBody = z.object({
  functionId: z.string().min(1).max(256),
  eventId: z.string().min(1).max(256).optional(),
});
const simulatorBody = z.object({ running: z.boolean(), vehicles: z.number().int().min(1).max(200).default(12) });

/** The admin API's routes, by method and path; `body` is the parsed JSON body (undefined without one). */
export async function routeAdmin(deps: AdminDeps, method: string, path: string, body: unknown): Promise<JsonReply> {
  const connection = /^\/admin\/connections\/([^/]+)$/.exec(path);
  if (connection?.[1] !== undefined && method === 'DELETE') {
    return disconnect(deps, decodeURIComponent(connection[1]));
  }
  switch (`${method} ${path}`) {
    case 'GET /admin/config':
      return { status: 200, body: config(deps) };
    case 'GET /admin/overview':
      return {
        status: 200,
        body: { ...(await deps.view.overview()), simulator: deps.simulator.status() } satisfies OverviewReply,
      };
    case 'GET /admin/fanout':
      return { status: 200, body: await fanout(deps) };
    case 'POST /admin/items':
      return writeItem(deps, parse(writeItemBody, body));
    case 'DELETE /admin/items':
      return deleteItem(deps, parse(deleteItemBody, body));
    case 'POST /admin/tokens':
      return token(deps, parse(tokenBody, body));
    case 'POST /admin/schedules/run':
      return runSchedule(deps, parse(runScheduleBody, body));
    case 'POST /admin/simulator': {
      const { running, vehicles } = parse(simulatorBody, body);
      return { status: 200, body: running ? deps.simulator.start(vehicles) : deps.simulator.stop() };
    }
    default:
      throw new AdminRequestError(404, 'NOT_FOUND', `no admin route ${method} ${path}`);
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new AdminRequestError(400, 'BAD_REQUEST', `${where}${issue?.message ?? 'invalid body'}`);
}

function config(deps: AdminDeps) {
  const { model, urls } = deps.platform;
  return {
    webSocketUrl: urls.webSocket,
    stage: model.webSocketApis[0]?.stage ?? '',
    keyParam: deps.keyAttribute,
    auth: model.parameters.AuthMode === 'jwt' ? 'jwt' : 'none',
    // The page's clients heartbeat well within it, and the Presence view says how long a silent tab lasts.
    presenceTimeoutSeconds: Number(model.parameters.PresenceTimeoutSeconds ?? 180),
    devTokens: deps.signToken !== undefined,
    // Same origin as the page: the console server forwards /api/* to the HTTP API.
    httpApi: '/api',
  };
}

async function fanout(deps: AdminDeps): Promise<FanoutReply> {
  return {
    batches: deps.tail.since(0),
    deadLetters: await readDeadLetters(deps.platform.deadLetterDir, deps.platform.deadLetters.sentToQueues()),
  };
}

/** DeleteConnection through the real @connections API, so the gateway closes it exactly as AWS would. */
async function disconnect(deps: AdminDeps, connectionId: string): Promise<JsonReply> {
  const url = `${deps.platform.urls.management}/@connections/${encodeURIComponent(connectionId)}`;
  const response = await fetch(url, { method: 'DELETE' });
  if (response.status === 410) throw new AdminRequestError(404, 'GONE', `connection ${connectionId} is not open`);
  if (!response.ok) throw new Error(`@connections DELETE answered ${response.status}`);
  return { status: 204 };
}

/**
 * Runs a scheduled function now, with the event its EventBridge rule would send (e.g. the presence sweep, so the
 * Presence view need not wait a minute). Synchronous, unlike EventBridge: the answer is the function's own.
 */
async function runSchedule(deps: AdminDeps, input: z.infer<typeof runScheduleBody>): Promise<JsonReply> {
  const { model, runner } = deps.platform;
  const spec = model.schedules.find(
    (s) => s.functionId === input.functionId && (input.eventId === undefined || s.eventId === input.eventId),
  );
  if (spec === undefined) {
    const known = model.schedules.map((s) => `${s.functionId}.${s.eventId}`).join(', ') || 'none';
    throw new AdminRequestError(404, 'NOT_FOUND', `no schedule of ${input.functionId} (the template's: ${known})`);
  }
  const where = { region: DEFAULT_REGION, accountId: LOCAL_ACCOUNT_ID, stackName: model.stackName };
  const event = spec.input ?? scheduledEvent({ ruleArn: scheduleRuleArn(spec, where), time: new Date(), ...where });
  const outcome = await runner.invoke(spec.functionId, event, `admin: schedule ${spec.eventId} now`);
  const { functionId, eventId } = spec;
  const durationMs = Math.round(outcome.durationMs);
  return {
    status: 200,
    body: outcome.ok
      ? { functionId, eventId, ok: true, result: outcome.result, durationMs }
      : { functionId, eventId, ok: false, error: outcome.error, durationMs },
  };
}

async function writeItem(deps: AdminDeps, input: z.infer<typeof writeItemBody>): Promise<JsonReply> {
  const item = { ...input.attributes, [deps.keyAttribute]: input.key, itemId: input.itemId };
  await deps.documents.send(new PutCommand({ TableName: deps.dataTable, Item: item }));
  return { status: 200, body: { item } };
}

async function deleteItem(deps: AdminDeps, input: z.infer<typeof deleteItemBody>): Promise<JsonReply> {
  await deps.documents.send(
    new DeleteCommand({ TableName: deps.dataTable, Key: { [deps.keyAttribute]: input.key, itemId: input.itemId } }),
  );
  return { status: 204 };
}

async function token(deps: AdminDeps, input: z.infer<typeof tokenBody>): Promise<JsonReply> {
  if (deps.signToken === undefined) {
    throw new AdminRequestError(409, 'NO_DEV_TOKENS', 'development tokens need npm start -- --auth jwt (HS256)');
  }
  return { status: 200, body: { userId: input.userId, token: await deps.signToken(input.userId) } };
}

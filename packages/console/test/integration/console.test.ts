import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type ConsoleServer, FanoutTail, silentLogger, startConsoleServer } from '@real-time-platform/local-runtime';
import { launchChromium, startTestPlatform, type TestPlatform } from '@real-time-platform/test-support';
import type { Browser, Page } from 'playwright-core';
import { buildConsoleAssets, type ConsoleAsset } from '../../src';

// The console in Debian's Chromium (playwright-core) against the real local runtime: one platform (AuthMode=jwt, so
// presence and chat have users), one console server, one browser, a page per view.

jest.setTimeout(300_000);

const SCREENSHOTS = join(__dirname, '..', '..', '..', '..', '.local', 'console-screenshots');

let platform: TestPlatform;
let tail: FanoutTail;
let assets: Map<string, ConsoleAsset>;
let server: ConsoleServer;
let browser: Browser;
let documents: DynamoDBDocumentClient;
let dataTable: string;
const pages: Page[] = [];
const pageProblems: string[] = [];

beforeAll(async () => {
  tail = new FanoutTail();
  [platform, assets, browser] = await Promise.all([
    startTestPlatform({ auth: 'jwt', onInvocation: tail.observe }),
    buildConsoleAssets(),
    launchChromium(),
  ]);
  server = await startConsoleServer({ platform, tail, port: 0, assets, logger: silentLogger });
  documents = platform.aws.documents;
  dataTable = platform.model.tables.find((t) => t.logicalId === 'RealTimeDataTable')?.tableName ?? '';
  await mkdir(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await platform?.stop();
});

afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
  // A page error or a refused script (CSP) anywhere is a failure of the test that caused it.
  expect(pageProblems.splice(0)).toEqual([]);
});

async function openView(view: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => pageProblems.push(`${view}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') pageProblems.push(`${view}: ${message.text()}`);
  });
  pages.push(page);
  await page.goto(`${server.url}#${view}`);
  await page.waitForSelector('#runtime-status[data-status="connected"]');
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

function put(item: Record<string, unknown>): Promise<unknown> {
  return documents.send(new PutCommand({ TableName: dataTable, Item: item }));
}

describe('Inspector', () => {
  test('a write appears on the Inspector within 1 s, with its fan-out batch', async () => {
    const key = `inspect-${randomUUID().slice(0, 8)}`;
    await put({ realTimeItemKey: key, itemId: 'before', speed: 1 });
    const page = await openView('inspector');
    await page.fill('#subscribe-key', key);
    await page.click('button:text-is("Subscribe")');
    await page.waitForSelector('#items tr[data-item-id="before"]', { timeout: 30_000 });

    // Warm: the first fan-out of a key starts its function; the next writes are what a user sees.
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const written = Date.now();
      await put({ realTimeItemKey: key, itemId: `w${i}`, speed: i });
      await page.waitForSelector(`#items tr[data-item-id="w${i}"]`, { timeout: 10_000 });
      delays.push(Date.now() - written);
    }
    console.log(`write → Inspector: ${delays.join(', ')} ms`);
    expect([...delays].sort((a, b) => a - b)[1]).toBeLessThan(1000);
    await page.waitForSelector('#fanout td:text-is("OnReceiveRealTimeItem")');

    await screenshot(page, 'inspector');
  });

  test('an item holding <script> and <img onerror> shows as text, and nothing runs', async () => {
    const key = `markup-${randomUUID().slice(0, 8)}`;
    const page = await openView('inspector');
    await page.fill('#subscribe-key', key);
    await page.click('button:text-is("Subscribe")');
    await page.waitForSelector('#client-state:text-is("connected")');
    const markup = { script: '<script>window.__xss = 1</script>', img: '<img src=x onerror="window.__xss = 2">' };
    await put({ realTimeItemKey: key, itemId: 'markup', ...markup });
    const cell = await page.waitForSelector('#items tr[data-item-id="markup"] .item-json');
    expect(JSON.parse((await cell.textContent()) ?? '')).toMatchObject(markup);
    expect(await page.$$('#items img, #items script')).toHaveLength(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
  });

  test('the Inspector writes and deletes an item through the admin API', async () => {
    const key = `write-${randomUUID().slice(0, 8)}`;
    const page = await openView('inspector');
    await page.fill('#subscribe-key', key);
    await page.click('button:text-is("Subscribe")');
    await page.waitForSelector('#client-state:text-is("connected")');
    await page.fill('#write-key', key);
    await page.fill('#write-item-id', 'typed');
    await page.fill('#write-attributes', '{"speed": 7}');
    await page.click('button:text-is("Write")');
    const cell = await page.waitForSelector('#items tr[data-item-id="typed"] .item-json');
    expect(JSON.parse((await cell.textContent()) ?? '')).toMatchObject({ itemId: 'typed', speed: 7 });

    await page.click('button:text-is("Delete")');
    await page.waitForSelector('#items tr[data-item-id="typed"]', { state: 'detached' });

    await page.fill('#write-attributes', '[1, 2]');
    await page.click('button:text-is("Write")');
    await page.waitForSelector('#write-result:text-is("attributes must be a JSON object")');
  });
});

describe('Overview', () => {
  test('lists a connection with its keys and user; Disconnect closes it, and its client sees the close', async () => {
    const key = `overview-${randomUUID().slice(0, 8)}`;
    const user = await platform.signIn(`ann-${randomUUID().slice(0, 6)}`);
    const socket = await user.connect([key]);
    const page = await openView('overview');
    const row = page.locator('#connections tr', { hasText: key });
    await row.waitFor();
    expect(await row.textContent()).toContain(user.userId);
    await page.waitForSelector(`#keys tr[data-key="${key}"]`);
    await page.waitForSelector('#services tr[data-service="DynamoDB Local"] td.up');
    await screenshot(page, 'overview');

    await row.locator('button:text-is("Disconnect")').click();
    const closed = await socket.closed;
    expect(closed.code).toBe(1000);
    await row.waitFor({ state: 'detached' });
  });

  test('a runtime that goes away shows "disconnected, retrying", and the page recovers when it is back', async () => {
    const page = await openView('overview');
    const { port } = server;
    await server.close();
    await page.waitForSelector('#runtime-status[data-status="disconnected"]');
    expect(await page.textContent('#runtime-status')).toBe('disconnected, retrying…');
    await screenshot(page, 'disconnected');
    server = await startConsoleServer({ platform, tail, port, assets, logger: silentLogger });
    await page.waitForSelector('#runtime-status[data-status="connected"]', { timeout: 10_000 });
    await page.waitForSelector('#services tr[data-service="WebSocket API"]');
    // The polls refused while the server was down are the point of this test, not a problem.
    const refused = pageProblems.filter((problem) => problem.endsWith('net::ERR_CONNECTION_REFUSED'));
    expect(refused.length).toBeGreaterThan(0);
    pageProblems.splice(0, pageProblems.length, ...pageProblems.filter((problem) => !refused.includes(problem)));
  });
});

describe('Presence', () => {
  test('a watched user goes online, then offline when their tab closes', async () => {
    const alice = `alice-${randomUUID().slice(0, 6)}`;
    const watcher = await openView('presence');
    await watcher.fill('#presence-user', `bob-${randomUUID().slice(0, 6)}`);
    await watcher.click('button:text-is("Sign in")');
    await watcher.fill('#presence-watch', alice);
    await watcher.click('button:text-is("Watch")');
    await watcher.waitForSelector(`#presence-users tr[data-user-id="${alice}"] .status:text-is("offline")`);

    const tab = await openView('presence');
    await tab.fill('#presence-user', alice);
    await tab.click('button:text-is("Sign in")');
    await tab.waitForSelector('.session-state:text-is("connected")');
    await tab.fill('#presence-page', 'Pricing');
    await tab.click('button:text-is("Share this page")');
    const row = `#presence-users tr[data-user-id="${alice}"]`;
    await watcher.waitForSelector(`${row} .status:text-is("online")`);
    await watcher.waitForSelector(`${row} td:has-text("on Pricing")`);
    await screenshot(watcher, 'presence');

    await tab.close();
    await watcher.waitForSelector(`${row} .status:text-is("offline")`, { timeout: 30_000 });
  });
});

describe('Chat', () => {
  test('two users side by side exchange a message and a read receipt', async () => {
    const ann = `ann-${randomUUID().slice(0, 6)}`;
    const ben = `ben-${randomUUID().slice(0, 6)}`;
    const page = await openView('chat');
    const left = page.locator('#chat-left');
    const right = page.locator('#chat-right');
    await left.locator('input').fill(ann);
    await left.locator('button:text-is("Sign in")').click();
    await right.locator('input').fill(ben);
    await right.locator('button:text-is("Sign in")').click();
    await left.locator('.session-state:text-is("connected")').waitFor();
    await right.locator('.session-state:text-is("connected")').waitFor();

    await left.locator('.chat-with').fill(ben);
    await left.locator('button:text-is("Start")').click();
    await left.locator('.chat-message').fill('hello <b>ben</b>');
    await left.locator('button:text-is("Send")').click();
    await left.locator('.messages .content:text-is("hello <b>ben</b>")').waitFor();

    // Ben sees the conversation with one unread message, opens it, and Ann sees the receipt.
    const conversation = right.locator('.conversations li', { hasText: ann });
    await conversation.locator('.unread:text-is("1")').waitFor({ timeout: 30_000 });
    await conversation.locator('button').click();
    await right.locator('.messages .content:text-is("hello <b>ben</b>")').waitFor();
    await left.locator(`.messages .receipt:has-text("read by ${ben}")`).waitFor({ timeout: 30_000 });
    await screenshot(page, 'chat');
  });
});

describe('Calendar', () => {
  test('an event created and moved in one page shows in the other', async () => {
    const owner = `cal-${randomUUID().slice(0, 6)}`;
    const [editor, viewer] = [await openView('calendar'), await openView('calendar')];
    for (const page of [editor, viewer]) {
      await page.fill('#calendar-user', owner);
      await page.click('button:text-is("Sign in")');
      await page.waitForSelector('.session-state:text-is("connected")');
    }
    const title = `Review ${randomUUID().slice(0, 4)}`;
    await editor.fill('#calendar-title', title);
    await editor.fill('#calendar-hour', '10:00');
    await editor.click('button:text-is("Create")');
    const event = viewer.locator('.event', { hasText: title });
    await event.locator('.event-time:text-is("10:00")').waitFor({ timeout: 30_000 });

    await editor.locator('.event', { hasText: title }).locator('button:text-is("+1 h")').click();
    await event.locator('.event-time:text-is("11:00")').waitFor({ timeout: 30_000 });
    await screenshot(viewer, 'calendar');
  });
});

describe('Vehicles', () => {
  test('Start runs the simulator and its vehicles reach the canvas; Stop stops it', async () => {
    const page = await openView('vehicles');
    await page.click('button:text-is("Start the simulator")');
    await page.waitForSelector('#simulator-status:has-text("running: 12 vehicles")');
    await page.waitForSelector('#vehicle-count:text-is("12 vehicles seen")', { timeout: 30_000 });
    await screenshot(page, 'vehicles');
    await page.click('button:text-is("Stop the simulator")');
    await page.waitForSelector('#simulator-status:has-text("stopped")');
  });
});

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

/** What holds a TCP port, as far as this machine lets us see. */
export interface PortHolder {
  /** The listening process, when /proc shows it (Linux, and a process of ours or we are root). */
  pid?: number;
  /** Its command line, shortened. */
  command?: string;
  /** True when the port answers DynamoDB's ListTables: most likely a DynamoDB Local left over from an earlier run. */
  answersLikeDynamoDb: boolean;
}

/**
 * Finds out what holds `port`, so a "port in use" message can say what it is and how to stop it. Never throws:
 * anything it cannot learn is left out.
 */
export async function findPortHolder(port: number): Promise<PortHolder> {
  const pid = listeningPid(port);
  const command = pid === undefined ? undefined : commandLineOf(pid);
  return {
    ...(pid === undefined ? {} : { pid }),
    ...(command === undefined ? {} : { command }),
    answersLikeDynamoDb: await answersLikeDynamoDb(port),
  };
}

/** The sentence a PortInUseError for DynamoDB Local adds: what holds the port and the command that stops it. */
export function describePortHolder(port: number, holder: PortHolder): string {
  const isDynamoDbLocal = holder.command?.includes('DynamoDBLocal') === true;
  const what =
    holder.pid === undefined
      ? holder.answersLikeDynamoDb
        ? 'It answers like DynamoDB, so it is most likely a DynamoDB Local left running by an earlier run.'
        : 'Something else listens there.'
      : isDynamoDbLocal || holder.answersLikeDynamoDb
        ? `It is held by a DynamoDB Local (pid ${holder.pid}) left running by an earlier run.`
        : `It is held by pid ${holder.pid} (${holder.command ?? 'unknown command'}).`;
  const stop =
    holder.pid !== undefined
      ? `Stop it with: kill ${holder.pid}`
      : `Find it with: lsof -nP -iTCP:${port} -sTCP:LISTEN (or fuser ${port}/tcp), then kill <pid>`;
  const reuse = holder.answersLikeDynamoDb
    ? ` To keep using it instead, start with --dynamodb-endpoint http://localhost:${port}.`
    : '';
  return `${what} ${stop}.${reuse}`;
}

async function answersLikeDynamoDb(port: number): Promise<boolean> {
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'probe', secretAccessKey: 'probe' },
    maxAttempts: 1,
    requestHandler: { requestTimeout: 2000 },
  });
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

/** The pid listening on `port` (IPv4 or IPv6), from /proc/net/tcp* and the processes' socket fds; Linux only. */
function listeningPid(port: number): number | undefined {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT"; state 0A is LISTEN; field 9 is the socket's inode.
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A' && fields[9]) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode !== undefined && inodes.has(inode)) return Number(pid);
      } catch {
        // The fd closed meanwhile.
      }
    }
  }
  return undefined;
}

function commandLineOf(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return text.length > 160 ? `${text.slice(0, 157)}…` : text;
  } catch {
    return undefined;
  }
}

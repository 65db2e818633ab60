import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type DeadLetterSink, deadLetterSink } from '../dead-letters';
import { closeServer, listen, PORTS } from '../ports';
import { readRequestBody } from '../request-body';
import type { BucketSpec, Invoker, LocalLogger, S3EventSpec } from '../types';
import { AwsChunkedDecoder } from './chunked';
import { hostId, Notifier, requestId } from './notifications';
import { matchS3Route, type S3Operation, unservedResource } from './routes';
import { type ObjectMeta, ObjectStore, S3Error } from './store';
import { errorDocument, type XmlNode, xmlBlocks, xmlDocument } from './xml';

/** Options of the local S3. */
export interface LocalS3Options {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Buckets are folders here; the runtime's own files go to `<dataDir>/.local-s3`. */
  dataDir: string;
  /** The template's buckets; they exist from the start. */
  buckets: BucketSpec[];
  /** Which functions S3 notifications invoke. */
  s3Events: S3EventSpec[];
  invoker: Invoker;
  logger: LocalLogger;
  region: string;
  accountId: string;
  /**
   * Where failed notification invocations go (the function's DeadLetterQueue in the local SQS, else a file); default
   * `<dataDir>/../dead-letters/<FunctionId>-async.jsonl`.
   */
  deadLetters?: DeadLetterSink;
  /** The functions' DeadLetterQueue names, by function id. */
  deadLetterQueues?: Record<string, string>;
  /** Waits before Lambda's two retries of a failed asynchronous invocation; default [1000, 2000]. */
  retryDelaysMs?: number[];
}

/** A running local S3. */
export interface LocalS3 {
  /** e.g. http://localhost:4569 — the SDK's `endpoint` (with forcePathStyle) or the CLI's `--endpoint-url`. */
  url: string;
  /** Resolves when every notification invocation started so far has finished (retries not included). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

// S3's minimum part size, enforced at CompleteMultipartUpload for every part but the last.
const MIN_PART_SIZE = 5 * 1024 * 1024;
const STORED_HEADERS = ['content-encoding', 'cache-control', 'content-disposition', 'content-language', 'expires'];

/** The request's raw path (still percent-encoded) and its query. */
interface RequestUrl {
  pathname: string;
  searchParams: URLSearchParams;
}

/** One request, as the operations take it: what it names and the ids S3 answers with. */
interface S3Request {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  query: URLSearchParams;
  bucket: string;
  /** Empty for the service and bucket operations. */
  key: string;
  ids: { rid: string; hid: string };
}

interface Upload {
  bucket: string;
  key: string;
  contentType: string;
  headers: Record<string, string>;
  userMetadata: Record<string, string>;
  initiated: number;
}

/** Starts a path-style S3 REST endpoint on disk that sends the template's S3 event notifications. */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const store = new ObjectStore(options.dataDir);
  await mkdir(options.dataDir, { recursive: true });
  await store.open(options.buckets.map((b) => b.bucketName));
  const notifier = new Notifier({
    s3Events: options.s3Events,
    invoker: options.invoker,
    logger: options.logger,
    region: options.region,
    deadLetters: options.deadLetters ?? deadLetterSink({ dir: join(options.dataDir, '..', 'dead-letters') }),
    deadLetterQueues: options.deadLetterQueues ?? {},
    retryDelaysMs: options.retryDelaysMs ?? [1000, 2000],
  });
  const s3 = new S3Handler(store, notifier, options);
  const server = createServer((req, res) => {
    void s3.handle(req, res);
  });
  // Large uploads take longer than Node's default 5-minute request timeout allows on slow disks.
  server.requestTimeout = 0;
  const { url } = await listen(server, { host: options.host, port: options.port, setting: PORTS.s3 });
  options.logger.info(`Local S3 on ${url}`, { dataDir: options.dataDir });
  return {
    url,
    settle: () => notifier.settle(),
    async close() {
      await closeServer(server);
      await notifier.close();
      await store.flush();
    },
  };
}

class S3Handler {
  private readonly uploads = new Map<string, Upload>();

  constructor(
    private readonly store: ObjectStore,
    private readonly notifier: Notifier,
    private readonly options: LocalS3Options,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rid = requestId();
    const hid = hostId();
    res.setHeader('x-amz-request-id', rid);
    res.setHeader('x-amz-id-2', hid);
    res.setHeader('server', 'AmazonS3');
    // Not `new URL()`: it would resolve "..", "%2E%2E" and "." segments, and a key must reach the checks as sent.
    const raw = req.url ?? '/';
    const question = raw.indexOf('?');
    const url: RequestUrl = {
      pathname: question < 0 ? raw : raw.slice(0, question),
      searchParams: new URLSearchParams(question < 0 ? '' : raw.slice(question + 1)),
    };
    let bucket = '';
    let key = '';
    try {
      ({ bucket, key } = this.target(req, url));
      const method = req.method ?? 'GET';
      await this.route({ req, res, method, query: url.searchParams, bucket, key, ids: { rid, hid } });
    } catch (error) {
      if (!(error instanceof S3Error)) {
        this.options.logger.error('Local S3 request failed', {
          method: req.method,
          url: req.url,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
      }
      const s3Error =
        error instanceof S3Error
          ? error
          : new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const resource = bucket ? `/${bucket}${key ? `/${key}` : ''}` : '/';
      const body =
        req.method === 'HEAD'
          ? ''
          : errorDocument(s3Error.code, s3Error.message, {
              ...s3Error.fields,
              Resource: resource,
              RequestId: rid,
              HostId: hid,
            });
      res.writeHead(s3Error.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      // Unread request bodies (a refused PUT) are drained so the connection can be reused.
      req.resume();
    }
  }

  /** Path style (/bucket/key) or virtual-hosted style (bucket.localhost). */
  private target(req: IncomingMessage, url: RequestUrl): { bucket: string; key: string } {
    const path = url.pathname;
    const hostname = (req.headers.host ?? '').replace(/:\d+$/, '');
    const virtual = /^(.+)\.localhost$/.exec(hostname)?.[1];
    const decode = (text: string) => {
      try {
        return decodeURIComponent(text);
      } catch {
        throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.");
      }
    };
    if (virtual) return { bucket: virtual, key: decode(path.slice(1)) };
    const slash = path.indexOf('/', 1);
    if (slash < 0) return { bucket: decode(path.slice(1)), key: '' };
    return { bucket: decode(path.slice(1, slash)), key: decode(path.slice(slash + 1)) };
  }

  /** Runs the operation the routing table picks (routes.ts); the bucket must exist for all but CreateBucket. */
  private async route(r: S3Request): Promise<void> {
    const target = !r.bucket ? 'service' : !r.key ? 'bucket' : 'object';
    const routeRequest = { method: r.method, target, query: r.query, headers: r.req.headers } as const;
    const route = matchS3Route(routeRequest);
    if (target !== 'service' && route?.operation !== 'CreateBucket' && !this.store.hasBucket(r.bucket)) {
      throw new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: r.bucket });
    }
    if (!route) throw notImplemented(r.method, unservedResource(routeRequest));
    await this.operations[route.operation](r);
  }

  private readonly operations: Record<S3Operation, (r: S3Request) => Promise<void> | void> = {
    ListBuckets: (r) => this.listBuckets(r.res),
    CreateBucket: async ({ res, bucket }) => {
      await this.store.createBucket(bucket);
      sendEmpty(res, 200, { location: `/${bucket}` });
    },
    HeadBucket: ({ res }) => sendEmpty(res, 200, { 'x-amz-bucket-region': this.options.region }),
    GetBucketLocation: ({ res }) => {
      // us-east-1 is reported as an empty LocationConstraint.
      const region = this.options.region === 'us-east-1' ? '' : this.options.region;
      sendXml(
        res,
        200,
        xmlDocument('LocationConstraint', {}).replace('></LocationConstraint>', `>${region}</LocationConstraint>`),
      );
    },
    ListObjects: ({ res, bucket, query }) => this.listObjects(res, bucket, query),
    DeleteBucket: async ({ res, bucket }) => {
      await this.store.deleteBucket(bucket);
      sendEmpty(res, 204);
    },
    DeleteObjects: (r) => this.deleteObjects(r),
    CopyObject: ({ method }) => {
      throw notImplemented(method, 'CopyObject / UploadPartCopy');
    },
    UploadPart: (r) => this.uploadPart(r),
    PutObject: (r) => this.putObject(r),
    GetObject: (r) => this.getObject(r),
    HeadObject: (r) => this.getObject(r),
    AbortMultipartUpload: (r) => this.abortUpload(r),
    DeleteObject: async (r) => {
      if (await this.store.delete(r.bucket, r.key)) this.notifier.publish(this.change(r, 'ObjectRemoved:Delete'));
      sendEmpty(r.res, 204);
    },
    CreateMultipartUpload: (r) => this.createUpload(r),
    CompleteMultipartUpload: (r) => this.completeUpload(r),
  };

  private listBuckets(res: ServerResponse): void {
    sendXml(
      res,
      200,
      xmlDocument('ListAllMyBucketsResult', {
        Owner: { ID: OWNER_ID, DisplayName: 'local' },
        Buckets: {
          Bucket: this.store
            .bucketNames()
            .map((b) => ({ Name: b.name, CreationDate: new Date(b.created).toISOString() })),
        },
      }),
    );
  }

  /** ListObjectsV2 (list-type=2) and ListObjects (v1): prefix, delimiter, paging, encoding-type=url. */
  private listObjects(res: ServerResponse, bucket: string, q: URLSearchParams): void {
    const v2 = q.get('list-type') === '2';
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeysText = q.get('max-keys');
    const maxKeys = maxKeysText === null ? 1000 : Number(maxKeysText);
    if (!Number.isInteger(maxKeys) || maxKeys < 0) {
      throw new S3Error('InvalidArgument', 400, 'Provided max-keys not an integer or within integer range', {
        ArgumentName: 'max-keys',
        ArgumentValue: String(maxKeysText),
      });
    }
    const token = q.get('continuation-token');
    let after = v2 ? (q.get('start-after') ?? '') : (q.get('marker') ?? '');
    if (v2 && token !== null) {
      after = Buffer.from(token, 'base64url').toString('utf8');
      if (!token) throw new S3Error('InvalidArgument', 400, 'The continuation token provided is incorrect');
    }
    const urlEncode = q.get('encoding-type') === 'url';
    const enc = (text: string) => (urlEncode ? encodeURIComponent(text).replace(/%2F/g, '/') : text);
    const contents: XmlNode[] = [];
    const prefixes: string[] = [];
    let truncated = false;
    let last = '';
    const afterBytes = Buffer.from(after);
    for (const key of this.store.keys(bucket)) {
      if (!key.startsWith(prefix)) continue;
      if (after && Buffer.compare(Buffer.from(key), afterBytes) <= 0) continue;
      let common: string | undefined;
      if (delimiter) {
        const at = key.indexOf(delimiter, prefix.length);
        if (at >= 0) common = key.slice(0, at + delimiter.length);
      }
      // A common prefix counts once; keys under the one just returned are skipped.
      if (common !== undefined && prefixes[prefixes.length - 1] === common) continue;
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (common !== undefined) {
        prefixes.push(common);
        last = common;
        // Continue after every key of this prefix: "\uffff" sorts after anything else below it.
      } else {
        const meta = this.store.head(bucket, key);
        contents.push({
          Key: enc(key),
          LastModified: new Date(meta.lastModified).toISOString(),
          ETag: `"${meta.etag}"`,
          Size: meta.size,
          StorageClass: 'STANDARD',
          ...(v2 && q.get('fetch-owner') !== 'true' ? {} : { Owner: { ID: OWNER_ID, DisplayName: 'local' } }),
        });
        last = key;
      }
    }
    const nextAfter = last && prefixes[prefixes.length - 1] === last ? `${last}\u{10FFFF}` : last;
    const body: XmlNode = {
      Name: bucket,
      Prefix: enc(prefix),
      ...(v2 ? { KeyCount: contents.length + prefixes.length } : { Marker: enc(q.get('marker') ?? '') }),
      MaxKeys: maxKeys,
      ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
      ...(urlEncode ? { EncodingType: 'url' } : {}),
      IsTruncated: truncated,
      ...(v2 && token !== null ? { ContinuationToken: token } : {}),
      ...(v2 && q.get('start-after') ? { StartAfter: enc(q.get('start-after') ?? '') } : {}),
      ...(truncated && v2 ? { NextContinuationToken: Buffer.from(nextAfter).toString('base64url') } : {}),
      ...(truncated && !v2 && delimiter ? { NextMarker: enc(last) } : {}),
      Contents: contents,
      CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
    };
    sendXml(res, 200, xmlDocument('ListBucketResult', body));
  }

  private async putObject(r: S3Request): Promise<void> {
    const { req, res, bucket, key } = r;
    this.store.filePath(bucket, key); // validates the key before reading the body
    const { tmp, size, md5 } = await this.receiveBody(req);
    const meta: ObjectMeta = {
      size,
      etag: md5.toString('hex'),
      lastModified: Date.now(),
      contentType: req.headers['content-type'] ?? 'binary/octet-stream',
      headers: storedHeaders(req),
      userMetadata: userMetadata(req),
    };
    await this.store.commit(bucket, key, tmp, meta);
    sendEmpty(res, 200, { etag: `"${meta.etag}"` });
    this.notifier.publish(this.change(r, 'ObjectCreated:Put', size, meta.etag));
  }

  /** Streams the request body to a temporary file, undoing aws-chunked framing, and checks its length and MD5. */
  private async receiveBody(req: IncomingMessage): Promise<{ tmp: string; size: number; md5: Buffer }> {
    const chunked =
      /aws-chunked/i.test(String(req.headers['content-encoding'] ?? '')) ||
      String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
    const hash = createHash('md5');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const tmp = this.store.tmpFile();
    try {
      if (chunked) await pipeline(req, new AwsChunkedDecoder(), measure, createWriteStream(tmp));
      else await pipeline(req, measure, createWriteStream(tmp));
    } catch (error) {
      await rm(tmp, { force: true });
      if (error instanceof Error && /aws-chunked/.test(error.message)) {
        throw new S3Error('IncompleteBody', 400, `The request body is not valid aws-chunked data: ${error.message}`);
      }
      throw error;
    }
    const md5 = hash.digest();
    const expected =
      req.headers['x-amz-decoded-content-length'] ?? (chunked ? undefined : req.headers['content-length']);
    const fail = async (error: S3Error) => {
      await rm(tmp, { force: true });
      return error;
    };
    if (expected !== undefined && Number(expected) !== size) {
      throw await fail(
        new S3Error(
          'IncompleteBody',
          400,
          'You did not provide the number of bytes specified by the Content-Length HTTP header.',
        ),
      );
    }
    const contentMd5 = req.headers['content-md5'];
    if (typeof contentMd5 === 'string' && contentMd5 !== md5.toString('base64')) {
      throw await fail(new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.'));
    }
    return { tmp, size, md5 };
  }

  private async getObject({ req, res, method, bucket, key, query: q }: S3Request): Promise<void> {
    const headOnly = method === 'HEAD';
    const meta = this.store.head(bucket, key);
    const etag = `"${meta.etag}"`;
    const lastModified = new Date(Math.floor(meta.lastModified / 1000) * 1000);
    const headers: Record<string, string | number> = {
      etag,
      'last-modified': lastModified.toUTCString(),
      'content-type': q.get('response-content-type') ?? meta.contentType,
      'accept-ranges': 'bytes',
      ...meta.headers,
    };
    for (const [name, value] of Object.entries(meta.userMetadata)) headers[`x-amz-meta-${name}`] = value;
    for (const name of ['content-disposition', 'cache-control', 'content-encoding', 'content-language', 'expires']) {
      const override = q.get(`response-${name}`);
      if (override !== null) headers[name] = override;
    }
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch && (ifNoneMatch === etag || ifNoneMatch === '*')) {
      res.writeHead(304, { etag, 'last-modified': headers['last-modified'] as string });
      res.end();
      return;
    }
    const ifMatch = req.headers['if-match'];
    if (ifMatch && ifMatch !== etag && ifMatch !== '*') {
      throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', {
        Condition: 'If-Match',
      });
    }
    let start = 0;
    let end = meta.size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (match && (match[1] || match[2])) {
        if (match[1]) {
          start = Number(match[1]);
          end = match[2] ? Math.min(Number(match[2]), meta.size - 1) : meta.size - 1;
        } else {
          start = Math.max(0, meta.size - Number(match[2]));
        }
        if (start >= meta.size || start > end) {
          throw new S3Error('InvalidRange', 416, 'The requested range is not satisfiable', {
            RangeRequested: range,
            ActualObjectSize: String(meta.size),
          });
        }
        status = 206;
        headers['content-range'] = `bytes ${start}-${end}/${meta.size}`;
      }
    }
    headers['content-length'] = meta.size === 0 ? 0 : end - start + 1;
    res.writeHead(status, headers);
    if (headOnly || meta.size === 0) {
      res.end();
      return;
    }
    await pipeline(createReadStream(this.store.filePath(bucket, key), { start, end }), res);
  }

  private async deleteObjects(r: S3Request): Promise<void> {
    const { req, res, bucket } = r;
    const body = await readXmlBody(req);
    const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(body);
    const deleted: XmlNode[] = [];
    const errors: XmlNode[] = [];
    for (const object of xmlBlocks(body, 'Object')) {
      const key = object.Key ?? '';
      try {
        if (await this.store.delete(bucket, key)) {
          this.notifier.publish(this.change({ ...r, key }, 'ObjectRemoved:Delete'));
        }
        if (!quiet) deleted.push({ Key: key });
      } catch (error) {
        const e = error instanceof S3Error ? error : new S3Error('InternalError', 500, String(error));
        errors.push({ Key: key, Code: e.code, Message: e.message });
      }
    }
    sendXml(res, 200, xmlDocument('DeleteResult', { Deleted: deleted, Error: errors }));
  }

  // ---------------------------------------------------------------- multipart upload

  private async createUpload({ req, res, bucket, key }: S3Request): Promise<void> {
    this.store.filePath(bucket, key);
    const uploadId = randomUUID().replace(/-/g, '');
    const upload: Upload = {
      bucket,
      key,
      contentType: req.headers['content-type'] ?? 'binary/octet-stream',
      headers: storedHeaders(req),
      userMetadata: userMetadata(req),
      initiated: Date.now(),
    };
    await mkdir(join(this.store.uploadsDir, uploadId), { recursive: true });
    await writeFile(join(this.store.uploadsDir, uploadId, 'upload.json'), JSON.stringify(upload));
    this.uploads.set(uploadId, upload);
    req.resume();
    sendXml(res, 200, xmlDocument('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: uploadId }));
  }

  private async upload(bucket: string, key: string, uploadId: string): Promise<Upload> {
    let upload = this.uploads.get(uploadId);
    if (!upload && /^[0-9a-f]{32}$/.test(uploadId)) {
      // An upload begun before a restart: its record is on disk.
      try {
        upload = JSON.parse(await readFile(join(this.store.uploadsDir, uploadId, 'upload.json'), 'utf8')) as Upload;
        this.uploads.set(uploadId, upload);
      } catch {
        upload = undefined;
      }
    }
    if (!upload || upload.bucket !== bucket || upload.key !== key) {
      throw new S3Error(
        'NoSuchUpload',
        404,
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        { UploadId: uploadId },
      );
    }
    return upload;
  }

  private async uploadPart({ req, res, bucket, key, query }: S3Request): Promise<void> {
    const uploadId = query.get('uploadId') ?? '';
    const partNumberText = query.get('partNumber');
    await this.upload(bucket, key, uploadId);
    const partNumber = Number(partNumberText);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      throw new S3Error('InvalidArgument', 400, 'Part number must be an integer between 1 and 10000, inclusive', {
        ArgumentName: 'partNumber',
        ArgumentValue: String(partNumberText),
      });
    }
    const { tmp, size, md5 } = await this.receiveBody(req);
    const dir = join(this.store.uploadsDir, uploadId);
    await rename(tmp, join(dir, `part-${partNumber}`));
    await writeFile(join(dir, `part-${partNumber}.json`), JSON.stringify({ size, etag: md5.toString('hex') }));
    sendEmpty(res, 200, { etag: `"${md5.toString('hex')}"` });
  }

  private async completeUpload(r: S3Request): Promise<void> {
    const { req, res, bucket, key } = r;
    const uploadId = r.query.get('uploadId') ?? '';
    const upload = await this.upload(bucket, key, uploadId);
    const requested = xmlBlocks(await readXmlBody(req), 'Part').map((part) => ({
      partNumber: Number(part.PartNumber),
      etag: (part.ETag ?? '').replace(/^"|"$/g, '').replace(/^&quot;|&quot;$/g, ''),
    }));
    if (requested.length === 0) {
      throw new S3Error(
        'MalformedXML',
        400,
        'The XML you provided was not well-formed or did not validate against our published schema',
      );
    }
    const dir = join(this.store.uploadsDir, uploadId);
    const parts: { path: string; size: number; md5: Buffer }[] = [];
    let previous = 0;
    for (const [i, part] of requested.entries()) {
      if (part.partNumber <= previous) {
        throw new S3Error(
          'InvalidPartOrder',
          400,
          'The list of parts was not in ascending order. Parts must be ordered by part number.',
          { UploadId: uploadId },
        );
      }
      previous = part.partNumber;
      let stored: { size: number; etag: string };
      try {
        stored = JSON.parse(await readFile(join(dir, `part-${part.partNumber}.json`), 'utf8')) as {
          size: number;
          etag: string;
        };
      } catch {
        stored = { size: -1, etag: '' };
      }
      if (stored.etag !== part.etag) {
        throw new S3Error(
          'InvalidPart',
          400,
          "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.",
          {
            UploadId: uploadId,
            PartNumber: String(part.partNumber),
            ETag: part.etag,
          },
        );
      }
      if (i < requested.length - 1 && stored.size < MIN_PART_SIZE) {
        throw new S3Error(
          'EntityTooSmall',
          400,
          'Your proposed upload is smaller than the minimum allowed object size.',
          {
            ProposedSize: String(stored.size),
            MinSizeAllowed: String(MIN_PART_SIZE),
            PartNumber: String(part.partNumber),
            ETag: part.etag,
          },
        );
      }
      parts.push({
        path: join(dir, `part-${part.partNumber}`),
        size: stored.size,
        md5: Buffer.from(stored.etag, 'hex'),
      });
    }
    const tmp = this.store.tmpFile();
    const out = createWriteStream(tmp);
    try {
      for (const part of parts) await pipeline(createReadStream(part.path), out, { end: false });
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
    } catch (error) {
      out.destroy();
      await rm(tmp, { force: true });
      throw error;
    }
    // S3's multipart ETag: the MD5 of the concatenated binary part MD5s, then "-<number of parts>".
    const etag = `${createHash('md5')
      .update(Buffer.concat(parts.map((p) => p.md5)))
      .digest('hex')}-${parts.length}`;
    const size = parts.reduce((sum, p) => sum + p.size, 0);
    await this.store.commit(bucket, key, tmp, {
      size,
      etag,
      lastModified: Date.now(),
      contentType: upload.contentType,
      headers: upload.headers,
      userMetadata: upload.userMetadata,
    });
    this.uploads.delete(uploadId);
    await rm(dir, { recursive: true, force: true });
    sendXml(
      res,
      200,
      xmlDocument('CompleteMultipartUploadResult', {
        Location: `${this.baseUrl(req)}/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`,
        Bucket: bucket,
        Key: key,
        ETag: `"${etag}"`,
      }),
    );
    this.notifier.publish(this.change(r, 'ObjectCreated:CompleteMultipartUpload', size, etag));
  }

  private async abortUpload({ res, bucket, key, query }: S3Request): Promise<void> {
    const uploadId = query.get('uploadId') ?? '';
    await this.upload(bucket, key, uploadId);
    this.uploads.delete(uploadId);
    await rm(join(this.store.uploadsDir, uploadId), { recursive: true, force: true });
    sendEmpty(res, 204);
  }

  private baseUrl(req: IncomingMessage): string {
    return `http://${req.headers.host ?? `${this.options.host}:${this.options.port}`}`;
  }

  private change({ req, bucket, key, ids }: S3Request, eventName: string, size?: number, etag?: string) {
    // The requester's access key from the SigV4 Authorization header stands in for its principal id.
    const accessKey = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    return {
      bucket,
      key,
      eventName,
      size,
      etag,
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      requestId: ids.rid,
      hostId: ids.hid,
      principalId: accessKey ? `AWS:${accessKey}` : 'anonymous',
    };
  }
}

const OWNER_ID = '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a';

function sendXml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** An answer without a body (content-length 0 unless the status has no body at all). */
function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, status === 204 ? headers : { ...headers, 'content-length': 0 });
  res.end();
}

function notImplemented(method: string, what: string): S3Error {
  return new S3Error('NotImplemented', 501, `The local S3 does not implement ${method} on ${what}.`);
}

function storedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = req.headers[name];
    if (typeof value !== 'string') continue;
    // aws-chunked is transfer framing, not the object's encoding.
    const cleaned =
      name === 'content-encoding'
        ? value
            .split(',')
            .map((v) => v.trim())
            .filter((v) => v && v !== 'aws-chunked')
            .join(',')
        : value;
    if (cleaned) out[name] = cleaned;
  }
  return out;
}

function userMetadata(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') out[name.slice('x-amz-meta-'.length)] = value;
  }
  return out;
}

/** The XML bodies of DeleteObjects and CompleteMultipartUpload; S3 refuses them over 10 MB. */
function readXmlBody(req: IncomingMessage): Promise<string> {
  const tooLarge = () => new S3Error('MaxMessageLengthExceeded', 400, 'Your request was too big.');
  return readRequestBody(req, 10 * 1024 * 1024, tooLarge).then((body) => body.toString('utf8'));
}

import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

/** What the local S3 keeps about an object besides its bytes. */
export interface ObjectMeta {
  size: number;
  /** MD5 hex (single PUT) or `<md5 of the part MD5s>-<parts>` (multipart), without quotes. */
  etag: string;
  lastModified: number;
  contentType: string;
  /** Content-Encoding, Cache-Control, Content-Disposition, Content-Language, Expires as sent. */
  headers: Record<string, string>;
  /** x-amz-meta-* without the prefix. */
  userMetadata: Record<string, string>;
}

/** A request the local store refuses; the server turns it into S3's error document. */
export class S3Error extends Error {
  override name = 'S3Error';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The runtime's own files live here; bucket names cannot start with a dot, so no bucket can clash with it. */
export const INTERNAL_DIR = '.local-s3';

const UNSAFE = /[%\\:*?"<>|]/;

/** A character the file system (or the shell) handles badly in a name: '%', Windows' reserved ones, controls. */
function encodeUnsafe(segment: string): string {
  let out = '';
  for (const c of segment) {
    const code = c.charCodeAt(0);
    out += UNSAFE.test(c) || code < 0x20 || code === 0x7f ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : c;
  }
  return out;
}

/**
 * The object's path below its bucket folder. Each '/'-separated segment becomes a folder or file name; unsafe
 * characters are percent-encoded and an empty segment ("a//b", the folder marker "dir/") becomes "%", a name the
 * encoding never produces otherwise. "." and ".." segments are refused so no key can leave its bucket.
 */
export function keyToRelativePath(key: string): string {
  if (key.length === 0) throw new S3Error('InvalidArgument', 400, 'The object key must not be empty.');
  if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError', 400, 'Your key is too long');
  const segments = key.split('/').map((segment) => {
    if (segment === '.' || segment === '..') {
      throw new S3Error(
        'InvalidArgument',
        400,
        `The local S3 stores objects as files and refuses keys with "${segment}" segments (${key}).`,
        { Key: key },
      );
    }
    if (segment === '') return '%';
    const encoded = encodeUnsafe(segment);
    if (Buffer.byteLength(encoded) > 255) {
      throw new S3Error('KeyTooLongError', 400, `A segment of the key is longer than a file name may be (255 bytes).`, {
        Key: key,
      });
    }
    return encoded;
  });
  return segments.join(sep);
}

/** The key a file below a bucket folder stands for (the inverse of keyToRelativePath). */
export function relativePathToKey(path: string): string {
  return path
    .split(sep)
    .map((segment) =>
      segment === '%'
        ? ''
        : segment.replace(/%([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    )
    .join('/');
}

const CONTENT_TYPES: Record<string, string> = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  csv: 'text/csv',
  txt: 'text/plain',
  html: 'text/html',
  xml: 'application/xml',
};

/** Objects on disk under `<dataDir>/<bucket>/<key>`, with their metadata indexed in memory and in one file per bucket. */
export class ObjectStore {
  private readonly buckets = new Map<string, { created: number; objects: Map<string, ObjectMeta> }>();
  private readonly saving = new Map<string, Promise<void>>();
  private readonly dirtyBuckets = new Set<string>();

  constructor(readonly dataDir: string) {}

  /** Where multipart parts and uploads in flight are kept. */
  get tmpDir(): string {
    return join(this.dataDir, INTERNAL_DIR, 'tmp');
  }

  get uploadsDir(): string {
    return join(this.dataDir, INTERNAL_DIR, 'uploads');
  }

  private indexFile(bucket: string): string {
    return join(this.dataDir, INTERNAL_DIR, 'meta', `${bucket}.json`);
  }

  /** Loads every bucket folder, reconciling the index with the files (files copied in by hand become objects). */
  async open(templateBuckets: string[]): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.uploadsDir, { recursive: true });
    await mkdir(dirname(this.indexFile('x')), { recursive: true });
    for (const bucket of templateBuckets) await mkdir(join(this.dataDir, bucket), { recursive: true });
    for (const entry of await readdir(this.dataDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      await this.loadBucket(entry.name);
    }
  }

  private async loadBucket(bucket: string): Promise<void> {
    const root = join(this.dataDir, bucket);
    let saved: Record<string, ObjectMeta> = {};
    try {
      saved = JSON.parse(await readFile(this.indexFile(bucket), 'utf8')) as Record<string, ObjectMeta>;
    } catch {
      // No index yet (new bucket) or an unreadable one: rebuilt from the files below.
    }
    const objects = new Map<string, ObjectMeta>();
    for (const file of await walk(root)) {
      const key = relativePathToKey(relative(root, file));
      const info = await stat(file);
      const known = saved[key];
      if (known && known.size === info.size && Math.abs(known.lastModified - info.mtimeMs) < 1000) {
        objects.set(key, known);
      } else {
        objects.set(key, {
          size: info.size,
          etag: await md5File(file),
          lastModified: info.mtimeMs,
          contentType: CONTENT_TYPES[key.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream',
          headers: {},
          userMetadata: {},
        });
      }
    }
    this.buckets.set(bucket, { created: (await stat(root)).birthtimeMs || Date.now(), objects });
    this.markDirty(bucket);
  }

  bucketNames(): { name: string; created: number }[] {
    return [...this.buckets]
      .map(([name, b]) => ({ name, created: b.created }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  hasBucket(bucket: string): boolean {
    return this.buckets.has(bucket);
  }

  /** CreateBucket: a new folder (BucketAlreadyOwnedByYou when it exists, as in us-east-1's newer behaviour). */
  async createBucket(bucket: string): Promise<void> {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
      throw new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.', { BucketName: bucket });
    }
    if (this.buckets.has(bucket)) {
      throw new S3Error(
        'BucketAlreadyOwnedByYou',
        409,
        'Your previous request to create the named bucket succeeded and you already own it.',
        { BucketName: bucket },
      );
    }
    await mkdir(join(this.dataDir, bucket), { recursive: true });
    this.buckets.set(bucket, { created: Date.now(), objects: new Map() });
    this.markDirty(bucket);
  }

  async deleteBucket(bucket: string): Promise<void> {
    const b = this.bucket(bucket);
    if (b.objects.size > 0) {
      throw new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty', { BucketName: bucket });
    }
    await rm(join(this.dataDir, bucket), { recursive: true, force: true });
    await rm(this.indexFile(bucket), { force: true });
    this.buckets.delete(bucket);
  }

  private bucket(bucket: string) {
    const found = this.buckets.get(bucket);
    if (!found) throw new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket });
    return found;
  }

  head(bucket: string, key: string): ObjectMeta {
    const meta = this.bucket(bucket).objects.get(key);
    if (!meta) throw new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { Key: key });
    return meta;
  }

  filePath(bucket: string, key: string): string {
    return join(this.dataDir, bucket, keyToRelativePath(key));
  }

  /** A fresh file name in the internal tmp folder (same file system as the buckets, so rename is atomic). */
  tmpFile(): string {
    return join(this.tmpDir, randomUUID());
  }

  /** Moves a completely written temporary file into place as the object (replacing an older version atomically). */
  async commit(bucket: string, key: string, tmp: string, meta: ObjectMeta): Promise<void> {
    const b = this.bucket(bucket);
    const target = this.filePath(bucket, key);
    try {
      await mkdir(dirname(target), { recursive: true });
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
        throw new S3Error(
          'InvalidArgument',
          400,
          `The local S3 stores objects as files: ${key} cannot exist together with an object that is a prefix of ` +
            'it (or one it is a prefix of) as a folder. Delete one of them or rename the key.',
          { Key: key },
        );
      }
      throw error;
    }
    b.objects.set(key, { ...meta, lastModified: (await stat(target)).mtimeMs });
    this.markDirty(bucket);
  }

  /** DeleteObject; deleting a missing key succeeds, as in S3. Empty folders left behind are removed. */
  async delete(bucket: string, key: string): Promise<boolean> {
    const b = this.bucket(bucket);
    if (!b.objects.has(key)) return false;
    const target = this.filePath(bucket, key);
    await rm(target, { force: true });
    b.objects.delete(key);
    const root = join(this.dataDir, bucket);
    for (let dir = dirname(target); dir.startsWith(root + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty
      }
    }
    this.markDirty(bucket);
    return true;
  }

  /** The bucket's keys in S3 order (UTF-8 binary order, which for these strings is code-unit order). */
  keys(bucket: string): string[] {
    return [...this.bucket(bucket).objects.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  /** Persists the index of a changed bucket; writes are serialised per bucket and coalesced. */
  private markDirty(bucket: string): void {
    this.dirtyBuckets.add(bucket);
    if (this.saving.has(bucket)) return;
    const run = async (): Promise<void> => {
      while (this.dirtyBuckets.delete(bucket)) {
        const b = this.buckets.get(bucket);
        if (!b) return;
        const tmp = `${this.indexFile(bucket)}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(Object.fromEntries(b.objects)));
        await rename(tmp, this.indexFile(bucket));
      }
    };
    this.saving.set(
      bucket,
      run()
        .catch(() => undefined)
        .finally(() => this.saving.delete(bucket)),
    );
  }

  /** Waits until every index is on disk. */
  async flush(): Promise<void> {
    while (this.saving.size > 0) await Promise.all(this.saving.values());
  }
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Removes a file if it exists. */
export async function removeFile(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

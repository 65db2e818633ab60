import type { Readable } from 'node:stream';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { errorLabel, isTransientAwsError, StorageError } from '../lib/errors';

/**
 * The S3 operations the file ingest needs, behind a port so the logic is tested with in-memory objects. Reading is
 * a stream: an object is never held in memory whole.
 */

/** An object being read: its body as a byte stream, and the metadata the ingest reports. */
export interface StoredObject {
  body: Readable | AsyncIterable<Uint8Array>;
  contentType?: string;
  etag?: string;
  size?: number;
}

/** Reads uploaded objects and writes result files. */
export interface ObjectStore {
  /** The object's stream, or undefined when it does not exist (deleted since the event was sent). */
  get(bucket: string, key: string): Promise<StoredObject | undefined>;
  /** Writes a small object (a summary). Failures throw StorageError. */
  put(bucket: string, key: string, body: string, contentType: string): Promise<void>;
}

/**
 * An S3 client for the handler entry. AWS_ENDPOINT_URL_S3 (set by the local runtime) points it at a local S3,
 * which serves buckets by path (`http://localhost:<port>/<bucket>/<key>`), not as DNS subdomains — hence forcePathStyle.
 */
export function createS3Client(
  env: Record<string, string | undefined> = process.env,
  config: S3ClientConfig = {},
): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3?.trim();
  return new S3Client({ ...(endpoint ? { endpoint, forcePathStyle: true } : {}), ...config });
}

/** The S3-backed ObjectStore. */
export function createS3ObjectStore(client: Pick<S3Client, 'send'>): ObjectStore {
  return {
    async get(bucket, key) {
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (answer.Body === undefined) return undefined;
        // In Node the SDK's Body is an http.IncomingMessage (a Readable) with the SDK's stream helpers mixed in.
        return {
          body: answer.Body as Readable,
          ...(answer.ContentType === undefined ? {} : { contentType: answer.ContentType }),
          ...(answer.ETag === undefined ? {} : { etag: answer.ETag.replace(/"/g, '') }),
          ...(answer.ContentLength === undefined ? {} : { size: answer.ContentLength }),
        };
      } catch (error) {
        // Classified by class and name, never by status: a 404 can also mean a missing bucket.
        if (error instanceof NoSuchKey || (error instanceof Error && error.name === 'NoSuchKey')) return undefined;
        throw new StorageError(`GetObject s3://${bucket}/${key} failed: ${errorLabel(error)}`, {
          retryable: isTransientAwsError(error),
          cause: error,
        });
      }
    },
    async put(bucket, key, body, contentType) {
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
      } catch (error) {
        throw new StorageError(`PutObject s3://${bucket}/${key} failed: ${errorLabel(error)}`, {
          retryable: isTransientAwsError(error),
          cause: error,
        });
      }
    },
  };
}

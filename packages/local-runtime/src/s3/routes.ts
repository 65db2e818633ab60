/**
 * Which S3 operation a request asks for, chosen by a table as S3's REST API defines it: the method, what the path
 * names (the service, a bucket or an object), a query marker naming a subresource (?uploads, ?delete, ?location)
 * and, for copies, a header. The first row that matches wins, so narrower rows come first.
 */

/** What the path names: `/`, `/bucket` or `/bucket/key`. */
export type S3Target = 'service' | 'bucket' | 'object';

export type S3Operation =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'HeadBucket'
  | 'GetBucketLocation'
  | 'ListObjects'
  | 'DeleteBucket'
  | 'DeleteObjects'
  | 'CopyObject'
  | 'UploadPart'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'AbortMultipartUpload'
  | 'DeleteObject'
  | 'CreateMultipartUpload'
  | 'CompleteMultipartUpload';

export interface S3Route {
  operation: S3Operation;
  method: string;
  target: S3Target;
  /** A query parameter the request must carry: the subresource that selects the operation. */
  marker?: string;
  /** The only query parameters the operation takes; another one names a subresource it does not serve. Absent: any. */
  params?: readonly string[];
  /** A header the request must carry. */
  header?: string;
}

/** What a route is matched on. */
export interface S3RouteRequest {
  method: string;
  target: S3Target;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

const LIST_PARAMS = [
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'continuation-token',
  'start-after',
  'encoding-type',
  'fetch-owner',
  'marker',
];
// `x-id` names the operation for the SDK's own logs; it selects nothing.
const GET_OBJECT_PARAMS = [
  'x-id',
  'partNumber',
  'versionId',
  'response-content-type',
  'response-content-disposition',
  'response-cache-control',
  'response-content-encoding',
  'response-content-language',
  'response-expires',
];
const NO_PARAMS: readonly string[] = [];

export const S3_ROUTES: readonly S3Route[] = [
  { operation: 'ListBuckets', method: 'GET', target: 'service' },

  { operation: 'CreateBucket', method: 'PUT', target: 'bucket', params: NO_PARAMS },
  { operation: 'HeadBucket', method: 'HEAD', target: 'bucket' },
  { operation: 'GetBucketLocation', method: 'GET', target: 'bucket', marker: 'location' },
  { operation: 'ListObjects', method: 'GET', target: 'bucket', params: LIST_PARAMS },
  { operation: 'DeleteBucket', method: 'DELETE', target: 'bucket', params: NO_PARAMS },
  { operation: 'DeleteObjects', method: 'POST', target: 'bucket', marker: 'delete' },

  { operation: 'CopyObject', method: 'PUT', target: 'object', header: 'x-amz-copy-source' },
  { operation: 'UploadPart', method: 'PUT', target: 'object', marker: 'uploadId' },
  { operation: 'PutObject', method: 'PUT', target: 'object', params: ['x-id'] },
  { operation: 'GetObject', method: 'GET', target: 'object', params: GET_OBJECT_PARAMS },
  { operation: 'HeadObject', method: 'HEAD', target: 'object', params: GET_OBJECT_PARAMS },
  { operation: 'AbortMultipartUpload', method: 'DELETE', target: 'object', marker: 'uploadId' },
  { operation: 'DeleteObject', method: 'DELETE', target: 'object' },
  { operation: 'CreateMultipartUpload', method: 'POST', target: 'object', marker: 'uploads' },
  { operation: 'CompleteMultipartUpload', method: 'POST', target: 'object', marker: 'uploadId' },
];

/** The first route the request matches; undefined when the local S3 does not implement what it asks for. */
export function matchS3Route(request: S3RouteRequest, routes: readonly S3Route[] = S3_ROUTES): S3Route | undefined {
  const names = [...request.query.keys()];
  return routes.find(
    (route) =>
      route.method === request.method &&
      route.target === request.target &&
      (route.marker === undefined || request.query.has(route.marker)) &&
      (route.params === undefined || names.every((name) => route.params?.includes(name))) &&
      (route.header === undefined || request.headers[route.header] !== undefined),
  );
}

/** What a request no route serves asked for, as the NotImplemented message words it. */
export function unservedResource(request: S3RouteRequest): string {
  const names = [...request.query.keys()].join(', ');
  switch (request.target) {
    case 'service':
      return 'the service';
    case 'bucket':
      return `bucket subresource ${names || '(none)'}`;
    case 'object':
      return S3_ROUTES.some((route) => route.target === 'object' && route.method === request.method)
        ? `object subresource ${names}`
        : 'objects';
  }
}

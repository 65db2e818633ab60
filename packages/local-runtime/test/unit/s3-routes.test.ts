import fc from 'fast-check';
import { matchS3Route, S3_ROUTES, type S3Target, unservedResource } from '../../src/s3/routes';

// The local S3's routing table: which operation a method, a path shape, a query marker and a header select.

function request(method: string, target: S3Target, query = '', headers: Record<string, string> = {}) {
  return { method, target, query: new URLSearchParams(query), headers };
}

test.each([
  ['GET', 'service', '', {}, 'ListBuckets'],
  ['PUT', 'bucket', '', {}, 'CreateBucket'],
  ['HEAD', 'bucket', '', {}, 'HeadBucket'],
  ['GET', 'bucket', 'location', {}, 'GetBucketLocation'],
  ['GET', 'bucket', 'list-type=2&prefix=a%2F&max-keys=2', {}, 'ListObjects'],
  ['GET', 'bucket', 'marker=k', {}, 'ListObjects'],
  ['DELETE', 'bucket', '', {}, 'DeleteBucket'],
  ['POST', 'bucket', 'delete', {}, 'DeleteObjects'],
  ['PUT', 'object', '', { 'x-amz-copy-source': 'b/k' }, 'CopyObject'],
  ['PUT', 'object', 'uploadId=u&partNumber=1', { 'x-amz-copy-source': 'b/k' }, 'CopyObject'],
  ['PUT', 'object', 'uploadId=u&partNumber=1', {}, 'UploadPart'],
  ['PUT', 'object', 'x-id=PutObject', {}, 'PutObject'],
  ['GET', 'object', 'response-content-type=text%2Fplain', {}, 'GetObject'],
  ['HEAD', 'object', '', {}, 'HeadObject'],
  ['DELETE', 'object', 'uploadId=u', {}, 'AbortMultipartUpload'],
  ['DELETE', 'object', 'x-id=DeleteObject', {}, 'DeleteObject'],
  ['POST', 'object', 'uploads', {}, 'CreateMultipartUpload'],
  ['POST', 'object', 'uploadId=u', {}, 'CompleteMultipartUpload'],
] as const)('%s %s ?%s %j → %s', (method, target, query, headers, operation) => {
  expect(matchS3Route(request(method, target, query, headers))?.operation).toBe(operation);
});

test.each([
  ['PUT', 'service', '', 'the service'],
  ['PUT', 'bucket', 'versioning', 'bucket subresource versioning'],
  ['GET', 'bucket', 'acl', 'bucket subresource acl'],
  ['POST', 'bucket', '', 'bucket subresource (none)'],
  ['DELETE', 'bucket', 'cors', 'bucket subresource cors'],
  ['PUT', 'object', 'tagging', 'object subresource tagging'],
  ['GET', 'object', 'acl', 'object subresource acl'],
  ['POST', 'object', '', 'object subresource '],
  ['PATCH', 'object', '', 'objects'],
] as const)('%s %s ?%s is not served: "%s"', (method, target, query, what) => {
  const unserved = request(method, target, query);
  expect(matchS3Route(unserved)).toBeUndefined();
  expect(unservedResource(unserved)).toBe(what);
});

test('no row is shadowed by an earlier one: the least request for each row selects that row', () => {
  for (const route of S3_ROUTES) {
    const least = request(route.method, route.target, route.marker ?? '', route.header ? { [route.header]: 'x' } : {});
    expect(matchS3Route(least)).toBe(route);
  }
});

test('any request selects a row whose conditions it meets, or none', () => {
  const names = ['uploads', 'uploadId', 'delete', 'location', 'prefix', 'x-id', 'acl', 'partNumber', 'tagging'];
  fc.assert(
    fc.property(
      fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH'),
      fc.constantFrom<S3Target>('service', 'bucket', 'object'),
      fc.subarray(names),
      fc.boolean(),
      (method, target, queryNames, copy) => {
        const query = queryNames.map((name) => `${name}=v`).join('&');
        const asked = request(method, target, query, copy ? { 'x-amz-copy-source': 'b/k' } : {});
        const route = matchS3Route(asked);
        if (!route) {
          expect(unservedResource(asked)).not.toBe('');
          return;
        }
        expect(route).toMatchObject({ method, target });
        if (route.marker) expect(queryNames).toContain(route.marker);
        for (const name of queryNames) if (route.params) expect(route.params).toContain(name);
        if (route.header) expect(copy).toBe(true);
      },
    ),
  );
});

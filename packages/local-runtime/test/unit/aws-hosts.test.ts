import { type AwsHostRoutes, routeAwsHost } from '../../src/functions/aws-hosts';

const routes: AwsHostRoutes = {
  executeApi: { abc123defg: 'http://localhost:3001', http123456: 'http://localhost:3000' },
  services: { dynamodb: 'http://localhost:8000', s3: 'http://localhost:4569', sqs: 'http://localhost:4576' },
  localPorts: [3001, 3000],
};
const route = (url: string) => {
  const result = routeAwsHost(new URL(url), routes);
  return result === undefined ? undefined : 'url' in result ? result.url.href : `error: ${result.error}`;
};

test('execute-api hosts of the template go to the local gateway or HTTP API, path and query kept (custom stages too)', () => {
  expect(route('https://abc123defg.execute-api.eu-west-1.amazonaws.com/my-stage/@connections/R1k%3D?x=1')).toBe(
    'http://localhost:3001/my-stage/@connections/R1k%3D?x=1',
  );
  expect(route('https://http123456.execute-api.us-east-1.amazonaws.com/items')).toBe('http://localhost:3000/items');
});

test('an execute-api host of another API is a clear error naming the host and the known APIs', () => {
  expect(route('https://zzz9999999.execute-api.us-east-1.amazonaws.com/prod')).toBe(
    'error: zzz9999999.execute-api.us-east-1.amazonaws.com: API zzz9999999 is not an API of the template the local ' +
      "runtime runs (its APIs: abc123defg, http123456). Use the apiId from the event's requestContext or the " +
      'template (!Ref), or an endpoint of your own.',
  );
});

test('service hosts go to the local service: regional, account-based, streams, dual-stack, virtual-hosted S3', () => {
  expect(route('https://dynamodb.us-east-1.amazonaws.com/')).toBe('http://localhost:8000/');
  expect(route('https://123456789012.ddb.us-east-1.amazonaws.com/')).toBe('http://localhost:8000/');
  expect(route('https://streams.dynamodb.us-east-1.amazonaws.com/')).toBe('http://localhost:8000/');
  expect(route('https://dynamodb.us-east-1.api.aws/')).toBe('http://localhost:8000/');
  expect(route('https://sqs.eu-west-1.amazonaws.com/123456789012/q')).toBe('http://localhost:4576/123456789012/q');
  expect(route('https://my.bucket.s3.us-east-1.amazonaws.com/a/b.json?x-id=GetObject')).toBe(
    'http://localhost:4569/my.bucket/a/b.json?x-id=GetObject',
  );
  expect(route('https://s3.us-east-1.amazonaws.com/bucket/key')).toBe('http://localhost:4569/bucket/key');
});

test('other AWS hosts fail with the host named; other hosts and plain http to local ports are left alone', () => {
  expect(route('https://sts.us-east-1.amazonaws.com/')).toMatch(
    /^error: sts\.us-east-1\.amazonaws\.com is an AWS endpoint the local runtime does not run \(it runs dynamodb, s3, sqs/,
  );
  expect(route('https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json')).toMatch(
    /^error: cognito-idp/,
  );
  expect(route('https://example.com/amazonaws.com')).toBeUndefined();
  expect(route('https://notamazonaws.com/')).toBeUndefined();
  expect(route('http://localhost:3001/dev/@connections/x')).toBeUndefined();
  expect(route('https://localhost:9999/')).toBeUndefined();
});

test("https to the runtime's own plain-HTTP ports (requestContext.domainName is localhost:port) goes as http", () => {
  expect(route('https://localhost:3001/dev/@connections/abc')).toBe('http://localhost:3001/dev/@connections/abc');
  expect(route('https://127.0.0.1:3000/items')).toBe('http://127.0.0.1:3000/items');
});

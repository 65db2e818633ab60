import fc from 'fast-check';
import { functionArn, functionNameOfArn } from '../../src/arns';

test('a function ARN has the shape Lambda reports', () => {
  expect(functionArn('eu-west-1', '123456789012', 'rtp-OnConnect')).toBe(
    'arn:aws:lambda:eu-west-1:123456789012:function:rtp-OnConnect',
  );
});

test.each([
  ['arn:aws:lambda:eu-west-1:123456789012:function:OnConnect', 'OnConnect'],
  ['arn:aws:lambda:eu-west-1:123456789012:function:OnConnect:live', 'OnConnect'],
  ['arn:aws-cn:lambda:cn-north-1:123456789012:function:OnConnect:7', 'OnConnect'],
  ['arn:aws:sqs:eu-west-1:123456789012:queue', undefined],
  ['OnConnect', undefined],
  ['arn:aws:lambda:eu-west-1:123456789012:layer:shared:1', undefined],
])('the function name of %s is %s', (text, name) => {
  expect(functionNameOfArn(text)).toBe(name);
});

test('the name comes back out of any ARN built from it', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
  const region = fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-2');
  fc.assert(
    fc.property(region, name, (r, n) => {
      expect(functionNameOfArn(functionArn(r, '123456789012', n))).toBe(n);
    }),
  );
});

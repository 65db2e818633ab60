import { randomUUID } from 'node:crypto';
import { type XmlNode, xmlDocument } from '../s3/xml';
import { SnsError, type SnsMessageAttribute, type TopicStore } from './topics';

/**
 * The SNS query protocol (form-encoded `Action=Publish&…`, XML answers), what SDK v3 and the AWS CLI speak. Each
 * action takes the form's parameters and answers the XML document SNS answers, or throws an SnsError.
 */
export const SNS_NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** Runs one SNS action; `functionOf` maps a Lambda ARN to a template function (Subscribe with protocol lambda). */
export function snsAction(
  topics: TopicStore,
  params: URLSearchParams,
  functionOf: (arn: string) => string | undefined,
): string {
  const action = params.get('Action') ?? '';
  const answer = (result: XmlNode | undefined) =>
    xmlDocument(
      `${action}Response`,
      { ...(result ? { [`${action}Result`]: result } : {}), ResponseMetadata: { RequestId: randomUUID() } },
      SNS_NAMESPACE,
    );
  switch (action) {
    case 'CreateTopic':
      return answer({ TopicArn: topics.create(required(params, 'Name')) });
    case 'DeleteTopic':
      topics.delete(required(params, 'TopicArn'));
      return answer(undefined);
    case 'ListTopics':
      return answer({ Topics: { member: topics.list().map((TopicArn) => ({ TopicArn })) } });
    case 'GetTopicAttributes': {
      const arn = required(params, 'TopicArn');
      if (!topics.has(arn)) throw new SnsError('NotFound', 'Topic does not exist', 404);
      const subscriptions = topics.subscriptionsOf(arn).length;
      const attributes = { TopicArn: arn, SubscriptionsConfirmed: String(subscriptions), SubscriptionsPending: '0' };
      return answer({ Attributes: { entry: Object.entries(attributes).map(([key, value]) => ({ key, value })) } });
    }
    case 'Publish': {
      const topicArn = params.get('TopicArn') ?? params.get('TargetArn');
      if (!topicArn) {
        throw new SnsError(
          'InvalidParameter',
          'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter',
        );
      }
      const subject = params.get('Subject') ?? undefined;
      const messageId = topics.publish({
        topicArn,
        message: messageOf(params),
        ...(subject !== undefined ? { subject } : {}),
        messageAttributes: messageAttributes(params),
      });
      return answer({ MessageId: messageId });
    }
    case 'Subscribe': {
      const topicArn = required(params, 'TopicArn');
      const protocol = required(params, 'Protocol');
      const endpoint = required(params, 'Endpoint');
      const attributes = entries(params, 'Attributes', 'key', 'value');
      let subscription: ReturnType<TopicStore['subscribe']>;
      if (protocol === 'sqs') {
        subscription = topics.subscribe({
          topicArn,
          protocol,
          endpoint,
          rawMessageDelivery: attributes.RawMessageDelivery === 'true',
        });
      } else if (protocol === 'lambda') {
        const functionId = functionOf(endpoint);
        if (!functionId) {
          throw new SnsError(
            'InvalidParameter',
            `Invalid parameter: Lambda endpoint ${endpoint} is not a function of the template`,
          );
        }
        subscription = topics.subscribe({ topicArn, protocol, endpoint, functionId, eventId: 'Subscribe' });
      } else {
        throw new SnsError(
          'InvalidParameter',
          `Invalid parameter: Protocol ${protocol}: the local SNS delivers to sqs and lambda subscriptions only`,
        );
      }
      return answer({ SubscriptionArn: subscription.arn });
    }
    case 'Unsubscribe':
      topics.unsubscribe(required(params, 'SubscriptionArn'));
      return answer(undefined);
    case 'ListSubscriptions':
    case 'ListSubscriptionsByTopic': {
      const topicArn = action === 'ListSubscriptionsByTopic' ? required(params, 'TopicArn') : undefined;
      const member = topics.subscriptionsOf(topicArn).map((s) => ({
        SubscriptionArn: s.arn,
        Owner: s.topicArn.split(':')[4],
        Protocol: s.protocol,
        Endpoint: s.endpoint,
        TopicArn: s.topicArn,
      }));
      return answer({ Subscriptions: { member } });
    }
    default:
      throw new SnsError(
        'InvalidAction',
        `The action ${action || '(none)'} is not valid for this endpoint (the local SNS runs topics, subscriptions and Publish).`,
      );
  }
}

/** The error document SNS answers. */
export function snsErrorDocument(error: SnsError): string {
  return xmlDocument(
    'ErrorResponse',
    {
      Error: { Type: error.status >= 500 ? 'Receiver' : 'Sender', Code: error.code, Message: error.message },
      RequestId: randomUUID(),
    },
    SNS_NAMESPACE,
  );
}

/** Message, or with MessageStructure=json the "default" (or "sqs"/"lambda") entry of the JSON message. */
function messageOf(params: URLSearchParams): string {
  const message = params.get('Message');
  if (message === null)
    throw new SnsError('InvalidParameter', 'Invalid parameter: Message Reason: no value for required parameter');
  if (params.get('MessageStructure') !== 'json') return message;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw new SnsError('InvalidParameter', 'Invalid parameter: Message Structure - JSON message body failed to parse');
  }
  const fallback = (parsed as Record<string, unknown> | null)?.default;
  if (typeof fallback !== 'string') {
    throw new SnsError(
      'InvalidParameter',
      'Invalid parameter: Message Structure - No default entry in JSON message body',
    );
  }
  return fallback;
}

function messageAttributes(params: URLSearchParams): Record<string, SnsMessageAttribute> {
  const out: Record<string, SnsMessageAttribute> = {};
  for (let i = 1; params.has(`MessageAttributes.entry.${i}.Name`); i += 1) {
    const prefix = `MessageAttributes.entry.${i}`;
    const name = params.get(`${prefix}.Name`) as string;
    const type = params.get(`${prefix}.Value.DataType`) ?? '';
    const value = params.get(`${prefix}.Value.StringValue`) ?? params.get(`${prefix}.Value.BinaryValue`);
    if (!/^(String|Number|Binary|String\.Array)(\..+)?$/.test(type) || value === null) {
      throw new SnsError(
        'ParameterValueInvalid',
        `The message attribute '${name}' has an invalid message attribute type or no value.`,
      );
    }
    out[name] = { Type: type, Value: value };
  }
  return out;
}

/** `Name.entry.N.key=…&Name.entry.N.value=…` as a record. */
function entries(params: URLSearchParams, name: string, key: string, value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 1; params.has(`${name}.entry.${i}.${key}`); i += 1) {
    out[params.get(`${name}.entry.${i}.${key}`) as string] = params.get(`${name}.entry.${i}.${value}`) ?? '';
  }
  return out;
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (!value)
    throw new SnsError('InvalidParameter', `Invalid parameter: ${name} Reason: no value for required parameter`);
  return value;
}

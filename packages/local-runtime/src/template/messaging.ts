import type { FunctionSpec, QueueSpec, SnsQueueSubscriptionSpec, TopicSpec } from '../types';
import type { CfnResource } from './cfn-yaml';
import type { TemplateContext } from './context';
import { show, TemplateError } from './errors';

/** What the local SQS and SNS serve of a template: its queues, topics, SQS subscriptions and async DLQs. */
export interface MessagingModel {
  queues: QueueSpec[];
  topics: TopicSpec[];
  snsQueueSubscriptions: SnsQueueSubscriptionSpec[];
  asyncDeadLetterQueues: Record<string, string>;
}

type Props = Record<string, unknown>;

/** Reads the template's AWS::SQS::Queue, AWS::SNS::Topic and AWS::SNS::Subscription resources, resolved. */
export function messagingModel(ctx: TemplateContext, functions: Map<string, FunctionSpec>): MessagingModel {
  const out: MessagingModel = { queues: [], topics: [], snsQueueSubscriptions: [], asyncDeadLetterQueues: {} };
  const queueNameOfArn = (arn: unknown) => (typeof arn === 'string' ? arn.slice(arn.lastIndexOf(':') + 1) : '');
  for (const [logicalId, resource] of ctx.active) {
    const props = (resolve(ctx, logicalId, resource) ?? {}) as Props;
    switch (resource.Type) {
      case 'AWS::SQS::Queue':
        out.queues.push(queueSpec(logicalId, String(ctx.getAtt(logicalId, 'QueueName')), props));
        break;
      case 'AWS::SNS::Topic': {
        const topicArn = String(ctx.ref(logicalId));
        out.topics.push({ logicalId, topicName: String(ctx.getAtt(logicalId, 'TopicName')), topicArn });
        for (const subscription of Array.isArray(props.Subscription) ? (props.Subscription as Props[]) : []) {
          if (subscription?.Protocol === 'sqs') {
            out.snsQueueSubscriptions.push({
              topicArn,
              queueArn: String(subscription.Endpoint),
              rawMessageDelivery: false,
            });
          } else {
            ctx.skip(
              `${logicalId}.Subscription`,
              `${show(subscription?.Protocol)} subscription`,
              'the local SNS delivers to SQS queues and Lambda functions (SNS events) only',
            );
          }
        }
        break;
      }
      case 'AWS::SNS::Subscription':
        if (props.Protocol === 'sqs') {
          out.snsQueueSubscriptions.push({
            topicArn: String(props.TopicArn),
            queueArn: String(props.Endpoint),
            rawMessageDelivery: props.RawMessageDelivery === true || props.RawMessageDelivery === 'true',
          });
        } else if (props.Protocol !== 'lambda' || !ctx.functionIdOf(props.Endpoint, functions)) {
          ctx.skip(
            logicalId,
            `AWS::SNS::Subscription (${show(props.Protocol)})`,
            'the local SNS delivers to SQS queues of the template and to its functions through SNS events only',
          );
        }
        break;
      case 'AWS::Serverless::Function': {
        // SAM's DeadLetterQueue: where Lambda sends an asynchronous (SNS, S3) event after its retries failed.
        const dlq = props.DeadLetterQueue as Props | undefined;
        if (dlq?.Type === 'SQS' && typeof dlq.TargetArn === 'string') {
          out.asyncDeadLetterQueues[logicalId] = queueNameOfArn(dlq.TargetArn);
        }
        break;
      }
    }
  }
  return out;
}

function resolve(ctx: TemplateContext, logicalId: string, resource: CfnResource): unknown {
  if (
    !['AWS::SQS::Queue', 'AWS::SNS::Topic', 'AWS::SNS::Subscription', 'AWS::Serverless::Function'].includes(
      resource.Type,
    )
  )
    return undefined;
  if (resource.Type === 'AWS::Serverless::Function') {
    const dlq = resource.Properties?.DeadLetterQueue;
    return dlq === undefined
      ? {}
      : { DeadLetterQueue: ctx.resolver.resolve(dlq, `${logicalId}.Properties.DeadLetterQueue`) };
  }
  return ctx.resolver.resolve(resource.Properties ?? {}, `${logicalId}.Properties`);
}

function queueSpec(logicalId: string, queueName: string, props: Props): QueueSpec {
  const number = (name: string, fallback: number, min: number, max: number) => {
    if (props[name] === undefined) return fallback;
    const value = Number(props[name]);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new TemplateError(
        `Queue ${logicalId}: ${name} is ${JSON.stringify(props[name])}; SQS allows ${min} to ${max}.`,
        logicalId,
      );
    }
    return value;
  };
  const redrive = props.RedrivePolicy as Props | string | undefined;
  const policy = typeof redrive === 'string' ? (JSON.parse(redrive) as Props) : redrive;
  let parsed: QueueSpec['redrive'];
  if (policy) {
    const target = policy.deadLetterTargetArn;
    const max = Number(policy.maxReceiveCount);
    if (typeof target !== 'string' || !Number.isInteger(max) || max < 1 || max > 1000) {
      throw new TemplateError(
        `Queue ${logicalId}: RedrivePolicy needs deadLetterTargetArn (e.g. !GetAtt DeadLetterQueue.Arn) and maxReceiveCount 1–1000.`,
        logicalId,
      );
    }
    parsed = { deadLetterQueueName: target.slice(target.lastIndexOf(':') + 1), maxReceiveCount: max };
  }
  return {
    logicalId,
    queueName,
    visibilityTimeoutSeconds: number('VisibilityTimeout', 30, 0, 43_200),
    delaySeconds: number('DelaySeconds', 0, 0, 900),
    receiveMessageWaitTimeSeconds: number('ReceiveMessageWaitTimeSeconds', 0, 0, 20),
    messageRetentionSeconds: number('MessageRetentionPeriod', 345_600, 60, 1_209_600),
    maximumMessageSize: number('MaximumMessageSize', 1_048_576, 1024, 1_048_576),
    ...(parsed ? { redrive: parsed } : {}),
  };
}

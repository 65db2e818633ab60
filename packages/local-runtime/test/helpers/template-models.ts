import { join } from 'node:path';
import { buildPlatformModel, parseCfnTemplate, TemplateError } from '../../src/template';
import type { PlatformModel } from '../../src/types';
import { fixtures } from './paths';

/** Builds a model from inline YAML, as if the file sat in test/fixtures/templates (functions use fixtures/functions). */
export function modelOf(yaml: string, options: Partial<Parameters<typeof buildPlatformModel>[1]> = {}): PlatformModel {
  return buildPlatformModel(parseCfnTemplate(yaml), {
    templatePath: join(fixtures, 'templates', 'inline.yaml'),
    ...options,
  });
}

/** The TemplateError `run` throws; anything else (or nothing) fails the test. */
export function errorOf(run: () => unknown): TemplateError {
  try {
    run();
  } catch (error) {
    if (error instanceof TemplateError) return error;
    throw error;
  }
  throw new Error('expected a TemplateError');
}

/** YAML under Resources: an HTTP API `Api` and its route `Route` (raw ApiGatewayV2), the route's other properties after. */
export function rawHttpApiRoute(routeKey: string, routeProperties: string): string {
  return `  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: { Name: api, ProtocolType: HTTP }
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: ${routeKey}
${routeProperties}`;
}

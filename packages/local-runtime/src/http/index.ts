/** The API Gateway HTTP API (payload format 2.0) emulation for the local runtime. */
export {
  AUTHORIZER_TIMEOUT_MS,
  type AuthorizeHttpRequestOptions,
  authorizeHttpRequest,
  type HttpAuthorizerDecision,
  identityValues,
  routeArnOf,
} from './authorizer';
export type { CorsConfig } from './cors';
export {
  buildHttpApiEvent,
  buildHttpApiEventV1,
  formatRequestTime,
  type HttpApiEventV1,
  type HttpApiEventV2,
  isTextContentType,
} from './event';
export { gatewayErrors, type HttpReply, mapOutcome } from './response';
export { type CompiledRoute, compileRoutes, HttpRouteError, matchRoute, type RouteMatch } from './routes';
export {
  type HttpApiOptions,
  maxRequestBodyBytes,
  type RunningHttpApi,
  startHttpApi,
} from './server';

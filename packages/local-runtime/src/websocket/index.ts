export { authorizeConnect, evaluatePolicy, hasIdentitySources, type WebSocketAuthorizerEvent } from './authorizer';
export type {
  WebSocketConnectEvent,
  WebSocketDisconnectEvent,
  WebSocketIdentity,
  WebSocketMessageEvent,
  WebSocketRequestContext,
} from './events';
export {
  AWS_WEBSOCKET_LIMITS,
  type OpenConnection,
  startWebSocketGateway,
  type WebSocketGateway,
  type WebSocketGatewayLimits,
  type WebSocketGatewayOptions,
} from './gateway';
export { awsStyleId } from './ids';
export { compileRouteSelection, type RouteSelector } from './route-selection';

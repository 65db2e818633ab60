/** Picks a route key from a text message body, or undefined when the expression selects nothing. */
export type RouteSelector = (body: string) => string | undefined;

/**
 * Compiles a WebSocket RouteSelectionExpression. API Gateway evaluates `$request.body.<path>` (also written
 * `${request.body.<path>}`) against a JSON body; a body that is not JSON or lacks the path selects nothing,
 * which sends the message to `$default`.
 */
export function compileRouteSelection(expression: string): RouteSelector {
  const match = /^\$(?:request\.body\.([^{}\s]+)|\{request\.body\.([^{}\s]+)\})$/.exec(expression.trim());
  const path = match?.[1] ?? match?.[2];
  if (!path) {
    throw new Error(
      `Unsupported RouteSelectionExpression "${expression}": the local gateway supports $request.body.<path>, e.g. $request.body.action`,
    );
  }
  const segments = path.split('.');
  return (body) => {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
    for (const segment of segments) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
      value = (value as Record<string, unknown>)[segment];
    }
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return undefined;
  };
}

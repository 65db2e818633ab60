/**
 * JwtAuthorizerFunction (AuthMode=jwt): the Lambda REQUEST authorizer of the WebSocket $connect (?token=) and of the
 * HTTP API's user routes (Authorization: Bearer). Keys: JWT_SECRET_ARN (HS256, secret in Secrets Manager), or
 * JWT_JWKS_URL (RS256/ES256: Cognito, Auth0), or JWT_SECRET (local runs; `npm start -- --auth jwt` sets it).
 * Status codes are documented in logic/jwt-authorizer.ts.
 */
import { secretsManagerSecret } from '../adapters/jwt-secret';
import { createJwtVerifier } from '../adapters/jwt-verifier';
import { loadJwtConfig } from '../config/jwt';
import { createJwtAuthorizerHandler } from './logic/jwt-authorizer';
import { lambdaEntry } from './wiring/dependencies';

const config = loadJwtConfig();

const verifier = createJwtVerifier({
  secret: config.secret ?? (config.secretArn === undefined ? undefined : secretsManagerSecret(config.secretArn)),
  ...(config.jwksUrl === undefined ? {} : { jwksUrl: config.jwksUrl }),
  ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
  ...(config.audience === undefined ? {} : { audience: config.audience }),
  userIdClaim: config.userIdClaim,
});
// Fetch the secret / JWKS during init (boosted CPU, off the first caller's clock); failures surface on first use.
void verifier.warmUp();

/** Lambda entry of JwtAuthorizerFunction (template Handler: jwt-authorizer.handler). */
export const handler = lambdaEntry(({ logger }) => createJwtAuthorizerHandler({ verifier, logger }));

import { SignJWT } from 'jose';
import { JWT_AUTHORIZER_FUNCTION } from '../auth';
import type { PlatformModel } from '../types';

/** Signs development tokens with the local HS256 secret, as `npm run token` does; absent without AuthMode=jwt. */
export type TokenSigner = (userId: string) => Promise<string>;

const TOKEN_LIFETIME_SECONDS = 3600;

/** The signer for the platform's auth settings, or undefined when tokens are not used or not signable here. */
export function devTokenSigner(model: PlatformModel): TokenSigner | undefined {
  if (model.parameters.AuthMode !== 'jwt') return undefined;
  const secret = model.functions.get(JWT_AUTHORIZER_FUNCTION)?.environment.JWT_SECRET;
  if (!secret) return undefined; // JWKS tokens come from the identity provider
  const key = new TextEncoder().encode(secret);
  const claim = model.parameters.JwtUserIdClaim?.trim() || 'sub';
  const issuer = model.parameters.JwtIssuer?.trim();
  const audience = model.parameters.JwtAudience?.trim();
  return async (userId) => {
    const issuedAt = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ [claim]: userId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + TOKEN_LIFETIME_SECONDS);
    if (issuer) jwt.setIssuer(issuer);
    if (audience) jwt.setAudience(audience);
    return jwt.sign(key);
  };
}

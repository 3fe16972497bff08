// JWTs signed by a test with the OP's own keys (the OP's testHooks report hands them out), for
// tokens the OP would never send: a logout token with a wrong aud, no events, a nonce...
import { createPrivateKey, randomBytes, sign } from 'node:crypto';

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

// A compact JWS of payload under jwk (a private JWK with kid and alg RS256 or ES256); header
// members are added to { alg, kid, typ: 'JWT' } (a member given as undefined is left out).
export function signJwt(payload, jwk, header = {}) {
    const fields = { alg: jwk.alg, kid: jwk.kid, typ: 'JWT', ...header };
    const h = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const input = `${b64(h)}.${b64(payload)}`;
    const { kty, n, e, d, p, q, dp, dq, qi, crv, x, y } = jwk;
    const key = createPrivateKey({ key: { kty, n, e, d, p, q, dp, dq, qi, crv, x, y }, format: 'jwk' });
    const signature = jwk.alg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', Buffer.from(input), key);
    return `${input}.${signature.toString('base64url')}`;
}

export const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

// The claims of a valid logout token from issuer to clientId for sub and/or sid (either may be
// undefined), issued now; more: claims added or replaced (undefined removes one).
export function logoutClaims({ iss, aud, sub, sid, ...more }) {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
        iss, aud, iat: now, exp: now + 120, jti: randomBytes(16).toString('base64url'),
        events: { [BACKCHANNEL_EVENT]: {} }, sub, sid, ...more,
    };
    return Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
}

/* Status codes of the core, in APR's user error space. */
#ifndef IPSIE_ERROR_H
#define IPSIE_ERROR_H

#include <apr_errno.h>

#define IPSIE_ERR_BASE (APR_OS_START_USERERR + 4200)

enum {
    IPSIE_ERR_MALFORMED = IPSIE_ERR_BASE, /* input does not parse */
    IPSIE_ERR_TOO_LARGE,                  /* input over a size limit */
    IPSIE_ERR_CRYPTO,                     /* authentication tag, key or library failure */
    IPSIE_ERR_JWT_ALG,                    /* alg not on the allow-list, none, HMAC */
    IPSIE_ERR_JWT_KID,                    /* no key in the JWKS for the token's kid */
    IPSIE_ERR_JWT_SIGNATURE,              /* signature does not verify */
    IPSIE_ERR_JWT_CLAIMS,                 /* typ, iss, aud, azp, exp, iat, nonce ... wrong */
    IPSIE_ERR_SESSION_EXPIRY_INVALID,     /* session_expiry present but not a sane integer */
    IPSIE_ERR_SESSION_EXPIRY_MISSING,     /* absent while required */
    IPSIE_ERR_SESSION_EXPIRY_PAST,        /* at or before now + leeway at login */
    IPSIE_ERR_EXPIRED,                    /* a timed value (state, token) is too old */
    IPSIE_ERR_NOT_SAME_ORIGIN,            /* URL is not on our origin */
    IPSIE_ERR_HTTP,                       /* transport failure talking to the OP */
    IPSIE_ERR_HTTP_STATUS,                /* OP answered with an unexpected status */
    IPSIE_ERR_METADATA,                   /* discovery document unusable */
    IPSIE_ERR_ISSUER_MISMATCH,            /* metadata or response iss is not ours */
    IPSIE_ERR_BUSY,        /* too many requests already wait for the OP: refused at once */
    IPSIE_ERR_THROTTLED,   /* a refetch was wanted but the last one is too recent */
    IPSIE_ERR_STATE_OTHER, /* a login state cookie holds another login's state */
    IPSIE_ERR_KV,          /* the shared store cannot answer: down, slow or garbled */
    IPSIE_ERR_REPLAY,      /* a single-use value (login state, jti) was used already */
    IPSIE_ERR_REVOKED,     /* a revocation entry ended the session */
    IPSIE_ERR_OP_REFUSED   /* the OP refused a request (RFC 6749 5.2, e.g. invalid_grant) */
};

#endif

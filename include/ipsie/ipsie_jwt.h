/* Claim rules the JWTs the core validates share (the ID token, the logout token). */
#ifndef IPSIE_JWT_H
#define IPSIE_JWT_H

#include <stddef.h>

#include <jansson.h>

/* OIDC Core 2: sub is at most 255 ASCII characters; a logout token's sid is held to the same. */
#define IPSIE_JWT_NAME_MAX_LEN 255

/* 1 when aud (a claims member, NULL when absent) names client_id: a string equal to it, or
 * (unless single_string) a non-empty array of strings holding it, and only it unless
 * others_allowed. On 1, *count is the number of audiences. */
int ipsie_jwt_aud_ok(size_t *count, json_t *aud, const char *client_id, int single_string,
                     int others_allowed);

/* 1 when s may name a user or a session (sub, sid): a non-empty string of at most
 * IPSIE_JWT_NAME_MAX_LEN bytes without control characters, for it goes into log lines, headers
 * and keys. NULL names nothing. */
int ipsie_jwt_name_ok(const char *s);

#endif

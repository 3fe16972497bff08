/* Fuzz target: the binary session format read from every session cookie. A decoded session
 * must encode back to the same bytes and decode to the same fields. Inputs that start with
 * '{' are ID token claims instead: a session created from them must survive the round trip. */
#include "fuzz_support.h"

#include <jansson.h>

#include "ipsie/ipsie_session.h"

#define FUZZ_NOW 1700000000LL

static const ipsie_session_policy_t policy = {
    60,    /* leeway */
    28800, /* max_duration */
    900,   /* inactivity_timeout */
    0,     /* require_session_expiry */
};

static const char sample_id_token[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_setup();
    return 0;
}

static void check_same_session(const ipsie_session_t *a, const ipsie_session_t *b, apr_pool_t *p)
{
    const ipsie_claim_t *ca = (const ipsie_claim_t *)a->claims->elts;
    const ipsie_claim_t *cb = (const ipsie_claim_t *)b->claims->elts;
    int i;

    FUZZ_ASSERT(fuzz_same_str(a->sub, b->sub) && fuzz_same_str(a->iss, b->iss)
                    && fuzz_same_str(a->sid, b->sid),
                "sub, iss and sid survive the round trip");
    FUZZ_ASSERT(a->session_expiry == b->session_expiry && a->ceiling == b->ceiling
                    && a->login_time == b->login_time && a->last_activity == b->last_activity,
                "the times survive the round trip");
    FUZZ_ASSERT(fuzz_same_str(ipsie_session_id_token(a, p), ipsie_session_id_token(b, p)),
                "the ID token survives the round trip");
    FUZZ_ASSERT(fuzz_same_str(a->access_token, b->access_token)
                    && fuzz_same_str(a->refresh_token, b->refresh_token),
                "the access and refresh tokens survive the round trip");
    FUZZ_ASSERT(a->claims->nelts == b->claims->nelts, "the claim count survives the round trip");
    for (i = 0; i < a->claims->nelts; i++) {
        FUZZ_ASSERT(fuzz_same_str(ca[i].name, cb[i].name) && fuzz_same_str(ca[i].value, cb[i].value)
                        && fuzz_same_str(ca[i].json, cb[i].json),
                    "every claim survives the round trip");
    }
}

/* Read the session the way a request does: state, touch, claims, authorization matches. */
static void use_session(const ipsie_session_t *s, apr_pool_t *p)
{
    const ipsie_claim_t *c = (const ipsie_claim_t *)s->claims->elts;

    (void)ipsie_session_check(s, &policy, FUZZ_NOW);
    (void)ipsie_session_needs_touch(s, &policy, FUZZ_NOW);
    (void)ipsie_session_idle_remaining(s, &policy, FUZZ_NOW);
    (void)ipsie_session_claim(s, "email");
    if (s->claims->nelts > 0) {
        FUZZ_ASSERT(ipsie_session_claim(s, c[0].name) != NULL, "the first claim is found");
        (void)ipsie_session_claim_holds(s, c[0].name, "admin", p);
        (void)ipsie_session_claim_holds(s, c[0].name, c[0].value, p);
    }
}

static void fuzz_decode(const uint8_t *data, size_t size, apr_pool_t *p)
{
    ipsie_session_t *s = NULL;
    ipsie_session_t *again = NULL;
    unsigned char *buf = NULL;
    apr_size_t len = 0;

    if (ipsie_session_decode(&s, data, size, p) != APR_SUCCESS) {
        FUZZ_ASSERT(s == NULL, "a refused session leaves no output");
        return;
    }
    FUZZ_ASSERT(s != NULL && s->sub != NULL && s->iss != NULL && s->claims != NULL,
                "a decoded session has sub, iss and a claim array");
    use_session(s, p);
    FUZZ_ASSERT(ipsie_session_encode(&buf, &len, s, p) == APR_SUCCESS, "a decoded session encodes");
    FUZZ_ASSERT(len == size && memcmp(buf, data, size) == 0,
                "a decoded session encodes back to the same bytes");
    FUZZ_ASSERT(ipsie_session_decode(&again, buf, len, p) == APR_SUCCESS,
                "an encoded session decodes");
    check_same_session(s, again, p);
}

static void fuzz_create(const uint8_t *data, size_t size, apr_pool_t *p)
{
    json_t *claims = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    ipsie_session_t *s = NULL;
    ipsie_session_t *again = NULL;
    unsigned char *buf = NULL;
    apr_size_t len = 0;
    const char *id_token;

    if (!json_is_object(claims)) {
        goto leave;
    }
    /* A claim may stand in for the ID token text so that odd tokens get packed too. */
    id_token = json_string_value(json_object_get(claims, "x_id_token"));
    if (ipsie_session_create(&s, claims, id_token ? id_token : sample_id_token,
                             json_string_value(json_object_get(claims, "x_access_token")),
                             json_string_value(json_object_get(claims, "x_refresh_token")), &policy,
                             FUZZ_NOW, p)
        != APR_SUCCESS) {
        goto leave;
    }
    FUZZ_ASSERT(s->ceiling <= FUZZ_NOW + policy.max_duration,
                "the ceiling never exceeds now + max_duration");
    FUZZ_ASSERT(s->session_expiry == 0 || s->ceiling <= s->session_expiry - policy.leeway,
                "the ceiling never exceeds session_expiry - leeway");
    use_session(s, p);
    FUZZ_ASSERT(ipsie_session_encode(&buf, &len, s, p) == APR_SUCCESS, "a new session encodes");
    FUZZ_ASSERT(ipsie_session_decode(&again, buf, len, p) == APR_SUCCESS, "a new session decodes");
    check_same_session(s, again, p);

leave:
    json_decref(claims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();

    if (size > 0 && data[0] == '{') {
        fuzz_create(data, size, p);
    }
    else {
        fuzz_decode(data, size, p);
    }
    apr_pool_destroy(p);
    return 0;
}

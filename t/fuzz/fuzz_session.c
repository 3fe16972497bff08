/* Fuzz target: the binary session format (version 0x07) read from every session cookie. A
 * decoded session must encode back to the same bytes and decode to the same fields, and the
 * claims it took from UserInfo never name a protocol claim nor one of the ID token's. Inputs
 * that start with '{' are an ID token payload instead: the claims jansson validates and the
 * token that carries them make a session, which must agree with jansson and survive the round
 * trip; its member x_userinfo, when an object, is a UserInfo response merged into it, and
 * x_expires_in the access token's lifetime. */
#include "fuzz_support.h"

#include <apr_strings.h>
#include <jansson.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_session.h"
#include "ipsie/ipsie_util.h"

#define FUZZ_NOW 1700000000LL

#define CLAIM(s, i) (((const ipsie_claim_t *)(s)->claims->elts)[i])

static const ipsie_session_policy_t policy = {
    60,    /* leeway */
    28800, /* max_duration */
    900,   /* inactivity_timeout */
    0,     /* require_session_expiry */
};

static const char token_header[] = "{\"alg\":\"ES256\",\"kid\":\"k1\"}";
static const char token_signature[] = "signature-bytes";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_setup();
    return 0;
}

static void check_same_session(const ipsie_session_t *a, const ipsie_session_t *b, apr_pool_t *p)
{
    int i;

    FUZZ_ASSERT(fuzz_same_str(a->sub, b->sub) && fuzz_same_str(a->iss, b->iss)
                    && fuzz_same_str(a->sid, b->sid),
                "sub, iss and sid survive the round trip");
    FUZZ_ASSERT(a->session_expiry == b->session_expiry && a->ceiling == b->ceiling
                    && a->login_time == b->login_time && a->last_activity == b->last_activity,
                "the times survive the round trip");
    FUZZ_ASSERT(a->id_token_blob_len == b->id_token_blob_len
                    && memcmp(a->id_token_blob, b->id_token_blob, a->id_token_blob_len) == 0,
                "the packed ID token survives the round trip");
    FUZZ_ASSERT(fuzz_same_str(ipsie_session_id_token(a, p), ipsie_session_id_token(b, p)),
                "the ID token survives the round trip");
    FUZZ_ASSERT(fuzz_same_str(a->access_token, b->access_token)
                    && fuzz_same_str(a->refresh_token, b->refresh_token),
                "the access and refresh tokens survive the round trip");
    FUZZ_ASSERT(a->access_token_expiry == b->access_token_expiry
                    && a->access_token_dpop == b->access_token_dpop
                    && a->userinfo_time == b->userinfo_time,
                "the access token's expiry and type and the time of UserInfo survive the round "
                "trip");
    FUZZ_ASSERT(fuzz_same_str(a->userinfo, b->userinfo) && a->id_token_claims == b->id_token_claims,
                "the UserInfo claims survive the round trip");
    FUZZ_ASSERT(a->claims->nelts == b->claims->nelts, "the claim count survives the round trip");
    for (i = 0; i < a->claims->nelts; i++) {
        FUZZ_ASSERT(fuzz_same_str(CLAIM(a, i).name, CLAIM(b, i).name)
                        && fuzz_same_str(CLAIM(a, i).value, CLAIM(b, i).value)
                        && fuzz_same_str(CLAIM(a, i).json, CLAIM(b, i).json)
                        && CLAIM(a, i).kind == CLAIM(b, i).kind
                        && CLAIM(a, i).hidden == CLAIM(b, i).hidden,
                    "every claim survives the round trip");
    }
}

/* REMOTE_USER from claim name: handed out only as a string without control characters. */
static void check_remote_user(const ipsie_session_t *s, const char *name)
{
    const char *user = "unset";
    const char *c;

    if (ipsie_session_remote_user(&user, s, name) != IPSIE_REMOTE_USER_OK) {
        FUZZ_ASSERT(user == NULL, "a refused REMOTE_USER leaves no user");
        return;
    }
    FUZZ_ASSERT(user != NULL && user[0] != '\0', "REMOTE_USER is never empty");
    for (c = user; *c != '\0'; c++) {
        FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f,
                    "REMOTE_USER holds no control character");
    }
}

/* Read the session the way a request does: state, touch, claims, authorization matches. */
static void use_session(const ipsie_session_t *s, apr_pool_t *p)
{
    int i;

    FUZZ_ASSERT(s->claims->nelts <= 256 || s->id_token == NULL, "a new session keeps 256 claims");
    (void)ipsie_session_check(s, &policy, FUZZ_NOW);
    (void)ipsie_session_needs_touch(s, &policy, FUZZ_NOW);
    (void)ipsie_session_idle_remaining(s, &policy, FUZZ_NOW);
    (void)ipsie_session_claim(s, "email");
    FUZZ_ASSERT(ipsie_session_id_token(s, p) != NULL, "a session has its ID token");
    check_remote_user(s, "sub");
    check_remote_user(s, "preferred_username");
    for (i = 0; i < s->claims->nelts && i < 8; i++) {
        FUZZ_ASSERT(ipsie_session_claim(s, CLAIM(s, i).name) != NULL, "a claim is found");
        FUZZ_ASSERT(strcmp(CLAIM(s, i).name, "nonce") != 0
                        && strcmp(CLAIM(s, i).name, "at_hash") != 0,
                    "nonce and at_hash are not kept");
        (void)ipsie_session_claim_holds(s, CLAIM(s, i).name, "admin", p);
        (void)ipsie_session_claim_holds(s, CLAIM(s, i).name, CLAIM(s, i).value, p);
        check_remote_user(s, CLAIM(s, i).name);
    }
    FUZZ_ASSERT(s->id_token_claims <= s->claims->nelts, "the ID token's claims come first");
    for (i = s->id_token_claims; i < s->claims->nelts; i++) {
        int j;

        FUZZ_ASSERT(!ipsie_session_claim_is_protocol(CLAIM(s, i).name),
                    "UserInfo never gives a protocol claim");
        for (j = 0; j < s->id_token_claims; j++) {
            FUZZ_ASSERT(strcmp(CLAIM(s, i).name, CLAIM(s, j).name) != 0,
                        "the ID token's claims win over UserInfo's");
        }
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
    FUZZ_ASSERT(s != NULL && s->sub != NULL && s->iss != NULL && s->claims != NULL
                    && s->id_token_blob != NULL,
                "a decoded session has sub, iss, an ID token and a claim array");
    use_session(s, p);
    FUZZ_ASSERT(ipsie_session_encode(&buf, &len, s, p) == APR_SUCCESS, "a decoded session encodes");
    FUZZ_ASSERT(len == size && memcmp(buf, data, size) == 0,
                "a decoded session encodes back to the same bytes");
    FUZZ_ASSERT(ipsie_session_decode(&again, buf, len, p) == APR_SUCCESS,
                "an encoded session decodes");
    check_same_session(s, again, p);
}

/* Nesting depth of v, the value itself counted. */
static int depth_of(json_t *v)
{
    int deepest = 0, d;
    const char *key;
    json_t *item;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            d = depth_of(item);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            d = depth_of(item);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

/* The session agrees with the validated claims on who the user is and what claims say. */
static void check_agrees_with_jansson(const ipsie_session_t *s, json_t *claims)
{
    json_t *sid = json_object_get(claims, "sid");
    int i;

    FUZZ_ASSERT(strcmp(s->sub, json_string_value(json_object_get(claims, "sub"))) == 0,
                "sub is the validated sub");
    FUZZ_ASSERT(strcmp(s->iss, json_string_value(json_object_get(claims, "iss"))) == 0,
                "iss is the validated iss");
    FUZZ_ASSERT(fuzz_same_str(s->sid, json_string_value(sid)), "sid is the validated sid");
    for (i = 0; i < s->id_token_claims; i++) {
        json_t *v = json_object_get(claims, CLAIM(s, i).name);
        FUZZ_ASSERT(v != NULL, "every claim kept is a validated claim");
        if (json_is_string(v)) {
            FUZZ_ASSERT(CLAIM(s, i).kind == IPSIE_CLAIM_STRING
                            && strcmp(CLAIM(s, i).value, json_string_value(v)) == 0,
                        "a string claim keeps the validated value");
        }
    }
}

static void fuzz_create(const uint8_t *data, size_t size, apr_pool_t *p)
{
    json_t *claims = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    ipsie_session_t *s = NULL;
    ipsie_session_t *again = NULL;
    unsigned char *buf = NULL;
    apr_size_t len = 0;
    const char *id_token;
    apr_status_t rv;

    if (!json_is_object(claims)) {
        goto leave;
    }
    /* The token carries the input as its payload, as the IdP wrote it. */
    id_token = apr_pstrcat(
        p, ipsie_b64url_encode((const unsigned char *)token_header, strlen(token_header), p), ".",
        ipsie_b64url_encode(data, size, p), ".",
        ipsie_b64url_encode((const unsigned char *)token_signature, strlen(token_signature), p),
        NULL);
    rv = ipsie_session_create(
        &s, claims, id_token, json_string_value(json_object_get(claims, "x_access_token")),
        json_string_value(json_object_get(claims, "x_refresh_token")), &policy, FUZZ_NOW, p);
    /* jansson takes a raw NUL after a number, which the session's scanner refuses. */
    if (rv == IPSIE_ERR_MALFORMED) {
        FUZZ_ASSERT(!json_is_string(json_object_get(claims, "sub"))
                        || !json_is_string(json_object_get(claims, "iss")) || depth_of(claims) > 32
                        || memchr(data, '\0', size) != NULL,
                    "validated claims with string sub and iss within 32 levels make a session");
    }
    if (rv != APR_SUCCESS) {
        FUZZ_ASSERT(s == NULL, "a refused login leaves no session");
        goto leave;
    }
    FUZZ_ASSERT(s->ceiling <= FUZZ_NOW + policy.max_duration,
                "the ceiling never exceeds now + max_duration");
    FUZZ_ASSERT(s->session_expiry == 0 || s->ceiling <= s->session_expiry - policy.leeway,
                "the ceiling never exceeds session_expiry - leeway");
    FUZZ_ASSERT(strcmp(ipsie_session_id_token(s, p), id_token) == 0, "the ID token is kept");
    check_agrees_with_jansson(s, claims);
    if (json_is_integer(json_object_get(claims, "x_expires_in"))) {
        ipsie_session_tokens_t tokens = {
            "at", json_integer_value(json_object_get(claims, "x_expires_in")), "rt", 1, 1, 1};

        ipsie_session_set_tokens(s, &tokens, FUZZ_NOW, p);
        FUZZ_ASSERT(s->access_token_expiry >= 0
                        && s->access_token_expiry <= FUZZ_NOW + IPSIE_SESSION_EXPIRES_IN_MAX,
                    "the access token's expiry stays in the format");
    }
    if (json_is_object(json_object_get(claims, "x_userinfo"))) {
        FUZZ_ASSERT(
            ipsie_session_set_userinfo(s, json_object_get(claims, "x_userinfo"), FUZZ_NOW, p)
                == APR_SUCCESS,
            "a UserInfo object merges into a session");
        FUZZ_ASSERT(s->userinfo == NULL || strlen(s->userinfo) <= IPSIE_SESSION_USERINFO_MAX,
                    "the UserInfo claims kept stay small");
        FUZZ_ASSERT(strcmp(s->sub, json_string_value(json_object_get(claims, "sub"))) == 0,
                    "sub stays the ID token's");
    }
    use_session(s, p);
    FUZZ_ASSERT(ipsie_session_encode(&buf, &len, s, p) == APR_SUCCESS, "a new session encodes");
    FUZZ_ASSERT(ipsie_session_decode(&again, buf, len, p) == APR_SUCCESS, "a new session decodes");
    check_same_session(s, again, p);
    FUZZ_ASSERT(strcmp(ipsie_session_id_token(again, p), id_token) == 0,
                "the ID token comes back whole");

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

/* What the configuration says: the directive table (each directive's type, default, range and
 * keywords, expanded from AUTH_IPSIE_DIRECTIVES), the parsing of arguments and defaults, the
 * per-server and per-directory records with explicit UNSET markers and their merging, and the
 * getters that apply defaults when a value is read. auth_ipsie_config.c resolves a server's
 * record into its settings. */
#include <httpd.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <apr_strings.h>
#include <http_config.h>
#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_util.h"

APLOG_USE_MODULE(auth_ipsie);

#define MIN_PASSPHRASE_LEN 32

typedef enum { SCOPE_SERVER, SCOPE_DIRECTORY } scope_e;
typedef enum { TYPE_STRING, TYPE_NUMBER, TYPE_FLAG, TYPE_KEYWORD, TYPE_LIST } type_e;

/* A keyword a directive accepts and the value it stands for; one that the interface names but
 * this version does not offer is refused with a message that says so. */
typedef struct {
    const char *name;
    int value;
    int offered;
} keyword_t;

enum { NOT_OFFERED = 0, OFFERED = 1 };

/* A directive's own rule on one argument, on top of its type's: NULL, or what is wrong. */
typedef const char *check_fn(const char *name, const char *arg, apr_pool_t *p);

/* One entry of the directive table. */
typedef struct {
    const char *name;
    scope_e scope;
    type_e type;
    const char *dflt; /* the default, as an argument would give it; NULL: none */
    long long min;    /* a number's range */
    long long max;
    const keyword_t *keywords; /* of a keyword, or of each item of a list; NULL: any text */
    check_fn *check;           /* NULL: the type's rules alone */
    int slot;                  /* where its value is in its scope's record */
} directive_t;

/* A directive's value in a record; the directive's type says which member holds it. */
typedef union {
    const char *str;          /* string; NULL: unset */
    long long num;            /* number, flag (0 or 1), keyword (its index); UNSET_NUM: unset */
    apr_array_header_t *list; /* list of const char *; NULL: unset */
} value_t;

#define UNSET_NUM LLONG_MIN

/* Keywords of the enumerated directives, each with what it stands for in the settings
 * (IPSIEProfile: profile_sl1); a cookie's SameSite is read by its name. */
static const keyword_t auth_methods[] = {
    {"client_secret_basic", IPSIE_AUTH_CLIENT_SECRET_BASIC, OFFERED},
    {"client_secret_post", IPSIE_AUTH_CLIENT_SECRET_POST, OFFERED},
    {"private_key_jwt", IPSIE_AUTH_PRIVATE_KEY_JWT, NOT_OFFERED},
    {NULL, 0, 0}};
static const keyword_t session_stores[] = {
    {"cookie", 0, OFFERED}, {"cache", 1, OFFERED}, {NULL, 0, 0}};
static const keyword_t expiry_actions[] = {
    {"reauth", 0, OFFERED}, {"refresh", 1, OFFERED}, {NULL, 0, 0}};
static const keyword_t samesite_values[] = {
    {"Lax", 0, OFFERED}, {"Strict", 1, OFFERED}, {"None", 2, OFFERED}, {NULL, 0, 0}};
static const keyword_t profiles[] = {{"default", 0, OFFERED}, {"sl1", 1, OFFERED}, {NULL, 0, 0}};
static const keyword_t unauth_actions[] = {{"auth", UNAUTH_AUTH, OFFERED},
                                           {"401", UNAUTH_401, OFFERED},
                                           {"403", UNAUTH_403, OFFERED},
                                           {"pass", UNAUTH_PASS, OFFERED},
                                           {NULL, 0, 0}};
static const keyword_t pass_as_values[] = {{"none", 0, OFFERED},
                                           {"headers", PASS_HEADERS, OFFERED},
                                           {"environment", PASS_ENVIRONMENT, OFFERED},
                                           {"both", PASS_HEADERS | PASS_ENVIRONMENT, OFFERED},
                                           {NULL, 0, 0}};
/* The ID token algorithms the module verifies (those beyond the default only when listed). */
static const keyword_t signing_algs[] = {
    {"RS256", 0, OFFERED}, {"PS256", 0, OFFERED}, {"ES256", 0, OFFERED}, {"EdDSA", 0, OFFERED},
    {"RS384", 0, OFFERED}, {"RS512", 0, OFFERED}, {"PS384", 0, OFFERED}, {"PS512", 0, OFFERED},
    {"ES384", 0, OFFERED}, {"ES512", 0, OFFERED}, {NULL, 0, 0}};

/* The index of arg among keywords, without regard to case; -1 when it is not one. */
static int keyword_index(const keyword_t *keywords, const char *arg)
{
    int i;

    for (i = 0; keywords[i].name != NULL; i++) {
        if (strcasecmp(keywords[i].name, arg) == 0) {
            return i;
        }
    }
    return -1;
}

static const char *check_signing_alg(const char *name, const char *arg, apr_pool_t *p)
{
    if (keyword_index(signing_algs, arg) < 0) {
        return apr_psprintf(p,
                            "%s: '%s' is not an accepted signing algorithm "
                            "(none and HMAC algorithms are never accepted)",
                            name, arg);
    }
    return NULL;
}

/* An issuer is compared exactly: only a well-formed URL can ever match one (Discovery 3). */
static const char *check_provider_issuer(const char *name, const char *arg, apr_pool_t *p)
{
    if (!ipsie_provider_issuer_valid(arg)) {
        return apr_psprintf(p,
                            "%s: '%s' is not an absolute http(s) URL with a host and no query or "
                            "fragment: give the provider's issuer exactly as its metadata names "
                            "it, e.g. https://login.example.com/realms/main",
                            name, arg);
    }
    return NULL;
}

static const char *check_passphrase(const char *name, const char *arg, apr_pool_t *p)
{
    const char *weakness;

    if (strlen(arg) < MIN_PASSPHRASE_LEN) {
        return apr_psprintf(p,
                            "%s: each passphrase must be at least "
                            "%d characters long (one given has %d); use a long random value, "
                            "e.g. from 'openssl rand -base64 48'",
                            name, MIN_PASSPHRASE_LEN, (int)strlen(arg));
    }
    weakness = ipsie_secret_weakness(arg, 12);
    if (weakness != NULL) {
        return apr_psprintf(
            p,
            "%s: a passphrase is guessable (%s): anyone who guesses it can forge "
            "sessions; use a long random value, e.g. from 'openssl rand -base64 48'",
            name, weakness);
    }
    return NULL;
}

/* A client secret comes from the provider; what documentation puts in its place does not. */
static const char *check_client_secret(const char *name, const char *arg, apr_pool_t *p)
{
    const char *weakness = ipsie_secret_weakness(arg, 6);

    if (weakness != NULL) {
        return apr_psprintf(p,
                            "%s: the client secret is guessable (%s): give the secret the "
                            "provider registered for this client",
                            name, weakness);
    }
    return NULL;
}

/* Headers that a claim prefix must not cover: it is stripped from every incoming request,
 * and these are the module's own or ones that clients and proxies need. */
static const char *prefix_covers_known_header(const char *prefix)
{
    static const char *const known[] = {"IPSIE-Session-Expiry",
                                        "IPSIE-Session-Remaining",
                                        "IPSIE-Access-Token",
                                        "Accept",
                                        "Accept-Encoding",
                                        "Accept-Language",
                                        "Authorization",
                                        "Cache-Control",
                                        "Connection",
                                        "Content-Length",
                                        "Content-Type",
                                        "Cookie",
                                        "Expect",
                                        "Forwarded",
                                        "Host",
                                        "If-Modified-Since",
                                        "If-None-Match",
                                        "Origin",
                                        "Pragma",
                                        "Range",
                                        "Referer",
                                        "Sec-Fetch-Mode",
                                        "TE",
                                        "Transfer-Encoding",
                                        "Upgrade",
                                        "User-Agent",
                                        "Via",
                                        "X-Forwarded-For",
                                        "X-Forwarded-Host",
                                        "X-Forwarded-Proto",
                                        "X-Real-IP",
                                        "X-Requested-With",
                                        NULL};
    int i;

    /* The very test the stripping applies to incoming header names. */
    for (i = 0; known[i] != NULL; i++) {
        if (ipsie_name_has_prefix_loose(known[i], prefix)) {
            return known[i];
        }
    }
    return NULL;
}

/* "name[:args]": a socache provider's name, or redis/memcache with their servers. */
static const char *check_session_cache(const char *name, const char *arg, apr_pool_t *p)
{
    apr_size_t provider = strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789_");

    if (provider == 0 || (arg[provider] != '\0' && arg[provider] != ':')) {
        return apr_psprintf(p,
                            "%s: '%s' is not of the form provider[:args], e.g. shmcb, "
                            "redis:127.0.0.1:6379 or memcache:10.0.0.1:11211,10.0.0.2:11211",
                            name, arg);
    }
    if ((strncmp(arg, "redis", provider) == 0 || strncmp(arg, "memcache", provider) == 0)
        && (provider == 5 || provider == 8) && arg[provider] != ':') {
        return apr_psprintf(p, "%s: %s needs its servers, e.g. %s:127.0.0.1:%s", name, arg, arg,
                            provider == 5 ? "6379" : "11211");
    }
    return NULL;
}

static const char *check_claim_prefix(const char *name, const char *arg, apr_pool_t *p)
{
    const char *covered;

    if (*arg == '\0'
        || strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789-_")
               != strlen(arg)) {
        return apr_psprintf(p, "%s: '%s' must be letters, digits, '-' or '_'", name, arg);
    }
    covered = prefix_covers_known_header(arg);
    if (covered != NULL) {
        return apr_psprintf(p,
                            "%s: '%s' would also strip the %s header from every "
                            "request (prefixes are removed from incoming requests): choose "
                            "a longer, distinct prefix such as X-Remote-",
                            name, arg, covered);
    }
    return NULL;
}

/* A per-directory record holds the values of the per-directory directives alone, one slot
 * each, since it is merged for every request; a server record holds one per identity. */
#define DIR_SLOT_OF_SERVER(id)
#define DIR_SLOT_OF_DIRECTORY(id) DIR_SLOT_##id,
#define DIR_SLOT(name, id, scope, ...) DIR_SLOT_OF_##scope(id)
enum { AUTH_IPSIE_DIRECTIVES(DIR_SLOT) DIR_SLOTS };

#define DIR_ID_OF_SERVER(id)
#define DIR_ID_OF_DIRECTORY(id) CMD_##id,
#define DIR_ID(name, id, scope, ...) DIR_ID_OF_##scope(id)
/* The identity of the directive in each slot of a per-directory record. */
static const auth_ipsie_cmd_e dir_ids[DIR_SLOTS] = {AUTH_IPSIE_DIRECTIVES(DIR_ID)};

/* The directive table, by identity. */
#define ENTRY_DEFAULT_VALUE(text) text
#define ENTRY_DEFAULT_NONE(text) NULL
#define ENTRY_MIN_RANGE(min, max) (min)
#define ENTRY_MAX_RANGE(min, max) (max)
#define ENTRY_MIN_NO_RANGE 0
#define ENTRY_MAX_NO_RANGE 0
#define ENTRY_SLOT_SERVER(id) CMD_##id
#define ENTRY_SLOT_DIRECTORY(id) DIR_SLOT_##id
#define ENTRY(name, id, scope, type, dflt, range, keywords, check, help)                           \
    [CMD_##id] = {name,                                                                            \
                  SCOPE_##scope,                                                                   \
                  TYPE_##type,                                                                     \
                  ENTRY_DEFAULT_##dflt,                                                            \
                  ENTRY_MIN_##range,                                                               \
                  ENTRY_MAX_##range,                                                               \
                  keywords,                                                                        \
                  check,                                                                           \
                  ENTRY_SLOT_##scope(id)},
static const directive_t directives[CMD_COUNT] = {AUTH_IPSIE_DIRECTIVES(ENTRY)};

typedef struct auth_ipsie_server_conf srv_cfg;

struct auth_ipsie_server_conf {
    value_t v[CMD_COUNT]; /* by identity; those of per-directory directives stay unset */
    int configured;       /* any directive given here */
    const auth_ipsie_settings_t *settings; /* resolved at post_config */
};

typedef struct {
    value_t v[DIR_SLOTS];
} dir_cfg;

static value_t unset_value(const directive_t *d)
{
    value_t v;

    if (d->type == TYPE_STRING) {
        v.str = NULL;
    }
    else if (d->type == TYPE_LIST) {
        v.list = NULL;
    }
    else {
        v.num = UNSET_NUM;
    }
    return v;
}

static APR_INLINE int is_unset(const directive_t *d, value_t v)
{
    if (d->type == TYPE_STRING) {
        return v.str == NULL;
    }
    if (d->type == TYPE_LIST) {
        return v.list == NULL;
    }
    return v.num == UNSET_NUM;
}

void *auth_ipsie_create_server_config(apr_pool_t *p, server_rec *s)
{
    srv_cfg *c = apr_pcalloc(p, sizeof(*c));
    int id;

    for (id = 0; id < CMD_COUNT; id++) {
        c->v[id] = unset_value(&directives[id]);
    }
    return c;
}

void *auth_ipsie_merge_server_config(apr_pool_t *p, void *basev, void *addv)
{
    const srv_cfg *base = basev;
    const srv_cfg *add = addv;
    srv_cfg *c = apr_pcalloc(p, sizeof(*c));
    int id;

    for (id = 0; id < CMD_COUNT; id++) {
        c->v[id] = is_unset(&directives[id], add->v[id]) ? base->v[id] : add->v[id];
    }
    c->configured = add->configured || base->configured;
    return c;
}

void *auth_ipsie_create_dir_config(apr_pool_t *p, char *dir)
{
    dir_cfg *c = apr_palloc(p, sizeof(*c));
    int slot;

    for (slot = 0; slot < DIR_SLOTS; slot++) {
        c->v[slot] = unset_value(&directives[dir_ids[slot]]);
    }
    return c;
}

/* A child section's value where it gives one, so it can also switch off what its parent set. */
void *auth_ipsie_merge_dir_config(apr_pool_t *p, void *basev, void *addv)
{
    const dir_cfg *base = basev;
    const dir_cfg *add = addv;
    dir_cfg *c = apr_palloc(p, sizeof(*c));
    int slot;

    for (slot = 0; slot < DIR_SLOTS; slot++) {
        c->v[slot] =
            is_unset(&directives[dir_ids[slot]], add->v[slot]) ? base->v[slot] : add->v[slot];
    }
    return c;
}

static const char *parse_number(long long *out, const directive_t *d, const char *arg,
                                apr_pool_t *p)
{
    char *end = NULL;
    apr_int64_t v;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (*arg == '\0' || end == NULL || *end != '\0' || errno != 0) {
        return apr_psprintf(p, "%s: '%s' is not a whole number", d->name, arg);
    }
    if (v < d->min || v > d->max) {
        return apr_psprintf(p,
                            "%s: %s is out of range: use %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
                            d->name, arg, (apr_int64_t)d->min, (apr_int64_t)d->max);
    }
    *out = v;
    return NULL;
}

static const char *parse_keyword(int *index, const directive_t *d, const char *arg, apr_pool_t *p)
{
    const char *list = NULL;
    int i = keyword_index(d->keywords, arg);

    if (i >= 0 && !d->keywords[i].offered) {
        return apr_psprintf(p, "%s %s is not supported by this version of mod_auth_ipsie", d->name,
                            arg);
    }
    if (i >= 0) {
        *index = i;
        return NULL;
    }
    for (i = 0; d->keywords[i].name != NULL; i++) {
        list = list ? apr_pstrcat(p, list, ", ", d->keywords[i].name, NULL) : d->keywords[i].name;
    }
    return apr_psprintf(p, "%s: '%s' is not one of: %s", d->name, arg, list);
}

/* Parse an argument of d into *out (one item of a list into out->str), or say what is wrong
 * with it. Arguments of flags are parsed by httpd; this parses their defaults. */
static const char *parse_arg(value_t *out, const directive_t *d, const char *arg, apr_pool_t *p)
{
    const char *err = d->check != NULL ? d->check(d->name, arg, p) : NULL;
    int index;

    if (err != NULL) {
        return err;
    }
    switch (d->type) {
    case TYPE_NUMBER:
        return parse_number(&out->num, d, arg, p);
    case TYPE_FLAG:
        if (strcasecmp(arg, "On") != 0 && strcasecmp(arg, "Off") != 0) {
            return apr_psprintf(p, "%s must be On or Off", d->name);
        }
        out->num = strcasecmp(arg, "On") == 0;
        return NULL;
    case TYPE_KEYWORD:
        err = parse_keyword(&index, d, arg, p);
        if (err == NULL) {
            out->num = index;
        }
        return err;
    case TYPE_LIST:
        if (d->keywords != NULL) {
            err = parse_keyword(&index, d, arg, p);
            if (err == NULL) {
                out->str = d->keywords[index].name;
            }
            return err;
        }
        break;
    case TYPE_STRING:
        break;
    }
    if (*arg == '\0') {
        return apr_psprintf(p, "%s must not be empty", d->name);
    }
    out->str = arg;
    return NULL;
}

/* Each directive's default as a value, parsed from the table's text as an argument is (so a
 * default obeys its type, range and keywords) at each reading of the configuration; unset
 * where there is none. The getters below apply them when a value is read. */
static value_t defaults[CMD_COUNT];

/* d's default as a value; a list's default is its items separated by spaces. */
static const char *parse_default(value_t *out, const directive_t *d, apr_pool_t *p)
{
    char *items, *item, *last;
    const char *err = NULL;
    value_t v;

    if (d->type != TYPE_LIST) {
        return parse_arg(out, d, d->dflt, p);
    }
    out->list = apr_array_make(p, 4, sizeof(const char *));
    items = apr_pstrdup(p, d->dflt);
    for (item = apr_strtok(items, " ", &last); item != NULL && err == NULL;
         item = apr_strtok(NULL, " ", &last)) {
        err = parse_arg(&v, d, item, p);
        if (err == NULL) {
            APR_ARRAY_PUSH(out->list, const char *) = v.str;
        }
    }
    return err;
}

static const char *parse_defaults(apr_pool_t *p)
{
    const char *err = NULL;
    int id;

    for (id = 0; id < CMD_COUNT && err == NULL; id++) {
        const directive_t *d = &directives[id];

        defaults[id] = unset_value(d);
        if (d->dflt != NULL) {
            err = parse_default(&defaults[id], d, p);
        }
        /* A keyword or a flag is always read as one of its values. */
        else if (d->type == TYPE_KEYWORD || d->type == TYPE_FLAG) {
            err = apr_psprintf(p, "%s has no default", d->name);
        }
    }
    return err;
}

/* What any location of the configuration asks for, which the whole server must honour:
 * every claim prefix is stripped from incoming requests everywhere, and access tokens are
 * kept in sessions only when some location passes them on. Reset with each reading. */
static apr_array_header_t *claim_prefixes;
static int access_token_wanted;

const apr_array_header_t *auth_ipsie_claim_prefixes(void)
{
    return claim_prefixes;
}

int auth_ipsie_access_token_wanted(void)
{
    return access_token_wanted;
}

int auth_ipsie_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    const char *err = parse_defaults(pconf);

    auth_ipsie_kv_socache_register(pconf);
    if (err != NULL) {
        ap_log_perror(APLOG_MARK, APLOG_EMERG, 0, plog,
                      "IPSIE10006: a default of the directive table is wrong: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    claim_prefixes = NULL;
    access_token_wanted = 0;
    return OK;
}

/* Note what a location's directive asks of the whole server (see claim_prefixes). */
static void note_server_wide(auth_ipsie_cmd_e id, value_t v, apr_pool_t *p)
{
    if (id == CMD_CLAIM_PREFIX) {
        if (claim_prefixes == NULL) {
            claim_prefixes = apr_array_make(p, 2, sizeof(const char *));
        }
        APR_ARRAY_PUSH(claim_prefixes, const char *) = v.str;
    }
    else if (id == CMD_PASS_ACCESS_TOKEN) {
        access_token_wanted |= (int)v.num;
    }
}

/* Where a directive's value goes in the section being read: the directory's record, or the
 * server's, which then counts as configured. */
static value_t *value_in(cmd_parms *cmd, void *dcfg, const directive_t *d)
{
    srv_cfg *c;

    if (d->scope == SCOPE_DIRECTORY) {
        return &((dir_cfg *)dcfg)->v[d->slot];
    }
    c = ap_get_module_config(cmd->server->module_config, &auth_ipsie_module);
    c->configured = 1;
    return &c->v[d->slot];
}

static auth_ipsie_cmd_e id_of(const cmd_parms *cmd)
{
    return (auth_ipsie_cmd_e)(apr_uintptr_t)cmd->info;
}

const char *auth_ipsie_cmd_take1(cmd_parms *cmd, void *dcfg, const char *arg)
{
    auth_ipsie_cmd_e id = id_of(cmd);
    value_t v;
    const char *err = parse_arg(&v, &directives[id], arg, cmd->pool);

    if (err == NULL) {
        *value_in(cmd, dcfg, &directives[id]) = v;
        note_server_wide(id, v, cmd->pool);
    }
    return err;
}

const char *auth_ipsie_cmd_flag(cmd_parms *cmd, void *dcfg, int on)
{
    auth_ipsie_cmd_e id = id_of(cmd);
    value_t v;

    v.num = on != 0;
    *value_in(cmd, dcfg, &directives[id]) = v;
    note_server_wide(id, v, cmd->pool);
    return NULL;
}

/* One argument of a list: added to what the same section gave before. */
const char *auth_ipsie_cmd_iterate(cmd_parms *cmd, void *dcfg, const char *arg)
{
    auth_ipsie_cmd_e id = id_of(cmd);
    value_t item;
    value_t *v;
    const char *err = parse_arg(&item, &directives[id], arg, cmd->pool);

    if (err != NULL) {
        return err;
    }
    v = value_in(cmd, dcfg, &directives[id]);
    if (v->list == NULL) {
        v->list = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    APR_ARRAY_PUSH(v->list, const char *) = item.str;
    return NULL;
}

/* A server directive's value as read: as given, else its default (unset when it has none). */
static value_t srv_value(const srv_cfg *c, auth_ipsie_cmd_e id)
{
    return is_unset(&directives[id], c->v[id]) ? defaults[id] : c->v[id];
}

const auth_ipsie_server_conf_t *auth_ipsie_conf(const server_rec *s)
{
    const srv_cfg *c = ap_get_module_config(s->module_config, &auth_ipsie_module);

    return c->configured ? c : NULL;
}

const char *auth_ipsie_conf_str(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id)
{
    return srv_value(c, id).str;
}

int auth_ipsie_conf_given(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id)
{
    return !is_unset(&directives[id], c->v[id]);
}

long long auth_ipsie_conf_num(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id)
{
    value_t v = srv_value(c, id);

    return v.num != UNSET_NUM ? v.num : AUTH_IPSIE_NO_NUMBER;
}

int auth_ipsie_conf_flag(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id)
{
    return (int)srv_value(c, id).num;
}

static const keyword_t *srv_keyword(const srv_cfg *c, auth_ipsie_cmd_e id)
{
    return &directives[id].keywords[srv_value(c, id).num];
}

const char *auth_ipsie_conf_keyword_name(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id)
{
    return srv_keyword(c, id)->name;
}

int auth_ipsie_conf_keyword(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id)
{
    return srv_keyword(c, id)->value;
}

const apr_array_header_t *auth_ipsie_conf_list(const auth_ipsie_server_conf_t *c,
                                               auth_ipsie_cmd_e id)
{
    return srv_value(c, id).list;
}

void auth_ipsie_keep_settings(server_rec *s, const auth_ipsie_settings_t *settings)
{
    srv_cfg *c = ap_get_module_config(s->module_config, &auth_ipsie_module);

    c->settings = settings;
}

const auth_ipsie_settings_t *auth_ipsie_settings(const server_rec *s)
{
    const srv_cfg *c = ap_get_module_config(s->module_config, &auth_ipsie_module);

    return c->settings;
}

/* A per-directory directive's value as read: as given, else its default. Inline: read for
 * every request, with the directive's slot and type known at compile time. */
static APR_INLINE value_t dir_value(const dir_cfg *d, auth_ipsie_cmd_e id)
{
    value_t v = d->v[directives[id].slot];

    return is_unset(&directives[id], v) ? defaults[id] : v;
}

static APR_INLINE const keyword_t *dir_keyword(const dir_cfg *d, auth_ipsie_cmd_e id)
{
    return &directives[id].keywords[dir_value(d, id).num];
}

void auth_ipsie_dir_settings(auth_ipsie_dir_settings_t *out, const request_rec *r)
{
    const dir_cfg *d = ap_get_module_config(r->per_dir_config, &auth_ipsie_module);

    out->unauth_action = (auth_ipsie_unauth_e)dir_keyword(d, CMD_UNAUTH_ACTION)->value;
    out->pass_claims_as = dir_keyword(d, CMD_PASS_CLAIMS_AS)->value;
    out->claim_prefix = dir_value(d, CMD_CLAIM_PREFIX).str;
    out->remote_user_claim = dir_value(d, CMD_REMOTE_USER_CLAIM).str;
    out->pass_access_token = (int)dir_value(d, CMD_PASS_ACCESS_TOKEN).num;
    out->session_warning = (int)dir_value(d, CMD_SESSION_WARNING).num;
}

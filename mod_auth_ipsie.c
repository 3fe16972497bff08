/* mod_auth_ipsie: an OpenID Connect Relying Party for httpd whose sessions never outlive the
 * identity provider's (the IPSIE SL1 session_expiry claim). Module declaration, hooks and
 * directive table; the work is in src/. */
#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>
#include <mod_status.h>

#include "ipsie/ipsie_log.h"
#include "src/auth_ipsie.h"

/* httpd's directive table, one entry per AUTH_IPSIE_DIRECTIVES entry: the type decides the
 * callback, the scope where the directive may appear; the help ends with the default. */
#define COMMAND_ID(id) ((void *)(apr_uintptr_t)(CMD_##id))
#define COMMAND_STRING(name, id, where, help)                                                      \
    AP_INIT_TAKE1(name, auth_ipsie_cmd_take1, COMMAND_ID(id), where, help)
#define COMMAND_NUMBER COMMAND_STRING
#define COMMAND_KEYWORD COMMAND_STRING
#define COMMAND_FLAG(name, id, where, help)                                                        \
    AP_INIT_FLAG(name, auth_ipsie_cmd_flag, COMMAND_ID(id), where, help)
#define COMMAND_LIST(name, id, where, help)                                                        \
    AP_INIT_ITERATE(name, auth_ipsie_cmd_iterate, COMMAND_ID(id), where, help)
#define COMMAND_WHERE_SERVER RSRC_CONF
#define COMMAND_WHERE_DIRECTORY ACCESS_CONF
#define COMMAND_HELP_VALUE(text) " (default " text ")"
#define COMMAND_HELP_NONE(text) ""
#define COMMAND(name, id, scope, type, dflt, range, keywords, check, help)                         \
    COMMAND_##type(name, id, COMMAND_WHERE_##scope, help COMMAND_HELP_##dflt),

static const command_rec auth_ipsie_cmds[] = {AUTH_IPSIE_DIRECTIVES(COMMAND){NULL}};

/* Each hook that serves a request names it to the core's log seam while it runs, so that core
 * lines logged meanwhile carry the request; the outer call, if any, is restored after. */
static int strip_spoofed(request_rec *r)
{
    void *outer = ipsie_log_set_call(r);
    int status = auth_ipsie_strip_spoofed(r);

    ipsie_log_set_call(outer);
    return status;
}

static int check_user_id(request_rec *r)
{
    void *outer = ipsie_log_set_call(r);
    int status = auth_ipsie_check_user_id(r);

    ipsie_log_set_call(outer);
    return status;
}

static int fixups(request_rec *r)
{
    void *outer = ipsie_log_set_call(r);
    int status = auth_ipsie_fixups(r);

    ipsie_log_set_call(outer);
    return status;
}

static int note_auth_failure(request_rec *r, const char *auth_type)
{
    void *outer = ipsie_log_set_call(r);
    int status = auth_ipsie_note_auth_failure(r, auth_type);

    ipsie_log_set_call(outer);
    return status;
}

static authz_status check_claim(request_rec *r, const char *require_args,
                                const void *parsed_require_args)
{
    void *outer = ipsie_log_set_call(r);
    authz_status status =
        auth_ipsie_authz_claim_provider.check_authorization(r, require_args, parsed_require_args);

    ipsie_log_set_call(outer);
    return status;
}

/* "Require claim", its check wrapped as the hooks are. */
static authz_provider claim_provider;

static void auth_ipsie_register_hooks(apr_pool_t *p)
{
    claim_provider = auth_ipsie_authz_claim_provider;
    claim_provider.check_authorization = check_claim;
    ap_hook_pre_config(auth_ipsie_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(auth_ipsie_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(auth_ipsie_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(auth_ipsie_kv_socache_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* Spoofed identity headers go before any module or application can read them. */
    ap_hook_header_parser(strip_spoofed, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_check_authn(check_user_id, NULL, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_note_auth_failure(note_auth_failure, NULL, NULL, APR_HOOK_MIDDLE);
    /* Runs for every request: it names the request to the log seam only when it is its own. */
    ap_hook_handler(auth_ipsie_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* A section of mod_status's report, when it is loaded. */
    APR_OPTIONAL_HOOK(ap, status_hook, auth_ipsie_metrics_status, NULL, NULL, APR_HOOK_MIDDLE);
    /* IPSIESessionWarning: the warning's script into the pages a session is shown. */
    auth_ipsie_inject_register();
    ap_hook_insert_filter(auth_ipsie_insert_warning, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "claim", AUTHZ_PROVIDER_VERSION,
                              &claim_provider, AP_AUTH_INTERNAL_PER_CONF);
}

AP_DECLARE_MODULE(auth_ipsie) = {STANDARD20_MODULE_STUFF,        auth_ipsie_create_dir_config,
                                 auth_ipsie_merge_dir_config,    auth_ipsie_create_server_config,
                                 auth_ipsie_merge_server_config, auth_ipsie_cmds,
                                 auth_ipsie_register_hooks,      AP_MODULE_FLAG_NONE};

/* Private header of the httpd-facing glue: settings as the glue reads them, and the
 * functions the glue files share. Only glue files include httpd headers. */
#ifndef AUTH_IPSIE_H
#define AUTH_IPSIE_H

#include <httpd.h>
#include <http_config.h>
#include <mod_auth.h>

#include "auth_ipsie_store.h"
#include "ipsie/ipsie_client.h"
#include "ipsie/ipsie_crypto.h"
#include "ipsie/ipsie_dpop.h"
#include "ipsie/ipsie_http.h"
#include "ipsie/ipsie_kv.h"
#include "ipsie/ipsie_login.h"
#include "ipsie/ipsie_provider_cache.h"
#include "ipsie/ipsie_session.h"
#include "ipsie/ipsie_token.h"

extern module AP_MODULE_DECLARE_DATA auth_ipsie_module;

#define AUTH_IPSIE_AUTH_TYPE "ipsie"
/* Longest state value accepted back: the module issues 43 characters. */
#define AUTH_IPSIE_STATE_MAX_LEN 128

/* Every directive, its identity (auth_ipsie_cmd_e) and the getters of a server's record. */
#include "auth_ipsie_directives.h"
#include "ipsie/ipsie_template.h"

/* A server's settings with every default applied; resolved once at start-up. */
typedef struct auth_ipsie_settings_t {
    const char *metadata_url;
    /* IPSIEProviderIssuer, or NULL: either spelling metadata_url names. What is compared with a
     * token or a response is the metadata's own issuer (ipsie_provider_t.issuer), never this. */
    const char *configured_issuer;
    ipsie_client_t client;
    const char *redirect_uri;    /* as configured: absolute URL or path */
    const char *redirect_path;   /* its path */
    const char *redirect_origin; /* scheme://host[:port], NULL when configured as a path */
    const char *scope;
    const char *auth_request_params; /* extra query, already encoded, or NULL */
    int auth_request_par;            /* IPSIEAuthRequestMethod PAR */
    ipsie_dpop_mode_e dpop_mode;     /* IPSIEDPoP */
    /* The DPoP key (IPSIEDPoPSigningKey, else the one generated at start-up) and the nonces
     * the provider gave it; NULL with IPSIEDPoP off, and in the settings configtest checks. */
    ipsie_dpop_t *dpop;
    int dpop_key_configured; /* IPSIEDPoPSigningKey: every host and restart sign with the key */
    long long max_age;       /* -1: not sent */
    const apr_array_header_t *signing_algs;
    long clock_skew;
    ipsie_http_opts_t http;
    long provider_cache_max_age;
    ipsie_crypto_t *crypto;
    ipsie_session_policy_t policy;
    int expiry_action_refresh;  /* IPSIESessionExpiryAction refresh */
    long long refresh_before;   /* IPSIERefreshAccessTokenBeforeExpiry, -1: never */
    int userinfo;               /* IPSIEUserInfo: read when the metadata has the endpoint */
    long long userinfo_refresh; /* IPSIEUserInfoRefreshInterval, 0: never */
    const char *cookie_name;
    const char *cookie_domain; /* NULL: host-only */
    const char *cookie_path;
    const char *cookie_samesite; /* "Lax", "Strict", "None" */
    int cookie_persistent;
    apr_size_t cookie_chunk_size;
    long state_timeout;
    int state_max_cookies;
    const char *post_logout_redirect_uri;
    int profile_sl1;
    ipsie_login_policy_t login;      /* what a login must meet, for the core */
    const auth_ipsie_store_t *store; /* where sessions live */
    ipsie_kv_t *kv;                  /* the shared store (IPSIESessionCache), NULL when none */
    const char *cache_spec;          /* IPSIESessionCache, or the shmcb default */
    int cache_given;                 /* IPSIESessionCache or IPSIESessionStore cache was set */
    long cache_timeout_ms;           /* IPSIESessionCacheTimeout */
    int revocation_per_request;      /* cookie sessions check revocation entries on every request */
    ipsie_provider_cache_t *provider;
    long warning_lead;                     /* IPSIESessionWarningLead */
    const ipsie_template_t *page_template; /* IPSIEHTMLTemplate, or the built-in one */
    int page_template_builtin;             /* the built-in one: its own Content-Security-Policy */
} auth_ipsie_settings_t;

typedef enum { UNAUTH_AUTH = 0, UNAUTH_401, UNAUTH_403, UNAUTH_PASS } auth_ipsie_unauth_e;

enum { PASS_HEADERS = 1, PASS_ENVIRONMENT = 2 };

typedef struct {
    auth_ipsie_unauth_e unauth_action;
    int pass_claims_as; /* PASS_HEADERS | PASS_ENVIRONMENT */
    const char *claim_prefix;
    const char *remote_user_claim;
    int pass_access_token;
    int session_warning; /* IPSIESessionWarning */
} auth_ipsie_dir_settings_t;

/* auth_ipsie_directives.c: the directive table, its records and their merging */
void *auth_ipsie_create_server_config(apr_pool_t *p, server_rec *s);
void *auth_ipsie_merge_server_config(apr_pool_t *p, void *base, void *add);
void *auth_ipsie_create_dir_config(apr_pool_t *p, char *dir);
void *auth_ipsie_merge_dir_config(apr_pool_t *p, void *base, void *add);
/* Directive callbacks, one per kind httpd calls: cmd->info is the directive's identity. */
const char *auth_ipsie_cmd_take1(cmd_parms *cmd, void *dcfg, const char *arg);
const char *auth_ipsie_cmd_flag(cmd_parms *cmd, void *dcfg, int on);
const char *auth_ipsie_cmd_iterate(cmd_parms *cmd, void *dcfg, const char *arg);
int auth_ipsie_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
/* Every IPSIEClaimPrefix of the configuration (NULL when none is set). */
const apr_array_header_t *auth_ipsie_claim_prefixes(void);
/* 1 when some location has IPSIEPassAccessToken On. */
int auth_ipsie_access_token_wanted(void);
/* The server's settings, or NULL when the module is not configured for it. */
const auth_ipsie_settings_t *auth_ipsie_settings(const server_rec *s);
/* Keep the settings resolved for s, for auth_ipsie_settings. */
void auth_ipsie_keep_settings(server_rec *s, const auth_ipsie_settings_t *settings);
void auth_ipsie_dir_settings(auth_ipsie_dir_settings_t *out, const request_rec *r);

/* auth_ipsie_config.c: each server's directives resolved into settings, and configtest */
int auth_ipsie_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
int auth_ipsie_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* auth_ipsie_store_cache.c: the names of the index sets of a provider session (sid) or, with
 * sid NULL, of a user (sub), under every passphrase, the first one first; NULL on a crypto
 * failure. The cache store adds its entries to them; a back-channel logout removes what they
 * list. */
apr_array_header_t *auth_ipsie_cache_index_names(const auth_ipsie_settings_t *cfg, const char *iss,
                                                 const char *sid, const char *sub, apr_pool_t *p);

/* auth_ipsie_kv_socache.c: the shared store on one host, through an httpd socache provider */
/* Register the mutex type (pre_config). */
void auth_ipsie_kv_socache_register(apr_pool_t *pconf);
/* NULL when spec names a loaded socache provider, else what to load. */
const char *auth_ipsie_kv_socache_check(const char *spec, apr_pool_t *p);
/* The store of spec ("name[:args]"), made once for the life of the parent and found again after
 * a graceful restart. */
apr_status_t auth_ipsie_kv_socache_create(ipsie_kv_t **out, const char *spec, server_rec *s,
                                          apr_pool_t *pconf);
/* 1 when kv is a store of this file: on one host, whose processes share a mark of whether a
 * revocation was ever written to it, so that without one no request looks for any. */
int auth_ipsie_kv_socache_is(const ipsie_kv_t *kv);
void auth_ipsie_kv_socache_note_revocation(ipsie_kv_t *kv);
int auth_ipsie_kv_socache_any_revocation(const ipsie_kv_t *kv);
/* Attach this child to the stores' mutexes (child_init). */
void auth_ipsie_kv_socache_child_init(apr_pool_t *pchild, server_rec *s);

/* auth_ipsie_request.c: what the module knows about one request */
/* What the client's requests to op carry for this server: DPoP proofs when IPSIEDPoP and the
 * metadata say so (ipsie_dpop_wanted), the token's binding required under IPSIEDPoP required,
 * and the current time. */
void auth_ipsie_client_opts(ipsie_client_opts_t *out, const auth_ipsie_settings_t *cfg,
                            const ipsie_provider_t *op);
/* The request's parsed cookies, parsed once. */
apr_table_t *auth_ipsie_cookies(request_rec *r);
/* The session the authn hook accepted for this request (for authz, subrequests and internal
 * redirects), or NULL. */
void auth_ipsie_set_request_session(request_rec *r, const ipsie_session_t *s);
const ipsie_session_t *auth_ipsie_request_session(const request_rec *r);
/* The authn hook served this request on the redirect URI (the fixups guard checks it). */
void auth_ipsie_mark_redirect_uri_handled(request_rec *r);
int auth_ipsie_redirect_uri_handled(const request_rec *r);
/* 1 when s is 1..max characters of base64url, as the values the module issues are. */
int auth_ipsie_is_token_text(const char *s, apr_size_t max);
/* Where this request's origin is: the configured redirect URI's, else the request's. */
const char *auth_ipsie_origin(request_rec *r, const auth_ipsie_settings_t *cfg);
/* The redirect URI as an absolute URL: the same in the authorization and token requests. */
const char *auth_ipsie_redirect_uri_abs(request_rec *r, const auth_ipsie_settings_t *cfg);
/* The path and query to come back to after a login; "/" for a request line that names no
 * path ("*", an absolute-form URL). */
const char *auth_ipsie_current_path(const request_rec *r);
/* 1 when the request is a browser's navigation (ipsie_is_browser on its headers). */
int auth_ipsie_is_browser(const request_rec *r);
/* The current time, Unix seconds: for the provider cache, whose fetches and waits take time
 * (a request's own rules use its start time). */
long long auth_ipsie_now(void);
/* When this request stops waiting for the provider: no request waits for it, in all, longer
 * than IPSIEProviderTimeout and 1 s. */
apr_time_t auth_ipsie_provider_deadline(const request_rec *r, const auth_ipsie_settings_t *cfg);

/* auth_ipsie_response.c: the responses the module sends itself */
/* Send a complete response from a hook: status, content type, body; never stored by a cache.
 * Returns DONE. */
int auth_ipsie_send(request_rec *r, int status, const char *content_type, const char *body);
/* The same with the Cache-Control header given. */
/* Send len bytes of body (immortal: static or of the request's pool) with status, or only the
 * status when body is NULL (a 304); returns DONE. */
int auth_ipsie_send_bytes(request_rec *r, int status, const char *content_type, const char *body,
                          apr_size_t len);
int auth_ipsie_send_cached(request_rec *r, int status, const char *content_type, const char *body,
                           const char *cache_control);
/* A small HTML error page; message is escaped. Returns DONE. */
/* What the module's pages say when a sign-in ends at its ceiling. */
#define AUTH_IPSIE_CEILING_TEXT                                                                    \
    "Your sign-in reached the limit set by your identity provider, so you need to sign in again. "
/* A page from the template: title, message and one link (NULL: back to the site, "/"). */
int auth_ipsie_page(request_rec *r, int status, const char *title, const char *message,
                    const char *link_url, const char *link_text);
int auth_ipsie_error_page(request_rec *r, int status, const char *title, const char *message);
/* The same with a "Try again" link to again (a URL of this site) when it is not NULL. */
int auth_ipsie_error_page_again(request_rec *r, int status, const char *title, const char *message,
                                const char *again);
/* The 400 "Sign-in failed" page. */
int auth_ipsie_bad_request(request_rec *r, const char *message);
/* 503 with Retry-After (seconds, 5 when 0): asking again shortly will do; again, when not
 * NULL, is linked as the way to do it. Returns DONE. */
int auth_ipsie_unavailable_page(request_rec *r, long retry_after, const char *again);
/* {"error":"<error>"} with status. Returns DONE. */
int auth_ipsie_send_json_error(request_rec *r, int status, const char *error);
/* 503 (Retry-After 5) when the session store cannot answer: a page for a browser, else
 * {"error":"temporarily_unavailable"}. Returns DONE. */
int auth_ipsie_store_unavailable(request_rec *r);
/* 302 to location, not to be stored. */
int auth_ipsie_redirect(request_rec *r, const char *location);

/* auth_ipsie_cookie.c: the module's cookies as the configuration shapes them */
/* Set-Cookie for name=value with the configured attributes; max_age < 0: session cookie
 * (or Expires=ceiling when persistent and expires > 0), max_age 0: delete. */
void auth_ipsie_set_cookie(request_rec *r, const auth_ipsie_settings_t *cfg, const char *name,
                           const char *value, long max_age, long long expires);
/* Delete cookie name. */
void auth_ipsie_clear_cookie(request_rec *r, const auth_ipsie_settings_t *cfg, const char *name);

/* auth_ipsie_session.c: a session's life on every request, through cfg->store */
/* Why a session ended, as its log line says. */
typedef enum {
    AUTH_IPSIE_END_CEILING = 0,
    AUTH_IPSIE_END_IDLE,
    AUTH_IPSIE_END_LOGOUT,
    AUTH_IPSIE_END_BACKCHANNEL,
    AUTH_IPSIE_END_REVOKED,
    AUTH_IPSIE_END_INVALID,
    AUTH_IPSIE_END_REFRESH_FAILED
} auth_ipsie_end_e;
/* The error an API client gets for a state other than valid ("login_required",
 * "session_expired", "session_idle"). */
const char *auth_ipsie_session_error(ipsie_session_state_e state);
/* The store's reading of the request's session (see auth_ipsie_store_t.load). */
apr_status_t auth_ipsie_session_read(ipsie_session_t **out, int *presented, request_rec *r,
                                     const auth_ipsie_settings_t *cfg);
/* The request's session and where it stands at now (*state): IPSIE_SESSION_VALID with *out
 * set; otherwise a session that was there has ended (logged and removed; a revoked one is
 * IPSIE_SESSION_NONE). IPSIE_ERR_KV (logged) when the store cannot answer: a 503. */
apr_status_t auth_ipsie_session_current(ipsie_session_t **out, ipsie_session_state_e *state,
                                        request_rec *r, const auth_ipsie_settings_t *cfg,
                                        long long now);
/* The request's session when it is valid at now, else NULL; nothing ends, nothing is written. */
ipsie_session_t *auth_ipsie_session_peek(request_rec *r, const auth_ipsie_settings_t *cfg,
                                         long long now);
/* Log why a session ended and remove it (s may be NULL: one that could not be read).
 * IPSIE_ERR_KV (logged) when the store could not remove it. */
apr_status_t auth_ipsie_session_end(request_rec *r, const auth_ipsie_settings_t *cfg,
                                    const ipsie_session_t *s, auth_ipsie_end_e reason);
/* auth_ipsie_session_write.c */
/* Whether a revocation entry ends s: *revoked. IPSIE_ERR_KV when the store cannot say. */
apr_status_t auth_ipsie_session_revoked(int *revoked, request_rec *r,
                                        const auth_ipsie_settings_t *cfg, const ipsie_session_t *s);
/* Write last_activity back when enough time has passed since it was (lazily). */
void auth_ipsie_session_touch(request_rec *r, const auth_ipsie_settings_t *cfg, ipsie_session_t *s,
                              long long now);
/* Keep a new session: the store's save; for a server-side session, then the revocation
 * entries (see recheck_after_write): IPSIE_ERR_REVOKED when one ended it meanwhile,
 * IPSIE_ERR_KV when the store failed, IPSIE_ERR_TOO_LARGE (a cookie session too large),
 * IPSIE_ERR_BUSY (the user has as many server-side sessions as a set holds). */
apr_status_t auth_ipsie_session_start(request_rec *r, const auth_ipsie_settings_t *cfg,
                                      ipsie_session_t *s);
/* Keep s changed on this request (refreshed tokens, UserInfo, a renewal): written
 * through the store as auth_ipsie_session_start does, its last_activity left as it is.
 * IPSIE_ERR_KV (logged) when the store failed; a cookie session too large to keep is logged
 * and left. */
apr_status_t auth_ipsie_session_keep(request_rec *r, const auth_ipsie_settings_t *cfg,
                                     ipsie_session_t *s);
/* Write revocation entries under names (ipsie_revocation_*_names) at now (for a user's entry:
 * sessions authenticated at or before now end); they last as long as any session they may
 * end. Nothing without a shared store. IPSIE_ERR_KV (logged) when it cannot be written. */
apr_status_t auth_ipsie_revoke(request_rec *r, const auth_ipsie_settings_t *cfg,
                               const apr_array_header_t *names, long long now);

/* auth_ipsie_refresh.c: a session's tokens kept fresh on a request */
/* Add the single-use mark name until then (Unix seconds), so that one request at a time asks
 * the provider for a session: APR_SUCCESS (taken, or no shared store), APR_EEXIST (another
 * request holds it), or the store's failure (logged). */
apr_status_t auth_ipsie_take_mark(request_rec *r, const auth_ipsie_settings_t *cfg,
                                  const char *name, long long until);
/* At the ceiling, with IPSIESessionExpiryAction refresh and a refresh token: a refresh grant
 * whose new ID token may renew s (ipsie_refresh_apply), or the renewal another request made of
 * it; *renewed and s kept when it did. IPSIE_ERR_KV when the renewed session cannot be kept. */
apr_status_t auth_ipsie_session_renew(int *renewed, request_rec *r,
                                      const auth_ipsie_settings_t *cfg, ipsie_session_t *s,
                                      long long now);
/* On a valid session: the access token refreshed when due, UserInfo read again when due, s
 * kept when either changed it. *refused: the provider refused the refresh (or its new ID token
 * is not the session's), logged: the caller ends the session (reason=refresh_failed). A
 * provider that cannot be asked leaves s with its current token (logged). IPSIE_ERR_KV when
 * the changed session cannot be kept. */
apr_status_t auth_ipsie_session_freshen(int *refused, request_rec *r,
                                        const auth_ipsie_settings_t *cfg, ipsie_session_t *s,
                                        long long now);

/* auth_ipsie_userinfo.c: UserInfo at login and again later */
typedef enum {
    AUTH_IPSIE_USERINFO_READ = 0, /* its claims added to the session */
    AUTH_IPSIE_USERINFO_SKIPPED,  /* IPSIEUserInfo Off, or the provider has no endpoint */
    AUTH_IPSIE_USERINFO_REFUSED,  /* it is about another user: the login is refused */
    AUTH_IPSIE_USERINFO_FAILED    /* it cannot be read: the login fails (502) */
} auth_ipsie_userinfo_e;
/* At login, after the token request: UserInfo read with access_token (with a DPoP proof when
 * dpop_bound) and added to s at now (logged when it fails). */
auth_ipsie_userinfo_e auth_ipsie_userinfo_at_login(request_rec *r, const auth_ipsie_settings_t *cfg,
                                                   const ipsie_provider_t *op,
                                                   const char *access_token, int dpop_bound,
                                                   ipsie_session_t *s, long long now);
/* 1 when s's UserInfo is due to be read again at now (IPSIEUserInfoRefreshInterval). */
int auth_ipsie_userinfo_due(const auth_ipsie_settings_t *cfg, const ipsie_session_t *s,
                            long long now);
/* Read it again for s (one request at a time per session): its claims replace those s has;
 * when it fails they stay, and it is tried again after the interval. *changed: s is to be
 * kept. */
void auth_ipsie_userinfo_again(int *changed, request_rec *r, const auth_ipsie_settings_t *cfg,
                               ipsie_session_t *s, long long now);

/* auth_ipsie_login.c */
/* Under IPSIEProfile sl1, does the provider's metadata name an endpoint that is not https?
 * Logged (IPSIE10022) when it does. */
int auth_ipsie_provider_breaks_profile(request_rec *r, const auth_ipsie_settings_t *cfg,
                                       const ipsie_provider_t *op);
/* Start a login: state cookie, then 302 to the authorization endpoint (login_hint, when
 * not NULL, is passed on); return_path: where on this site to come back to. */
int auth_ipsie_start_login(request_rec *r, const auth_ipsie_settings_t *cfg,
                           const char *return_path, int prompt_login, const char *login_hint);

/* auth_ipsie_authn.c: the hooks */
int auth_ipsie_check_user_id(request_rec *r);
/* Refuse a request on the redirect URI that authentication did not handle. */
int auth_ipsie_fixups(request_rec *r);
int auth_ipsie_note_auth_failure(request_rec *r, const char *auth_type);

/* auth_ipsie_redirect.c: the redirect URI's endpoints, each in its own file */
/* Serve a request on the redirect URI. */
int auth_ipsie_redirect_uri_request(request_rec *r, const auth_ipsie_settings_t *cfg);
/* auth_ipsie_callback.c: ?code=&state= (and error=) */
int auth_ipsie_callback(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args);
/* auth_ipsie_backchannel.c: POST ?logout=backchannel */
int auth_ipsie_backchannel(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args);
/* auth_ipsie_logout.c: ?logout= */
int auth_ipsie_logout(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args);
/* auth_ipsie_info.c: ?info=json */
int auth_ipsie_info(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args);
/* The JSON of ?info=json for the valid session s at now. Returns DONE. */
int auth_ipsie_info_send(request_rec *r, const auth_ipsie_settings_t *cfg, const ipsie_session_t *s,
                         long long now);
/* auth_ipsie_touch.c: POST ?touch, "stay signed in" */
int auth_ipsie_touch(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args);
/* auth_ipsie_reauth.c: ?reauth=<URL on this site>, a fresh sign-in at the ceiling */
int auth_ipsie_reauth(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args);
/* auth_ipsie_warning.c: ?warning.js and ?warning.css, and the version that names them */
int auth_ipsie_warning_js(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args);
int auth_ipsie_warning_css(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args);
extern const char auth_ipsie_warning_version[];
/* auth_ipsie_third_party.c: ?iss=&target_link_uri= */
int auth_ipsie_third_party(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args);
/* auth_ipsie_jwks.c: ?jwks */
int auth_ipsie_jwks(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args);

/* auth_ipsie_inject.c: IPSIESessionWarning, the filter that adds the warning's script */
#define AUTH_IPSIE_WARNING_FILTER "AUTH_IPSIE_WARNING"
/* Register the filter (register_hooks). */
void auth_ipsie_inject_register(void);
/* Add the filter to a request with a session where IPSIESessionWarning is On (insert_filter). */
void auth_ipsie_insert_warning(request_rec *r);

/* auth_ipsie_pass.c: what the application receives */
/* Remove incoming headers that could pose as our identity headers. */
int auth_ipsie_strip_spoofed(request_rec *r);
/* Remove the module's own cookies from the request before the application sees it. */
void auth_ipsie_strip_own_cookies(request_rec *r, const auth_ipsie_settings_t *cfg);
/* Hand the session's identity to the application; fresh: the request's headers were just
 * cleaned of ours (a main request), so they are added without searching. */
void auth_ipsie_pass_identity(request_rec *r, const auth_ipsie_dir_settings_t *dir,
                              const ipsie_session_t *s, long long now, int fresh);
/* The user name of s from claim, or NULL (logged) when the claim is missing, empty, not a
 * string or holds control characters. */
const char *auth_ipsie_remote_user(request_rec *r, const ipsie_session_t *s, const char *claim);
/* Give r the identity of s (REMOTE_USER, the session for authz, what passes to the
 * application): OK, or denied when s is NULL or names no usable user. */
int auth_ipsie_adopt(request_rec *r, const auth_ipsie_dir_settings_t *dir, const ipsie_session_t *s,
                     long long now, int fresh, int denied);

/* auth_ipsie_metrics.c: the counters in shared memory, their handler and mod_status section */
/* Attach the counters (post_config): made once for the life of the parent, found again after
 * a graceful restart. */
apr_status_t auth_ipsie_metrics_init(server_rec *s);
/* SetHandler ipsie-metrics: Prometheus text, or ?health (JSON, 200 or 503). */
int auth_ipsie_metrics_handler(request_rec *r);
/* mod_status's status_hook: the same figures in its report. */
int auth_ipsie_metrics_status(request_rec *r, int flags);

/* auth_ipsie_authz.c */
extern const authz_provider auth_ipsie_authz_claim_provider;

#endif

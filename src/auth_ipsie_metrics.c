/* Metrics and health (SPEC section 6): the counters' shared memory, made once for the life of
 * the httpd parent and found again after a graceful restart, so that the children of every
 * generation add to the same figures; the ipsie-metrics handler (Prometheus text, and
 * ?health); and a section of mod_status's report. One set of figures for the whole server,
 * whatever the virtual host. */
#include <httpd.h>
#include <stdlib.h>
#include <string.h>

#include <apr_shm.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <jansson.h>
#include <mod_status.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_metrics.h"

APLOG_USE_MODULE(auth_ipsie);

#define HANDLER_NAME "ipsie-metrics"
#define PROMETHEUS_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* A health check asks the provider at most this often (per child): within it, the outcome of
 * the last metadata fetch, a health check's or a request's, stands. */
#define HEALTH_PROVIDER_WITHIN 5
/* The entry a health check writes and reads back in the shared store. */
#define HEALTH_KEY "ipsie:h:health"
#define HEALTH_KEY_LIFE 60

apr_status_t auth_ipsie_metrics_init(server_rec *s)
{
    struct retained_metrics {
        apr_shm_t *shm;
        apr_size_t size;
        apr_uint64_t layout;
    } * kept;
    apr_size_t size = ipsie_metrics_size();
    apr_uint64_t layout = ipsie_metrics_layout();
    apr_status_t rv;

    kept = ap_retained_data_get("auth_ipsie_metrics");
    if (kept == NULL) {
        kept = ap_retained_data_create("auth_ipsie_metrics", sizeof(*kept));
        kept->shm = NULL;
    }
    /* Another layout (a new build of the module, restarted gracefully) starts from zero. */
    if (kept->shm != NULL && (kept->size != size || kept->layout != layout)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "IPSIE16002: this build of the module counts other metrics: they start "
                     "from zero");
        /* The parent's mapping goes; children of the old generation keep theirs until they
         * exit. */
        apr_shm_destroy(kept->shm);
        kept->shm = NULL;
    }
    if (kept->shm == NULL) {
        /* Anonymous: made by the parent before the children are forked, inherited by them. */
        rv = apr_shm_create(&kept->shm, size, NULL, s->process->pool);
        if (rv != APR_SUCCESS) {
            kept->shm = NULL;
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "IPSIE16001: cannot create the shared memory of the metrics");
            return rv;
        }
        memset(apr_shm_baseaddr_get(kept->shm), 0, size);
        kept->size = size;
        kept->layout = layout;
    }
    ipsie_metrics_attach(apr_shm_baseaddr_get(kept->shm));
    return APR_SUCCESS;
}

/* The settings health checks: those of the handler's virtual host, else of the first server
 * that has the module configured. */
static const auth_ipsie_settings_t *health_settings(const request_rec *r)
{
    const auth_ipsie_settings_t *cfg = auth_ipsie_settings(r->server);
    server_rec *sp;

    for (sp = ap_server_conf; cfg == NULL && sp != NULL; sp = sp->next) {
        cfg = auth_ipsie_settings(sp);
    }
    return cfg;
}

/* Seconds since the newest fetch of gauge g by any process, or JSON null. */
static json_t *age_json(const ipsie_metrics_snapshot_t *snap, ipsie_metric_gauge_e g, long long now)
{
    if (snap->fetched[g] <= 0) {
        return json_null();
    }
    return json_integer(now > snap->fetched[g] ? now - snap->fetched[g] : 0);
}

static json_t *provider_health(int *ok, request_rec *r, const auth_ipsie_settings_t *cfg)
{
    ipsie_metrics_snapshot_t snap;
    long long now = auth_ipsie_now();
    apr_status_t rv;
    json_t *out;

    rv = ipsie_provider_cache_check(cfg->provider, HEALTH_PROVIDER_WITHIN, now,
                                    auth_ipsie_provider_deadline(r, cfg));
    *ok = rv == APR_SUCCESS;
    ipsie_metrics_read(&snap);
    out = json_pack("{s:b, s:s, s:b}", "configured", 1, "metadata_url", cfg->metadata_url,
                    "reachable", *ok);
    if (out == NULL) {
        return NULL;
    }
    if (!*ok) {
        json_object_set_new(out, "error",
                            json_string(rv == IPSIE_ERR_BUSY ? "too many requests wait for it"
                                                             : "its metadata cannot be fetched"));
    }
    json_object_set_new(out, "metadata_age_seconds", age_json(&snap, IPSIE_G_METADATA, now));
    json_object_set_new(out, "jwks_age_seconds", age_json(&snap, IPSIE_G_JWKS, now));
    return out;
}

/* A write and a read of HEALTH_KEY: every operation bounded as the store's always are. */
static json_t *cache_health(int *ok, request_rec *r, const auth_ipsie_settings_t *cfg)
{
    unsigned char *value = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    *ok = 1;
    if (cfg->kv == NULL) {
        return json_pack("{s:b}", "configured", 0);
    }
    rv = ipsie_kv_set(cfg->kv, HEALTH_KEY, (const unsigned char *)"1", 1,
                      apr_time_now() + apr_time_from_sec(HEALTH_KEY_LIFE), r->pool);
    if (rv == APR_SUCCESS) {
        rv = ipsie_kv_get(cfg->kv, HEALTH_KEY, &value, &len, r->pool);
    }
    *ok = rv == APR_SUCCESS;
    return json_pack("{s:b, s:s, s:b}", "configured", 1, "store", cfg->kv->ops->name, "reachable",
                     *ok);
}

static int health(request_rec *r)
{
    const auth_ipsie_settings_t *cfg = health_settings(r);
    int provider_ok = 1;
    int cache_ok = 1;
    json_t *provider;
    json_t *cache;
    json_t *doc;
    char *dumped;
    const char *body;

    provider = cfg ? provider_health(&provider_ok, r, cfg) : json_pack("{s:b}", "configured", 0);
    cache = cfg ? cache_health(&cache_ok, r, cfg) : json_pack("{s:b}", "configured", 0);
    doc = json_pack("{s:s, s:o*, s:o*}", "status", provider_ok && cache_ok ? "ok" : "fail",
                    "provider", provider, "cache", cache);
    dumped = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (dumped == NULL) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    body = apr_pstrcat(r->pool, dumped, "\n", NULL);
    free(dumped);
    auth_ipsie_send(r, provider_ok && cache_ok ? HTTP_OK : HTTP_SERVICE_UNAVAILABLE,
                    "application/json", body);
    return OK;
}

static int metrics(request_rec *r)
{
    ipsie_metrics_snapshot_t snap;

    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (r->args != NULL && strcmp(r->args, "health") == 0) {
        return health(r);
    }
    ipsie_metrics_read(&snap);
    auth_ipsie_send(r, HTTP_OK, PROMETHEUS_TYPE,
                    ipsie_metrics_prometheus(&snap, auth_ipsie_now(), r->pool));
    return OK;
}

int auth_ipsie_metrics_handler(request_rec *r)
{
    void *outer;
    int status;

    /* Every request of the server comes here: the others leave at once. */
    if (r->handler == NULL || r->handler[0] != 'i' || strcmp(r->handler, HANDLER_NAME) != 0) {
        return DECLINED;
    }
    /* Core lines logged meanwhile (a provider fetch of ?health) carry the request. */
    outer = ipsie_log_set_call(r);
    status = metrics(r);
    ipsie_log_set_call(outer);
    return status;
}

int auth_ipsie_metrics_status(request_rec *r, int flags)
{
    ipsie_metrics_snapshot_t snap;

    ipsie_metrics_read(&snap);
    if (flags & AP_STATUS_SHORT) {
        ap_rputs(ipsie_metrics_status_text(&snap, auth_ipsie_now(), r->pool), r);
    }
    else {
        ap_rputs(ipsie_metrics_status_html(&snap, auth_ipsie_now(), r->pool), r);
    }
    return OK;
}

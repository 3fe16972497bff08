// The configurations the benchmark compares. One entry each: adding a session store (for
// example IPSIESessionStore cache with shmcb or Redis) is one more line in CONFIGS.
//
// Fields:
//   id        short name, used in the table, the JSON and on the OP as the client id
//   label     what it is, in words
//   module    'none' | 'ipsie' | 'openidc': which protection the /app location gets
//   match     id of the mod_auth_openidc configuration it is compared with (ipsie only)
//   extra     more server-level directives for that module (session store and so on), or a
//             function of the running services ({ redis: { port } }) that returns them
//   modules   more httpd modules to load: [[name, file]] from Debian's module directory
//   services  what the configuration needs, made once for the run: 'redis' (a server),
//             'dpopKey' (an EC P-256 private key in a PEM file: { path })
//   targets   the goals printed beside the results (never asserted): { vsUnprotected, vsOpenidc }
//   inProcess true when the sessions live in httpd's own memory (shm): a restart loses them,
//             so the profile logs in on the instance it profiles and subtracts the login
//   loginOnly true: only in the login timing (and the instructions per login), not in the
//             throughput rounds, the memory reading or the request profile
//   client    more registration metadata for its client at the OP (dpop_bound_access_tokens,
//             require_pushed_authorization_requests: the OP then refuses a login without them)

export const CONFIGS = [
    { id: 'unprotected', label: 'unprotected (ceiling)', module: 'none' },
    { id: 'ipsie-cookie', label: 'mod_auth_ipsie, cookie store', module: 'ipsie', match: 'openidc-cookie',
        targets: { vsUnprotected: 0.85, vsOpenidc: 1.8 }, extra: ['IPSIESessionStore cookie'] },
    { id: 'openidc-cookie', label: 'mod_auth_openidc, client-cookie', module: 'openidc',
        extra: ['OIDCSessionType client-cookie'] },
    { id: 'ipsie-shmcb', label: 'mod_auth_ipsie, cache store on shmcb', module: 'ipsie', match: 'openidc-shm',
        targets: { vsUnprotected: 0.9 }, inProcess: true, extra: ['IPSIESessionStore cache', 'IPSIESessionCache shmcb'] },
    { id: 'openidc-shm', label: 'mod_auth_openidc, server-cache shm', module: 'openidc', inProcess: true,
        extra: ['OIDCSessionType server-cache', 'OIDCCacheType shm'] },
    { id: 'ipsie-redis', label: 'mod_auth_ipsie, cache store on Redis', module: 'ipsie', match: 'openidc-redis',
        targets: { vsUnprotected: 0.85 }, services: ['redis'],
        extra: ({ redis }) => ['IPSIESessionStore cache', `IPSIESessionCache redis:127.0.0.1:${redis.port}`] },
    { id: 'openidc-redis', label: 'mod_auth_openidc, server-cache Redis', module: 'openidc', services: ['redis'],
        extra: ({ redis }) => ['OIDCSessionType server-cache', 'OIDCCacheType redis',
            `OIDCRedisCacheServer 127.0.0.1:${redis.port}`] },
    // The login with DPoP and PAR beside the plain one. The OP offers DPoP to every client, so
    // ipsie-cookie (IPSIEDPoP auto, the default) already sends proofs with its token and
    // UserInfo requests: the plain login is IPSIEDPoP off. The DPoP + PAR client must push its requests and gets
    // DPoP-bound tokens only (the OP refuses anything else); with IPSIEDPoPSigningKey the push
    // carries a proof as well and the code is bound to the key (dpop_jkt).
    { id: 'ipsie-plain', label: 'mod_auth_ipsie, cookie store, plain login (IPSIEDPoP off, GET)', module: 'ipsie',
        loginOnly: true, extra: ['IPSIESessionStore cookie', 'IPSIEDPoP off'] },
    { id: 'ipsie-dpop-par', label: 'mod_auth_ipsie, cookie store, DPoP + PAR', module: 'ipsie', loginOnly: true,
        services: ['dpopKey'], client: { dpop_bound_access_tokens: true, require_pushed_authorization_requests: true },
        extra: ({ dpopKey }) => ['IPSIESessionStore cookie', 'IPSIEDPoP required', `IPSIEDPoPSigningKey ${dpopKey.path}`,
            'IPSIEAuthRequestMethod PAR'] },
];

// The login table's comparison: each module's plain login and its login with DPoP + PAR
// (configuration ids). dpopPar null: the module cannot do both (see openidcFeatures in
// server.mjs: Debian 12's mod_auth_openidc 2.4.12.3 has neither; they came with 2.4.16).
export const LOGIN_COMPARISON = [
    { module: 'ipsie', name: 'mod_auth_ipsie', plain: 'ipsie-plain', dpopPar: 'ipsie-dpop-par' },
    { module: 'openidc', name: 'mod_auth_openidc', plain: 'openidc-cookie', dpopPar: null },
];

// The same session lifetimes for both modules (mod_auth_ipsie's defaults), so that neither
// expires a session during a run and both do the same idle-time bookkeeping.
export const IDLE_TIMEOUT = 3600;
export const MAX_DURATION = 28800;
export const SCOPE = 'openid email profile groups';

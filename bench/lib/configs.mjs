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
//   services  servers the configuration needs, started once for the run: 'redis'
//   targets   the goals printed beside the results (never asserted): { vsUnprotected, vsOpenidc }
//   inProcess true when the sessions live in httpd's own memory (shm): a restart loses them,
//             so the profile logs in on the instance it profiles and subtracts the login

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
];

// The same session lifetimes for both modules (mod_auth_ipsie's defaults), so that neither
// expires a session during a run and both do the same idle-time bookkeeping.
export const IDLE_TIMEOUT = 3600;
export const MAX_DURATION = 28800;
export const SCOPE = 'openid email profile groups';

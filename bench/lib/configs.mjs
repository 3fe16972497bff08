// The configurations the benchmark compares. One entry each: adding a session store (for
// example IPSIESessionStore cache with shmcb or Redis) is one more line in CONFIGS.
//
// Fields:
//   id        short name, used in the table, the JSON and on the OP as the client id
//   label     what it is, in words
//   module    'none' | 'ipsie' | 'openidc': which protection the /app location gets
//   match     id of the mod_auth_openidc configuration it is compared with (ipsie only)
//   extra     more server-level directives for that module (session store and so on)
//   modules   more httpd modules to load: [[name, file]] from Debian's module directory

export const CONFIGS = [
    { id: 'unprotected', label: 'unprotected (ceiling)', module: 'none' },
    { id: 'ipsie-cookie', label: 'mod_auth_ipsie, cookie store', module: 'ipsie', match: 'openidc-cookie',
        extra: ['IPSIESessionStore cookie'] },
    { id: 'openidc-cookie', label: 'mod_auth_openidc, client-cookie', module: 'openidc',
        extra: ['OIDCSessionType client-cookie'] },
    { id: 'openidc-shm', label: 'mod_auth_openidc, server-cache shm', module: 'openidc',
        extra: ['OIDCSessionType server-cache', 'OIDCCacheType shm'] },
];

// The same session lifetimes for both modules (mod_auth_ipsie's defaults), so that neither
// expires a session during a run and both do the same idle-time bookkeeping.
export const IDLE_TIMEOUT = 3600;
export const MAX_DURATION = 28800;
export const SCOPE = 'openid email profile groups';

// Runs Debian's apache2 from a generated httpd.conf in a temp dir.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep, waitForPort } from './ports.mjs';

export const APACHE = process.env.APACHE_BIN ?? '/usr/sbin/apache2';
export const MODULES_DIR = process.env.APACHE_MODULES ?? '/usr/lib/apache2/modules';
export const MODULE_SO = process.env.IPSIE_MODULE
    ?? fileURLToPath(new URL('../../../_build/mod_auth_ipsie.so', import.meta.url));

// The MPMs a test may choose, each with its module and directives: 8 workers either way.
const MPMS = {
    event: {
        module: ['mpm_event_module', 'mod_mpm_event.so'],
        directives: [
            'StartServers 1',
            'ServerLimit 1',
            'ThreadsPerChild 8',
            'ThreadLimit 8',
            'MaxRequestWorkers 8',
            'MinSpareThreads 1',
            'MaxSpareThreads 8',
        ],
    },
    prefork: {
        module: ['mpm_prefork_module', 'mod_mpm_prefork.so'],
        directives: [
            'StartServers 8',
            'MinSpareServers 1',
            'MaxSpareServers 8',
            'ServerLimit 8',
            'MaxRequestWorkers 8',
        ],
    },
};

const MODULES = [
    ['authn_core_module', 'mod_authn_core.so'],
    ['authz_core_module', 'mod_authz_core.so'],
    ['authz_user_module', 'mod_authz_user.so'],
    ['mime_module', 'mod_mime.so'],
    ['headers_module', 'mod_headers.so'],
    ['socache_shmcb_module', 'mod_socache_shmcb.so'],
    ['proxy_module', 'mod_proxy.so'],
    ['proxy_http_module', 'mod_proxy_http.so'],
];

// Errors, and a child that died of a signal (httpd logs that at notice level, AH00052).
const PROBLEM = /\[[\w.]*:(error|crit|alert|emerg)\]|exit signal/;

// The full text of an httpd.conf; directives and locations are config text placed after the
// common part. module: false leaves mod_auth_ipsie out (to check the rest of the setup).
// mpm: 'event' (one child of 8 threads) or 'prefork' (8 children). tls: { cert, key } (PEM file
// paths): the server speaks https on its port with that certificate (mod_ssl).
export function httpdConf({
    dir, port, directives = '', locations = '', module = true, mpm = 'event', tls,
}) {
    const chosen = MPMS[mpm];
    if (!chosen) {
        throw new Error(`unknown MPM ${mpm}`);
    }
    const lines = [
        `ServerRoot "${dir}"`,
        `DefaultRuntimeDir "${dir}"`,
        `PidFile "${dir}/httpd.pid"`,
        `ErrorLog "${dir}/error.log"`,
        `CoreDumpDirectory "${dir}"`,
        module ? 'LogLevel info auth_ipsie:debug' : 'LogLevel info',
        `Listen 127.0.0.1:${port}`,
        `ServerName 127.0.0.1:${port}`,
        `DocumentRoot "${dir}/htdocs"`,
        ...[chosen.module, ...MODULES].map(([name, file]) => `LoadModule ${name} ${MODULES_DIR}/${file}`),
        module ? `LoadModule auth_ipsie_module ${MODULE_SO}` : '',
        ...(tls ? [
            `LoadModule ssl_module ${MODULES_DIR}/mod_ssl.so`,
            'SSLEngine on',
            `SSLCertificateFile "${tls.cert}"`,
            `SSLCertificateKeyFile "${tls.key}"`,
        ] : []),
        ...chosen.directives,
        'TypesConfig /etc/mime.types',
        // The common format and %D, the microseconds from the request's start to its end.
        `LogFormat "%h %l %u %t \\"%r\\" %>s %b %D" timed`,
        `CustomLog "${dir}/access.log" timed`,
    ];
    if (userInfo().uid === 0) {
        // As root, children drop privileges; Debian's unprivileged user.
        lines.push('User www-data', 'Group www-data');
    }
    lines.push('<Directory />', '    AllowOverride None', '    Require all denied', '</Directory>');
    lines.push('', asText(directives), '', asText(locations), '');
    return lines.join('\n');
}

function asText(v) {
    return Array.isArray(v) ? v.join('\n') : v;
}

function newDir() {
    const dir = mkdtempSync(join(tmpdir(), 'ipsie-httpd-'));
    mkdirSync(join(dir, 'htdocs'));
    // httpd's children run unprivileged when started as root.
    chmodSync(dir, 0o755);
    return dir;
}

// Starts apache2 in the foreground; mpm and tls as for httpdConf (with tls, origin and url are
// https). Returns { port, url(path), dir, conf,
// pid, errorLog(), errorLogProblems(allow), graceful(), stop() }; graceful() does what
// `apachectl graceful` does (SIGUSR1 to the parent) and resolves once the new generation
// says it resumed normal operations.
export async function startHttpd({
    port, directives, locations, module = true, keepDir = false, mpm = 'event', tls,
} = {}) {
    if (module && !existsSync(MODULE_SO)) {
        throw new Error(`${MODULE_SO} not found: build the module first (make)`);
    }
    port = port ?? await freePort();
    const dir = newDir();
    const conf = httpdConf({ dir, port, directives, locations, module, mpm, tls });
    const confFile = join(dir, 'httpd.conf');
    writeFileSync(confFile, conf);

    // prefork stops its children by signalling its whole process group: a group of its own,
    // or the signal would reach the test runner too.
    const child = spawn(APACHE, ['-f', confFile, '-DFOREGROUND'],
        { stdio: ['ignore', 'pipe', 'pipe'], detached: mpm === 'prefork' });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const exited = new Promise((resolve) => child.once('exit', resolve));

    const errorLogFile = join(dir, 'error.log');
    const errorLog = () => (existsSync(errorLogFile) ? readFileSync(errorLogFile, 'utf8') : '');
    try {
        await waitForPort(port, 15000, () => child.exitCode !== null);
    } catch (err) {
        child.kill('SIGKILL');
        throw new Error(`apache2 did not start: ${err.message}\n${output}\n${errorLog()}\n--- conf:\n${conf}`);
    }

    let checked = 0;
    const resumed = () => (errorLog().match(/resuming normal operations/g) ?? []).length;
    const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return {
        port,
        dir,
        conf,
        pid: child.pid,
        origin,
        url: (path = '/') => `${origin}${path}`,
        output: () => output,
        errorLog,
        // error/crit/alert/emerg lines logged since the last call, less those matching allow.
        errorLogProblems(allow = []) {
            const text = errorLog();
            const fresh = text.slice(checked);
            checked = text.length;
            return fresh.split('\n')
                .filter((line) => PROBLEM.test(line))
                .filter((line) => !allow.some((re) => re.test(line)));
        },
        async graceful(timeoutMs = 15000) {
            const before = resumed();
            process.kill(child.pid, 'SIGUSR1');
            const until = Date.now() + timeoutMs;
            while (resumed() <= before) {
                if (child.exitCode !== null || Date.now() > until) {
                    throw new Error(`apache2 did not come back from a graceful restart:\n${output}\n${errorLog()}`);
                }
                await sleep(50);
            }
            await waitForPort(port, timeoutMs);
        },
        async stop() {
            if (child.exitCode === null) {
                child.kill('SIGTERM');
                const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
                await exited;
                clearTimeout(timer);
            }
            if (!keepDir && !process.env.IPSIE_KEEP_LOGS) {
                rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}

// Runs `apache2 -t` on a config; conf is either full text or a function of { dir }.
export function configtest(conf) {
    const dir = newDir();
    try {
        const text = typeof conf === 'function' ? conf({ dir }) : conf;
        const confFile = join(dir, 'httpd.conf');
        writeFileSync(confFile, text);
        const r = spawnSync(APACHE, ['-t', '-f', confFile], { encoding: 'utf8' });
        return { code: r.status, output: `${r.stdout}${r.stderr}` };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

// One httpd per configuration, all with the same MPM settings, the same page and no access
// log, so that the only difference between them is the protection of /app.
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { APACHE, MODULES_DIR, MODULE_SO } from '../../t/integration/lib/httpd.mjs';
import { freePort, waitForPort } from '../../t/integration/lib/ports.mjs';
import { IDLE_TIMEOUT, MAX_DURATION, SCOPE } from './configs.mjs';

export const OPENIDC_SO = process.env.OPENIDC_MODULE ?? join(MODULES_DIR, 'mod_auth_openidc.so');
export const PAGE_PATH = '/app/index.html';

const BASE_MODULES = [
    ['mpm_event_module', 'mod_mpm_event.so'],
    ['authn_core_module', 'mod_authn_core.so'],
    ['authz_core_module', 'mod_authz_core.so'],
    ['authz_user_module', 'mod_authz_user.so'],
    ['mime_module', 'mod_mime.so'],
    ['socache_shmcb_module', 'mod_socache_shmcb.so'],
];

// One child with a fixed pool of threads, more than wrk has connections: nothing is started
// or stopped while wrk measures, and no request waits for a free worker.
export const MPM = [
    'StartServers 1',
    'ServerLimit 1',
    'ThreadsPerChild 64',
    'ThreadLimit 64',
    'MaxRequestWorkers 64',
    'MinSpareThreads 16',
    'MaxSpareThreads 128',
    'MaxConnectionsPerChild 0',
    'KeepAlive On',
    'MaxKeepAliveRequests 0',
    'KeepAliveTimeout 15',
];

// The page every configuration serves: 1 KiB of HTML.
export function pageHtml() {
    const head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>bench</title></head><body>\n';
    const tail = '</body></html>\n';
    const fill = 1024 - head.length - tail.length;
    return head + `<p>${'x'.repeat(fill - 8)}</p>\n` + tail;
}

// A client registration at the OP for a configuration on an httpd port (with the
// configuration's own metadata, config.client).
export function opClient(config, port, secret) {
    return {
        client_id: `bench-${config.id}`,
        client_secret: secret,
        redirect_uris: [`http://127.0.0.1:${port}/app/redirect_uri`],
        token_endpoint_auth_method: 'client_secret_basic',
        ...(config.client ?? {}),
    };
}

// Whether the installed mod_auth_openidc can push its authorization requests (PAR: httpd
// accepts OIDCProviderAuthRequestMethod PAR) and has DPoP (any directive or message naming
// it in the module). Returns { par, dpop, parError }: parError is httpd's answer to the line.
export function openidcFeatures() {
    const dir = mkdtempSync(join(tmpdir(), 'ipsie-bench-openidc-probe-'));
    try {
        const confFile = join(dir, 'httpd.conf');
        writeFileSync(confFile, [
            `ServerRoot "${dir}"`, `DefaultRuntimeDir "${dir}"`, `PidFile "${dir}/httpd.pid"`,
            `ErrorLog "${dir}/error.log"`, 'Listen 127.0.0.1:1', 'ServerName 127.0.0.1',
            `LoadModule mpm_event_module ${MODULES_DIR}/mod_mpm_event.so`,
            `LoadModule authz_core_module ${MODULES_DIR}/mod_authz_core.so`,
            `LoadModule auth_openidc_module ${OPENIDC_SO}`,
            'OIDCProviderAuthRequestMethod PAR', '',
        ].join('\n'));
        let par = true;
        let parError = '';
        try {
            execFileSync(APACHE, ['-t', '-f', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
        } catch (err) {
            par = false;
            parError = `${err.stderr ?? ''}`.trim().split('\n').filter((l) => /OIDCProviderAuthRequestMethod/.test(l)).join(' ');
        }
        const dpop = /dpop/i.test(readFileSync(OPENIDC_SO).toString('latin1'));
        return { par, dpop, parError };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

function protectionLines(config, { port, op, secret, passphrase, services = {} }) {
    const extra = typeof config.extra === 'function' ? config.extra(services) : (config.extra ?? []);
    const redirect = `http://127.0.0.1:${port}/app/redirect_uri`;
    const clientId = `bench-${config.id}`;
    if (config.module === 'ipsie') {
        return {
            modules: [`LoadModule auth_ipsie_module ${MODULE_SO}`],
            server: [
                `IPSIEProviderMetadataURL ${op.metadataUrl}`,
                `IPSIEClientID ${clientId}`,
                `IPSIEClientSecret ${secret}`,
                `IPSIERedirectURI ${redirect}`,
                `IPSIECryptoPassphrase ${passphrase}`,
                `IPSIEScope "${SCOPE}"`,
                `IPSIESessionInactivityTimeout ${IDLE_TIMEOUT}`,
                `IPSIESessionMaxDuration ${MAX_DURATION}`,
                ...extra,
            ],
            location: ['AuthType ipsie', 'Require valid-user'],
        };
    }
    if (config.module === 'openidc') {
        return {
            modules: [`LoadModule auth_openidc_module ${OPENIDC_SO}`],
            server: [
                `OIDCProviderMetadataURL ${op.metadataUrl}`,
                `OIDCClientID ${clientId}`,
                `OIDCClientSecret ${secret}`,
                `OIDCRedirectURI ${redirect}`,
                `OIDCCryptoPassphrase ${passphrase}`,
                `OIDCScope "${SCOPE}"`,
                'OIDCPKCEMethod S256',
                `OIDCSessionInactivityTimeout ${IDLE_TIMEOUT}`,
                `OIDCSessionMaxDuration ${MAX_DURATION}`,
                ...extra,
            ],
            location: ['AuthType openid-connect', 'Require valid-user'],
        };
    }
    return { modules: [], server: [], location: ['Require all granted'] };
}

// The full httpd.conf of a configuration.
export function benchConf(config, { dir, port, op, secret, passphrase, services, logLevel = 'warn' }) {
    const p = protectionLines(config, { port, op, secret, passphrase, services });
    const lines = [
        `ServerRoot "${dir}"`,
        `DefaultRuntimeDir "${dir}"`,
        `PidFile "${dir}/httpd.pid"`,
        `ErrorLog "${dir}/error.log"`,
        `LogLevel ${logLevel}`,
        `Listen 127.0.0.1:${port}`,
        `ServerName 127.0.0.1:${port}`,
        `DocumentRoot "${dir}/htdocs"`,
        ...BASE_MODULES.map(([name, file]) => `LoadModule ${name} ${MODULES_DIR}/${file}`),
        ...(config.modules ?? []).map(([name, file]) => `LoadModule ${name} ${MODULES_DIR}/${file}`),
        ...p.modules,
        ...MPM,
        'TypesConfig /etc/mime.types',
        'EnableSendfile Off',
    ];
    if (userInfo().uid === 0) {
        lines.push('User www-data', 'Group www-data');
    }
    lines.push(
        '<Directory />', '    AllowOverride None', '    Require all denied', '</Directory>',
        `<Directory "${dir}/htdocs">`, '    Require all granted', '</Directory>',
        ...p.server,
        '<Location /app>', ...p.location.map((l) => `    ${l}`), '</Location>',
        '',
    );
    return lines.join('\n');
}

// The unprivileged user httpd's children run as when started as root.
function wwwData() {
    const uid = Number(execFileSync('id', ['-u', 'www-data'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'www-data'], { encoding: 'utf8' }));
    return { uid, gid };
}

function chownTree(path, { uid, gid }) {
    chownSync(path, uid, gid);
    for (const entry of readdirSync(path, { withFileTypes: true })) {
        const sub = join(path, entry.name);
        if (entry.isDirectory()) {
            chownTree(sub, { uid, gid });
        } else {
            chownSync(sub, uid, gid);
        }
    }
}

// Starts the httpd of a configuration; returns { config, port, origin, url(), dir, pid(),
// childPid(), rssKiB(), errorLog(), stop() }. wrap: a command prefix (valgrind) for a single
// process httpd (-X); as root it is started as www-data from the start, so that a tool
// attached to it (callgrind_control) and the process agree on who owns its files.
export async function startServer(config, { op, port, secret, passphrase, services, wrap, logLevel } = {}) {
    port = port ?? await freePort();
    const dir = mkdtempSync(join(tmpdir(), `ipsie-bench-${config.id}-`));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'htdocs', 'app'), { recursive: true });
    writeFileSync(join(dir, 'htdocs', 'app', 'index.html'), pageHtml());
    const conf = benchConf(config, { dir, port, op, secret, passphrase, services, logLevel });
    const confFile = join(dir, 'httpd.conf');
    writeFileSync(confFile, conf);

    const args = ['-f', confFile, '-DFOREGROUND', ...(wrap ? ['-X'] : [])];
    let prefix = [];
    if (wrap && userInfo().uid === 0) {
        const www = wwwData();
        chownTree(dir, www);
        prefix = ['setpriv', `--reuid=${www.uid}`, `--regid=${www.gid}`, '--clear-groups'];
    }
    const [cmd, ...cmdArgs] = wrap ? [...prefix, ...wrap, APACHE, ...args] : [APACHE, ...args];
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const errorLogFile = join(dir, 'error.log');
    const errorLog = () => (existsSync(errorLogFile) ? readFileSync(errorLogFile, 'utf8') : '');
    try {
        await waitForPort(port, wrap ? 120000 : 15000, () => child.exitCode !== null);
    } catch (err) {
        child.kill('SIGKILL');
        throw new Error(`apache2 (${config.id}) did not start: ${err.message}\n${output}\n${errorLog()}\n--- conf:\n${conf}`);
    }
    const origin = `http://127.0.0.1:${port}`;
    return {
        config,
        port,
        dir,
        conf,
        origin,
        url: (path = PAGE_PATH) => `${origin}${path}`,
        pid: () => child.pid,
        output: () => output,
        errorLog,
        // The pid of the one worker child (the main process itself under -X).
        childPid() {
            if (wrap) {
                return child.pid;
            }
            const list = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
            const pids = list.filter(Boolean).map(Number);
            if (pids.length !== 1) {
                throw new Error(`expected one httpd child of ${child.pid}, found ${pids.length}`);
            }
            return pids[0];
        },
        rssKiB() {
            const status = readFileSync(`/proc/${this.childPid()}/status`, 'utf8');
            return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)[1]);
        },
        async stop(signal = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) {
                child.kill(signal);
                const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
                await exited;
                clearTimeout(timer);
            }
            if (!process.env.BENCH_KEEP_DIRS) {
                rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}

export function newSecrets() {
    return { secret: randomBytes(24).toString('hex'), passphrase: randomBytes(32).toString('hex') };
}

// The benchmark: throughput and latency of a protected static page for each configuration
// in CONFIGS, interleaved, plus the cost of a login (plain and with DPoP + PAR too), the
// memory of an httpd child after many logins, and a CPU profile of the request path (the
// unprotected page's too, so that a module's added instructions per request stand beside its
// ratios) and of a login. Run through bench/run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startOP } from '../../t/integration/lib/op.mjs';
import { freePort } from '../../t/integration/lib/ports.mjs';
import { CONFIGS, LOGIN_COMPARISON } from './configs.mjs';
import { profileConfig, profileLogins } from './profile.mjs';
import { keyStore } from '../../t/integration/lib/keys.mjs';
import { startKvServer } from '../../t/integration/lib/kvserver.mjs';
import { newSecrets, opClient, openidcFeatures, PAGE_PATH, startServer } from './server.mjs';
import { loginOnce, refreshCookie, verifyPage } from './session.mjs';
import { median, runWrk } from './wrk.mjs';

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

function options() {
    const { values } = parseArgs({
        options: {
            quick: { type: 'boolean', default: false },
            rounds: { type: 'string' },
            duration: { type: 'string' },
            threads: { type: 'string', default: '2' },
            connections: { type: 'string', default: '32' },
            'login-samples': { type: 'string' },
            logins: { type: 'string' },
            concurrency: { type: 'string', default: '4' },
            'profile-requests': { type: 'string' },
            'profile-logins': { type: 'string' },
            only: { type: 'string' },
            'no-memory': { type: 'boolean', default: false },
            'no-profile': { type: 'boolean', default: false },
        },
    });
    const q = values.quick;
    const num = (v, full, quick) => Number(v ?? (q ? quick : full));
    return {
        quick: q,
        rounds: num(values.rounds, 5, 2),
        duration: num(values.duration, 5, 2),
        threads: Number(values.threads),
        connections: Number(values.connections),
        loginSamples: num(values['login-samples'], 30, 5),
        logins: num(values.logins, 10000, 300),
        concurrency: Number(values.concurrency),
        profileRequests: num(values['profile-requests'], 3000, 300),
        profileLogins: num(values['profile-logins'], 10, 3),
        only: values.only ? values.only.split(',') : undefined,
        memory: !values['no-memory'],
        profile: !values['no-profile'] && !q,
    };
}

function log(msg) {
    process.stderr.write(`[bench] ${msg}\n`);
}

function tryRun(cmd, args) {
    try {
        return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (err) {
        return `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    }
}

function environment() {
    const pkg = (name) => tryRun('dpkg-query', ['-W', '-f=${Version}', name]);
    return {
        host: hostname(),
        cpu: cpus()[0]?.model,
        cores: cpus().length,
        kernel: release(),
        apache2: pkg('apache2'),
        mod_auth_openidc: pkg('libapache2-mod-auth-openidc'),
        wrk: pkg('wrk'),
        node: process.version,
    };
}

// Runs async fn over items, at most n at a time.
async function pool(items, n, fn) {
    let next = 0;
    const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
        while (next < items.length) {
            const i = next++;
            await fn(items[i], i);
        }
    });
    await Promise.all(workers);
}

// wrk once against a server, checking every response was the page (by size) and not a
// redirect or an error. A module that rewrites its cookie lazily (mod_auth_ipsie when 60 s
// have passed since the last rewrite) may come due during a run: every response after that
// carries a Set-Cookie, since wrk keeps sending the old cookie where a browser would take the
// new one. That run is not the steady state, so it is run once more with the cookie just
// rewritten (r.retried); a module that sets a cookie on every response fails again.
async function measure(server, session, opts) {
    for (let attempt = 1; ; attempt++) {
        session.cookie = await refreshCookie(server, session.client);
        const headers = session.cookie ? { Cookie: session.cookie } : {};
        const r = await runWrk(server.url(PAGE_PATH), { ...opts, headers });
        const perRequest = r.bytes / r.requests;
        const isPage = r.non2xx3xx === 0 && Math.abs(perRequest - session.bytes) <= session.bytes * 0.05;
        if (!isPage && attempt === 1 && session.client && r.non2xx3xx === 0 && perRequest > session.bytes) {
            log(`${server.config.id}: ${perRequest.toFixed(0)} bytes per response, expected ${session.bytes}: `
                + 'a cookie rewrite came due during the run; once more with the new cookie');
            continue;
        }
        if (!isPage) {
            throw new Error(`${server.config.id}: wrk saw responses other than the page `
                + `(${r.non2xx3xx} non-2xx/3xx, ${perRequest.toFixed(0)} bytes per response, expected ${session.bytes}: `
                + `a redirect, an error, or a Set-Cookie on every response)\n${r.raw}`);
        }
        await verifyPage(server, session.cookie);
        return { ...r, retried: attempt > 1 };
    }
}

const fmt = (v, d = 2) => (v === undefined || v === null || Number.isNaN(v) ? '-' : v.toFixed(d));

// The instruction columns only when there is a profile (not with --quick or --no-profile).
function printTable(rows) {
    const profiled = rows.some((r) => r.irPerRequest !== undefined);
    const head = ['configuration', 'req/s', 'p50 ms', 'p99 ms', 'x unprot', 'p99 x unprot', 'x openidc',
        ...(profiled ? ['instr/req', 'added instr/req'] : [])];
    const lines = rows.map((r) => [r.id, fmt(r.rps, 0), fmt(r.p50, 3), fmt(r.p99, 3), fmt(r.vsUnprotected),
        fmt(r.p99VsUnprotected), fmt(r.vsOpenidc),
        ...(profiled ? [fmt(r.irPerRequest, 0), fmt(r.irAddedPerRequest, 0)] : [])]);
    const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const row = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    console.log(row(head));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const l of lines) {
        console.log(row(l));
    }
}

// Each module's plain login beside its login with DPoP + PAR (LOGIN_COMPARISON), from the
// login rows: { module, name, plain, dpopPar, ratio, irRatio, unsupported }. A module that
// cannot do both gets unsupported (what the installed module lacks) instead of a row.
function loginComparison(login) {
    const row = (id) => login.find((l) => l.id === id);
    return LOGIN_COMPARISON.filter((l) => row(l.plain) || (l.dpopPar && row(l.dpopPar))).map((l) => {
        const plain = row(l.plain);
        const dpopPar = l.dpopPar ? row(l.dpopPar) : undefined;
        const out = { module: l.module, name: l.name, plain: plain ?? null, dpopPar: dpopPar ?? null };
        if (plain && dpopPar) {
            out.ratio = dpopPar.medianMs / plain.medianMs;
            if (plain.irPerLogin !== undefined && dpopPar.irPerLogin !== undefined) {
                out.irRatio = dpopPar.irPerLogin / plain.irPerLogin;
            }
        }
        if (!l.dpopPar && l.module === 'openidc') {
            const f = openidcFeatures();
            out.unsupported = {
                ...f,
                why: f.par && f.dpop
                    ? 'the installed module has PAR and DPoP, but bench/lib/configs.mjs has no configuration for them yet'
                    : `the installed module has ${[f.par ? '' : 'no PAR', f.dpop ? '' : 'no DPoP'].filter(Boolean).join(' and ')}`,
            };
        }
        return out;
    });
}

function printLoginComparison(comparison, env) {
    if (comparison.length === 0) {
        return;
    }
    console.log('\nlogin, plain and with DPoP + PAR (medians):');
    for (const c of comparison) {
        const ms = (l) => (l ? `${fmt(l.medianMs, 1)} ms (${l.id})` : 'not run');
        const ir = (l) => (l?.irPerLogin !== undefined ? `, ${l.irPerLogin} instr` : '');
        let line = `  ${c.name.padEnd(17)} plain ${ms(c.plain)}${ir(c.plain)}; DPoP + PAR `;
        if (c.unsupported) {
            const version = c.module === 'openidc' ? ` ${env.mod_auth_openidc}` : '';
            line += `not possible: ${c.unsupported.why}${version ? ` (${c.name}${version})` : ''}`;
        } else {
            line += `${ms(c.dpopPar)}${ir(c.dpopPar)}`;
            if (c.ratio !== undefined) {
                line += `; DPoP + PAR / plain ${fmt(c.ratio)}x${c.irRatio !== undefined ? ` (instructions ${fmt(c.irRatio)}x)` : ''}`;
            }
        }
        console.log(line);
    }
    if (comparison.some((c) => c.module === 'ipsie')) {
        console.log('  (the other mod_auth_ipsie rows have IPSIEDPoP auto, the default: with this OP, which offers DPoP,'
            + ' proofs on the token and UserInfo requests, and no PAR)');
    }
}

async function main() {
    const opt = options();
    const configs = opt.only ? CONFIGS.filter((c) => opt.only.includes(c.id) || c.module === 'none') : CONFIGS;
    const protectedConfigs = configs.filter((c) => c.module !== 'none');
    // The configurations of the throughput rounds, the memory reading and the request profile;
    // the loginOnly ones are in the login timing only.
    const measuredConfigs = configs.filter((c) => !c.loginOnly);
    const started = new Date();
    const stamp = started.toISOString().replace(/[:.]/g, '-');
    mkdirSync(RESULTS, { recursive: true });

    const ports = {};
    const secrets = {};
    for (const c of configs) {
        ports[c.id] = await freePort();
        secrets[c.id] = newSecrets();
    }
    const op = await startOP({ clients: configs.map((c) => opClient(c, ports[c.id], secrets[c.id].secret)) });
    const servers = [];
    // The servers some configurations need, one each for the whole run, shared by the
    // configurations that name it (each keeps its own keys there).
    const services = {};
    const placeholders = { redis: { port: 'PORT' }, dpopKey: { path: 'KEY.pem' } };
    const result = {
        started: started.toISOString(), environment: environment(), options: opt,
        configs: configs.map((c) => ({ ...c, extra: typeof c.extra === 'function' ? c.extra(placeholders) : c.extra })),
    };
    const keys = keyStore();
    const start = (c) => startServer(c, { op, port: ports[c.id], ...secrets[c.id], services });
    try {
        if (configs.some((c) => c.services?.includes('redis'))) {
            services.redis = await startKvServer('redis');
            log(`redis-server on port ${services.redis.port}`);
        }
        if (configs.some((c) => c.services?.includes('dpopKey'))) {
            services.dpopKey = keys.make('ec');
        }
        for (const c of configs) {
            servers.push(await start(c));
        }
        log(`OP ${op.issuer}; httpd: ${servers.map((s) => `${s.config.id}=${s.port}`).join(' ')}`);

        // One login per configuration; its cookie is what wrk sends. For the loginOnly ones it
        // is the check that the login works, and, for all, the first login on the instance,
        // which fetches the provider's metadata and keys before the timed ones.
        const sessions = {};
        for (const s of servers) {
            const { cookie, client } = s.config.module === 'none' ? { cookie: '' } : await loginOnce(s, `bench-${s.config.id}`);
            const { bytes, setsCookie } = await verifyPage(s, cookie);
            sessions[s.config.id] = { cookie, client, bytes, setsCookie, cookieBytes: cookie.length };
            log(`${s.config.id}: page OK (${bytes} bytes on the wire, cookie ${cookie.length} bytes`
                + `${setsCookie ? ', the module rewrites its cookie on each request' : ''})`);
        }

        // Throughput and latency, interleaved: every round runs each configuration once.
        const wrkOpts = { threads: opt.threads, connections: opt.connections, duration: opt.duration };
        const measuredServers = servers.filter((s) => !s.config.loginOnly);
        for (const s of measuredServers) {
            await measure(s, sessions[s.config.id], { ...wrkOpts, duration: 1 });
        }
        const runs = Object.fromEntries(measuredServers.map((s) => [s.config.id, []]));
        for (let round = 0; round < opt.rounds; round++) {
            // Rotate the order so that no configuration always follows the same one.
            const order = measuredServers.map((_, i) => measuredServers[(i + round) % measuredServers.length]);
            for (const s of order) {
                const r = await measure(s, sessions[s.config.id], wrkOpts);
                runs[s.config.id].push({ rps: r.rps, p50: r.p50, p99: r.p99, requests: r.requests, ...(r.retried ? { retried: true } : {}) });
                log(`round ${round + 1}/${opt.rounds} ${s.config.id}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms`);
            }
        }
        const rows = measuredConfigs.map((c) => ({
            id: c.id,
            label: c.label,
            rps: median(runs[c.id].map((r) => r.rps)),
            p50: median(runs[c.id].map((r) => r.p50)),
            p99: median(runs[c.id].map((r) => r.p99)),
            cookieBytes: sessions[c.id].cookieBytes,
            rewritesCookie: sessions[c.id].setsCookie,
            runs: runs[c.id],
        }));
        const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
        const base = rows.find((r) => configs.find((c) => c.id === r.id).module === 'none');
        for (const r of rows) {
            const c = configs.find((x) => x.id === r.id);
            r.vsUnprotected = base ? r.rps / base.rps : undefined;
            r.p99VsUnprotected = base ? r.p99 / base.p99 : undefined;
            r.vsOpenidc = c.match && byId[c.match] ? r.rps / byId[c.match].rps : undefined;
        }
        result.throughput = { wrk: wrkOpts, rounds: opt.rounds, rows };

        // The cost of one complete login, median of N, interleaved across configurations.
        const times = Object.fromEntries(protectedConfigs.map((c) => [c.id, []]));
        for (let i = 0; i < opt.loginSamples; i++) {
            for (const s of servers.filter((x) => x.config.module !== 'none')) {
                times[s.config.id].push((await loginOnce(s, `timed-${s.config.id}-${i}`)).ms);
            }
        }
        result.login = protectedConfigs.map((c) => ({
            id: c.id,
            ...(c.loginOnly ? { loginOnly: true } : {}),
            samples: times[c.id].length,
            medianMs: median(times[c.id]),
            minMs: Math.min(...times[c.id]),
            maxMs: Math.max(...times[c.id]),
        }));
        result.loginComparison = loginComparison(result.login);
        for (const s of servers) {
            const problems = s.errorLog().split('\n').filter((l) => /:(error|crit|alert|emerg)\]/.test(l));
            if (problems.length > 0) {
                log(`${s.config.id}: error log:\n${problems.slice(0, 10).join('\n')}`);
            }
        }
        for (const s of servers.splice(0)) {
            await s.stop();
        }

        // Memory of the one httpd child after many distinct logins, on a fresh instance each.
        if (opt.memory) {
            result.memory = { logins: opt.logins, concurrency: opt.concurrency, rows: [] };
            for (const c of protectedConfigs.filter((x) => !x.loginOnly)) {
                const s = await start(c);
                servers.push(s);
                await loginOnce(s, `mem-${c.id}-first`);
                const before = s.rssKiB();
                const t0 = Date.now();
                const names = Array.from({ length: opt.logins }, (_, i) => `mem-${c.id}-${i}`);
                // A reading after a tenth too: growth that goes on past it would be a leak,
                // growth that stops is the allocator settling.
                const tenth = Math.max(1, Math.floor(opt.logins / 10));
                await pool(names.slice(0, tenth), opt.concurrency, async (name) => { await loginOnce(s, name); });
                const atTenth = s.rssKiB();
                await pool(names.slice(tenth), opt.concurrency, async (name) => { await loginOnce(s, name); });
                const seconds = (Date.now() - t0) / 1000;
                const after = s.rssKiB();
                result.memory.rows.push({
                    id: c.id, rssBeforeKiB: before, rssAtTenthKiB: atTenth, tenth, rssAfterKiB: after, seconds,
                });
                log(`${c.id}: RSS ${before} KiB -> ${atTenth} KiB after ${tenth} -> ${after} KiB after `
                    + `${opt.logins} logins (${seconds.toFixed(0)} s)`);
                await servers.pop().stop();
            }
        }

        // CPU profile of the request path: the unprotected page (no cookie: httpd's own cost),
        // then every protected configuration with a session cookie made beforehand, or, where
        // the sessions live in httpd's memory and do not survive the restart under valgrind,
        // with a login on the profiled instance that is then subtracted (see profile.mjs). A
        // module's added cost is its instructions per request less the unprotected page's.
        if (opt.profile) {
            result.profile = [];
            for (const c of measuredConfigs) {
                let cookie = '';
                let login;
                if (c.inProcess) {
                    login = async (server) => (await loginOnce(server, `profile-${c.id}`)).cookie;
                } else if (c.module !== 'none') {
                    const s = await start(c);
                    ({ cookie } = await loginOnce(s, `profile-${c.id}`));
                    await s.stop();
                }
                log(`${c.id}: profiling ${opt.profileRequests} requests under callgrind`
                    + `${c.module === 'none' ? ' (no cookie)' : login ? ' (after a login there, subtracted)' : ''}`);
                const p = await profileConfig(c, {
                    op, port: ports[c.id], secrets: secrets[c.id], services, cookie, login,
                    requests: opt.profileRequests, resultsDir: RESULTS, stamp,
                });
                result.profile.push({ id: c.id, ...p });
            }
            const baseProfile = result.profile.find((p) => configs.find((c) => c.id === p.id).module === 'none');
            for (const p of result.profile) {
                p.irAddedPerRequest = baseProfile ? p.irPerRequest - baseProfile.irPerRequest : undefined;
                const row = result.throughput.rows.find((r) => r.id === p.id);
                if (row) {
                    row.irPerRequest = p.irPerRequest;
                    row.irAddedPerRequest = p.irAddedPerRequest;
                }
            }

            // Instructions per login, for the configurations of the login comparison.
            const compared = new Set(result.loginComparison.flatMap((l) => [l.plain?.id, l.dpopPar?.id]).filter(Boolean));
            for (const c of protectedConfigs.filter((x) => compared.has(x.id))) {
                log(`${c.id}: profiling 1 and ${1 + opt.profileLogins} logins under callgrind`);
                const p = await profileLogins(c, {
                    op, port: ports[c.id], secrets: secrets[c.id], services, logins: opt.profileLogins,
                    login: (server, i) => loginOnce(server, `profile-login-${c.id}-${i}`),
                });
                const row = result.login.find((l) => l.id === c.id);
                row.irPerLogin = p.irPerLogin;
                row.irFirstLogin = p.firstLogin;
                row.profiledLogins = p.logins;
            }
            result.loginComparison = loginComparison(result.login);
        }
    } finally {
        for (const s of servers) {
            await s.stop();
        }
        await op.stop();
        await services.redis?.stop();
        keys.remove();
    }

    result.finished = new Date().toISOString();
    const file = join(RESULTS, `bench-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

    console.log(`\nmod_auth_ipsie benchmark, ${result.started}, ${result.environment.cpu} x${result.environment.cores}, `
        + `apache2 ${result.environment.apache2}, mod_auth_openidc ${result.environment.mod_auth_openidc}`);
    console.log(`wrk -t${opt.threads} -c${opt.connections} -d${opt.duration}s, ${opt.rounds} interleaved rounds, medians; page ${PAGE_PATH} (1 KiB)\n`);
    printTable(result.throughput.rows);
    console.log('\nlogin (authorization request -> OP -> callback -> token request -> session), median of '
        + `${opt.loginSamples}:`);
    for (const l of result.login) {
        console.log(`  ${l.id.padEnd(16)} ${fmt(l.medianMs, 1)} ms (min ${fmt(l.minMs, 1)}, max ${fmt(l.maxMs, 1)})`
            + `${l.irPerLogin !== undefined ? `; ${l.irPerLogin} instructions per login in httpd` : ''}`);
    }
    printLoginComparison(result.loginComparison, result.environment);
    if (result.memory) {
        console.log(`\nhttpd child RSS after ${opt.logins} distinct logins (${opt.concurrency} at a time):`);
        for (const m of result.memory.rows) {
            console.log(`  ${m.id.padEnd(16)} ${m.rssBeforeKiB} KiB -> ${m.rssAtTenthKiB} KiB after ${m.tenth} `
                + `-> ${m.rssAfterKiB} KiB (+${m.rssAfterKiB - m.rssBeforeKiB} KiB, ${fmt(m.seconds, 0)} s)`);
        }
    }
    if (result.profile) {
        for (const p of result.profile) {
            const added = configs.find((c) => c.id === p.id).module === 'none' || p.irAddedPerRequest === undefined
                ? '' : ` (${p.irAddedPerRequest >= 0 ? '+' : ''}${p.irAddedPerRequest} over unprotected)`;
            const counting = configs.find((c) => c.id === p.id).module === 'ipsie'
                ? `; counters ${p.countingIrPerRequest} of them` : '';
            console.log(`\nprofile ${p.id}: ${p.irPerRequest} instructions per request${added}${counting}`
                + `${p.ours.length ? '; top inclusive (ours):' : ''}`);
            for (const f of p.ours.slice(0, 8)) {
                console.log(`  ${fmt(p.inclusive.length ? f.percent : 0, 2).padStart(6)}%  ${f.fn}`);
            }
            console.log('  top exclusive:');
            for (const f of p.exclusive.slice(0, 8)) {
                console.log(`  ${fmt(f.percent, 2).padStart(6)}%  ${f.fn} [${f.object}]`);
            }
        }
    }
    const ipsie = result.throughput.rows.filter((r) => configs.find((c) => c.id === r.id).module === 'ipsie');
    console.log('\ntargets (reported, not asserted):');
    for (const r of ipsie) {
        const c = configs.find((x) => x.id === r.id);
        const t = c.targets ?? {};
        console.log(`  ${r.id}: ${fmt(r.vsUnprotected)}x unprotected${t.vsUnprotected ? ` (target >= ${t.vsUnprotected})` : ''}, `
            + `${fmt(r.vsOpenidc)}x ${c.match}${t.vsOpenidc ? ` (target >= ${t.vsOpenidc})` : ''}, `
            + `p99 ${fmt(r.p99VsUnprotected)}x unprotected (target <= 1.2)`
            + `${r.irAddedPerRequest !== undefined ? `; adds ${r.irAddedPerRequest} instructions per request to the page's ${r.irPerRequest - r.irAddedPerRequest}` : ''}`);
    }
    console.log(`\nwritten: ${file}`);
}

main().catch((err) => {
    console.error(`bench failed: ${err.stack ?? err}`);
    process.exit(1);
});

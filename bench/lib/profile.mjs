// CPU profile of the request path: callgrind on a single-process httpd, counting only inside
// request reading and processing (ap_read_request, ap_process_async_request). The unprotected
// configuration is profiled the same way, without a cookie: what httpd itself spends on the
// page, so that a module's added cost is the difference.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './server.mjs';
import { verifyPage } from './session.mjs';

// "12,345 (12.34%)  file:function [object]" lines of callgrind_annotate.
function parseAnnotate(text, limit) {
    const rows = [];
    for (const line of text.split('\n')) {
        const m = /^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)$/.exec(line);
        if (!m || m[3].includes('PROGRAM TOTALS')) {
            continue;
        }
        const where = m[3].trim();
        const fn = /:([^:\s[]+)(?:'\d+)?(?:\s+\[[^\]]*\])?$/.exec(where);
        const obj = /\[([^\]]*)\]$/.exec(where);
        rows.push({
            ir: Number(m[1].replace(/,/g, '')),
            percent: Number(m[2]),
            fn: fn ? fn[1] : where,
            object: obj ? obj[1].split('/').pop() : '',
        });
    }
    // Inclusive listings name some functions twice (by file and by object): keep the first.
    const seen = new Set();
    return rows.filter((r) => {
        const key = `${r.fn}`;
        if (seen.has(key)) {
            return false;
        }
        seen.add(key);
        return true;
    }).slice(0, limit);
}

const OURS = /^(auth_ipsie_|ipsie_)/;
// The module's counters (mod_auth_ipsie_*_total): what counting costs is what these two spend.
const COUNTING = /^ipsie_metric_(inc|add)$/;

// Instructions spent counting, inclusive, in a listing.
const countingIr = (incl) => parseAnnotate(incl, Infinity).filter((r) => COUNTING.test(r.fn))
    .reduce((sum, r) => sum + r.ir, 0);

// One callgrind run: httpd -X under valgrind, body(server) sends the requests; returns the
// instructions counted inside the toggled functions and the inclusive and exclusive listings.
async function callgrindRun(config, { op, port, secrets, services }, body) {
    const out = mkdtempSync(join(tmpdir(), 'ipsie-bench-cg-'));
    chmodSync(out, 0o777);
    const file = join(out, 'callgrind.out');
    const server = await startServer(config, {
        op, port, ...secrets, services,
        wrap: ['valgrind', '--tool=callgrind', '--vgdb=no', '--toggle-collect=ap_read_request',
            '--toggle-collect=ap_process_async_request', `--callgrind-out-file=${file}`],
    });
    try {
        await body(server);
    } finally {
        await server.stop();
    }
    const annotate = (inclusive) => execFileSync('callgrind_annotate', [`--inclusive=${inclusive}`, '--threshold=100', file],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
    const incl = annotate('yes');
    const excl = annotate('no');
    rmSync(out, { recursive: true, force: true });
    const total = Number((/([\d,]+)\s+(?:\(100\.0%\)\s+)?PROGRAM TOTALS/.exec(incl) ?? ['', '0'])[1].replace(/,/g, ''));
    return { total, incl, excl, counting: countingIr(incl) };
}

// Profiles config with a session cookie made by a normal instance on the same port with the
// same secrets (so logins are not in the profile), or with no cookie ('') for the unprotected
// configuration. A configuration whose sessions live in httpd's memory (inProcess) loses
// them when that instance stops, so it logs in on the profiled instance itself (login(server)
// returns the cookie), and the same login alone, on a second instance, is subtracted: the
// count per request is (login and requests - login) / requests, while the listings written
// hold the login too. countingIrPerRequest: the instructions per request spent in the module's
// counters (ipsie_metric_inc and ipsie_metric_add, the login's subtracted the same way).
// Returns { requests, irPerRequest, countingIrPerRequest, inclusive, exclusive, ours,
// annotateFile, loginSubtracted }.
export async function profileConfig(config, { op, port, secrets, services, cookie, login, requests, resultsDir, stamp }) {
    const ctx = { op, port, secrets, services };
    let loginOnly = 0;
    let loginCounting = 0;
    if (login) {
        ({ total: loginOnly, counting: loginCounting } = await callgrindRun(config, ctx, async (server) => { await login(server); }));
    }
    const { total, incl, excl, counting } = await callgrindRun(config, ctx, async (server) => {
        const c = login ? await login(server) : cookie;
        for (let i = 0; i < requests; i++) {
            await verifyPage(server, c);
        }
    });
    const annotateFile = join(resultsDir, `profile-${config.id}-${stamp}.txt`);
    const what = login ? 'one login, then requests with its session cookie (the login is in these listings)'
        : cookie ? 'requests with a session cookie' : 'requests without a cookie';
    writeFileSync(annotateFile, `# callgrind, ${config.id}, ${requests} ${what}, inclusive\n${incl}\n# exclusive\n${excl}`);
    const inclusiveAll = parseAnnotate(incl, 400);
    return {
        requests,
        irPerRequest: Math.round((total - loginOnly) / requests),
        countingIrPerRequest: Math.round((10 * Math.max(0, counting - loginCounting)) / requests) / 10,
        ...(login ? { loginSubtracted: loginOnly } : {}),
        inclusive: inclusiveAll.slice(0, 30),
        exclusive: parseAnnotate(excl, 25),
        ours: inclusiveAll.filter((r) => OURS.test(r.fn)).slice(0, 15),
        annotateFile,
    };
}

// Instructions httpd spends on a login (callgrind, the same toggles: the module's requests to
// the OP included, the OP itself not): logins(server, n) logs in n times on a fresh instance.
// The first login on an instance also fetches the provider's metadata and keys, so one run
// does 1 login and another 1 + n, and the difference is divided by n. Returns { logins,
// irPerLogin, firstLogin }.
export async function profileLogins(config, { op, port, secrets, services, logins, login }) {
    const ctx = { op, port, secrets, services };
    const { total: first } = await callgrindRun(config, ctx, async (server) => { await login(server, 0); });
    const { total } = await callgrindRun(config, ctx, async (server) => {
        for (let i = 0; i <= logins; i++) {
            await login(server, i);
        }
    });
    return { logins, irPerLogin: Math.round((total - first) / logins), firstLogin: first };
}

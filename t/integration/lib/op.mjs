// Starts the test OpenID Provider (t/op/op.mjs) as a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from './client.mjs';
import { freePort } from './ports.mjs';

const OP_SCRIPT = fileURLToPath(new URL('../../op/op.mjs', import.meta.url));

// clients: the OP's client registrations; port: a given port (to start again where a stopped
// OP was); kids: { rsa, ec } names for its new signing keys (random when absent); issuerPort:
// the port the OP names itself by (a proxy's in front of it), port when absent;
// backchannelLogout, testHooks, issuerTrailingSlash, idTokenAlgs, idTokenHeader, idTokenClaims,
// issParameterUnadvertised, metadataMembers and the rest of opts: the OP's opt-ins
// (t/op/op.mjs); tls: { cert, key, ca } (PEM file paths; lib/tls.mjs makes them): the OP serves
// https with cert and key, its issuer and metadataUrl are https, and report() trusts ca.
// Returns { issuer, port, metadataUrl, log(), report(), stop() }: issuer and metadataUrl name
// issuerPort (issuer with its trailing slash when asked for, metadataUrl the same either way);
// report() fetches GET /_test/report (testHooks only).
export async function startOP({
    clients, port, defaultTtl = 3600, kids, issuerPort, backchannelLogout = false, testHooks = false,
    issuerTrailingSlash = false, idTokenAlgs = [], idTokenHeader = null, idTokenClaims = null,
    issParameterUnadvertised = false, metadataMembers = null, tls,
    ...opts
}) {
    port = port ?? await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'ipsie-op-'));
    const configFile = join(dir, 'op.json');
    writeFileSync(configFile, JSON.stringify({
        defaultTtl, clients, kids, issuerPort, backchannelLogout, testHooks, issuerTrailingSlash,
        idTokenAlgs, idTokenHeader, idTokenClaims, issParameterUnadvertised, metadataMembers,
        tls: tls ? { cert: tls.cert, key: tls.key } : null, ...opts,
    }, null, 2));

    const child = spawn(process.execPath, [OP_SCRIPT, '--port', String(port), '--config', configFile],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });

    await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`OP did not start:\n${output}`)), 15000);
        child.stdout.on('data', () => {
            if (output.includes('OP listening on')) {
                clearTimeout(timer);
                resolve();
            }
        });
        child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`OP exited with ${code}:\n${output}`));
        });
    });

    const scheme = tls ? 'https' : 'http';
    const origin = `${scheme}://127.0.0.1:${issuerPort ?? port}`;
    return {
        issuer: issuerTrailingSlash ? `${origin}/` : origin,
        port,
        metadataUrl: `${origin}/.well-known/openid-configuration`,
        log: () => output,
        async report() {
            const url = `${scheme}://127.0.0.1:${port}/_test/report`;
            const res = tls ? await request(url, { ca: readFileSync(tls.ca) }) : await fetch(url);
            if (res.status !== 200) {
                throw new Error(`the OP has no test report (testHooks off?): ${res.status}`);
            }
            return res.json();
        },
        async stop() {
            if (child.exitCode === null) {
                const exited = new Promise((resolve) => child.once('exit', resolve));
                child.kill('SIGTERM');
                await exited;
            }
            rmSync(dir, { recursive: true, force: true });
        },
    };
}


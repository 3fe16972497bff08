// One table of directives (src/auth_ipsie_directives.h) that the module and README.md agree
// with: every directive the built module registers is in the table, every one is documented in
// the README's table for its scope with the same default (and, for numbers, its range), and the
// README documents no directive the module does not have. And a nested <Location> inherits what
// it does not set, and can switch off what its parent set (STYLE 3).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, login } from './lib/client.mjs';
import { tableEntries } from './lib/directives.mjs';
import { APACHE, httpdConf } from './lib/httpd.mjs';
import { protectedLocation, startStack } from './lib/stack.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path) => readFileSync(join(ROOT, path), 'utf8');

// The cells of a Markdown table row; "\|" stays inside its cell.
function cells(row) {
    return row.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim());
}

// The rows of README.md's directive tables that name an IPSIE directive:
// [{ name, scope, text, meaning }], scope from the line that introduces the table.
function readmeRows() {
    const readme = read('README.md');
    const start = readme.indexOf('\n### Directives\n');
    assert.notEqual(start, -1, 'README.md has no "### Directives" section');
    const rest = readme.slice(start + 1);
    const end = rest.search(/\n#{2,3} /);
    const rows = [];
    let scope = null;
    for (const line of (end === -1 ? rest : rest.slice(0, end)).split('\n')) {
        if (/^Server or virtual host/.test(line)) {
            scope = 'SERVER';
        }
        else if (/^Per directory/.test(line)) {
            scope = 'DIRECTORY';
        }
        const m = /^\| `(IPSIE\w+)` \|/.exec(line);
        if (m) {
            const [, text, meaning] = cells(line);
            rows.push({ name: m[1], scope, text, meaning });
        }
    }
    return rows;
}

// What the built module registers, as `apache2 -L` lists it: [{ name, help, scope }].
function moduleDirectives() {
    const dir = mkdtempSync(join(tmpdir(), 'ipsie-httpd-'));
    try {
        mkdirSync(join(dir, 'htdocs'));
        const conf = join(dir, 'httpd.conf');
        writeFileSync(conf, httpdConf({ dir, port: 18445 }));
        const r = spawnSync(APACHE, ['-L', '-f', conf], { encoding: 'utf8' });
        assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
        const found = [];
        for (const [, name, help, where] of r.stdout.matchAll(/^(\S+) \(mod_auth_ipsie\.c\)\n\t(.*)\n\t(.*)$/gm)) {
            found.push({ name, help, scope: /only inside <Directory>/.test(where) ? 'DIRECTORY' : 'SERVER' });
        }
        return found;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

describe('directive table', () => {
    const entries = tableEntries();
    const rows = readmeRows();

    test('the module registers exactly the directives of the table, with their scope and default', () => {
        const registered = moduleDirectives();
        assert.deepEqual(registered.map((d) => d.name).sort(), entries.map((e) => e.name).sort());
        for (const e of entries) {
            const d = registered.find((r) => r.name === e.name);
            assert.equal(d.scope, e.scope, `${e.name}: where it is allowed`);
            if (e.value !== null) {
                assert.ok(d.help.endsWith(` (default ${e.value})`), `${e.name}: help "${d.help}"`);
            }
        }
    });

    test('no directive appears twice', () => {
        const dupes = (names) => names.filter((n, i) => names.indexOf(n) !== i);
        assert.deepEqual(dupes(entries.map((e) => e.name)), []);
        assert.deepEqual(dupes(entries.map((e) => e.id)), []);
        assert.deepEqual(dupes(rows.map((r) => r.name)), [], 'README rows');
    });

    test('every directive has a row in the README table of its scope', () => {
        for (const e of entries) {
            const row = rows.find((r) => r.name === e.name);
            assert.ok(row, `${e.name} is not in README.md's directive tables`);
            assert.equal(row.scope, e.scope, `${e.name} is in the README table of the other scope`);
        }
    });

    test('the README has no row for a directive the module does not have', () => {
        const extra = rows.filter((r) => !entries.some((e) => e.name === r.name)).map((r) => r.name);
        assert.deepEqual(extra, []);
    });

    test('every README default is the table\'s', () => {
        for (const e of entries) {
            const row = rows.find((r) => r.name === e.name);
            assert.equal(row?.text, e.text, `${e.name}: README default`);
        }
    });

    test('every number\'s README row gives its range', () => {
        for (const e of entries.filter((x) => x.type === 'NUMBER')) {
            const row = rows.find((r) => r.name === e.name);
            assert.ok(row?.meaning.includes(`${e.min}–${e.max}`),
                `${e.name}: README should say ${e.min}–${e.max}: "${row?.meaning}"`);
        }
    });
});

describe('per-directory directives in a nested location', () => {
    let stack;

    before(async () => {
        stack = await startStack({
            locations: (backend) => [
                protectedLocation('/app', backend, {
                    extra: ['IPSIEPassAccessToken On', 'IPSIEUnauthAction 401', 'IPSIEClaimPrefix X-Remote-'],
                }),
                '<Location /app/inner>', '    IPSIEPassAccessToken Off', '    IPSIEUnauthAction auth', '</Location>',
            ].join('\n'),
        });
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('a nested location sets back the default its parent changed: IPSIEUnauthAction auth under 401', async () => {
        const parent = await new Client().get(stack.url('/app/page'));
        assert.equal(parent.status, 401);
        const inner = await new Client().get(stack.url('/app/inner/page'));
        assert.equal(inner.status, 302);
        assert.equal(new URL(inner.location).origin, new URL(stack.op.issuer).origin);
    });

    test('a nested location switches off a flag its parent set, and inherits what it does not set', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/inner/page'), 'alice');
        assert.equal(res.status, 200, res.body);
        const inner = res.json().headers;
        assert.equal(inner['x-remote-sub'], 'alice');
        assert.equal(inner['ipsie-access-token'], undefined);
        const parent = (await client.get(stack.url('/app/page'))).json().headers;
        assert.equal(parent['x-remote-sub'], 'alice');
        assert.ok(parent['ipsie-access-token']?.length > 10, 'IPSIE-Access-Token is passed');
    });
});

// What a Debian administrator gets from `make install`: the module, auth_ipsie.load and a
// commented auth_ipsie.conf (every directive of the table, its default) in mods-available,
// so that `a2enmod auth_ipsie` and `apachectl configtest` work; installed into a scratch root
// (DESTDIR), enabled with Debian's a2enmod in a scratch configuration directory. And
// `make dist` gives a tarball that builds without autoreconf.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tableEntries } from './lib/directives.mjs';
import { APACHE, MODULE_SO, httpdConf } from './lib/httpd.mjs';
import { freePort } from './lib/ports.mjs';

// The build directory the tests' module comes from: its Makefile installs.
const BUILD = dirname(MODULE_SO);

function run(cmd, args, opts = {}) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
    assert.equal(r.status, 0, `${cmd} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    return r;
}

function query(variable) {
    return run('apxs', ['-q', variable]).stdout.trim();
}

describe('make install into a scratch root', () => {
    let root;
    let conf;
    let libexec;

    before(() => {
        assert.ok(existsSync(join(BUILD, 'Makefile')), `no Makefile in ${BUILD}: build the module first`);
        root = mkdtempSync(join(tmpdir(), 'ipsie-destdir-'));
        run('make', ['-s', '-C', BUILD, 'install', `DESTDIR=${root}`]);
        conf = join(root, query('SYSCONFDIR'), 'mods-available');
        libexec = join(root, query('LIBEXECDIR'));
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    test('the module, auth_ipsie.load and auth_ipsie.conf are installed', () => {
        assert.ok(existsSync(join(libexec, 'mod_auth_ipsie.so')));
        assert.equal(readFileSync(join(conf, 'auth_ipsie.load'), 'utf8').trim(),
            `LoadModule auth_ipsie_module ${query('LIBEXECDIR')}/mod_auth_ipsie.so`);
    });

    test('auth_ipsie.conf lists every directive, commented, with its default', () => {
        const text = readFileSync(join(conf, 'auth_ipsie.conf'), 'utf8');
        const active = text.split('\n').filter((l) => /^\s*IPSIE/.test(l));
        assert.deepEqual(active, [], 'nothing is set by the file itself');
        for (const d of tableEntries()) {
            const example = new RegExp(`^\\s*#${d.name}\\s+(.*)$`, 'm').exec(text);
            assert.ok(example, `${d.name} is in the file`);
            if (d.value !== null) {
                assert.equal(example[1].replace(/^"|"$/g, ''), d.value, `${d.name}'s default`);
            }
            assert.match(text, new RegExp(`^\\s*# ${d.name}: \\S`, 'm'), `${d.name} says what it does`);
        }
    });

    test('a2enmod auth_ipsie, then configtest: the module loads with its commented file', () => {
        // Debian's a2enmod works on APACHE_CONFDIR: a scratch one with the installed files.
        const confdir = mkdtempSync(join(tmpdir(), 'ipsie-confdir-'));
        try {
            mkdirSync(join(confdir, 'mods-available'));
            mkdirSync(join(confdir, 'mods-enabled'));
            cpSync(join(conf, 'auth_ipsie.conf'), join(confdir, 'mods-available', 'auth_ipsie.conf'));
            // The load line names where the module will be; here it is in the scratch root.
            writeFileSync(join(confdir, 'mods-available', 'auth_ipsie.load'),
                `LoadModule auth_ipsie_module ${join(libexec, 'mod_auth_ipsie.so')}\n`);
            const r = run('a2enmod', ['-q', 'auth_ipsie'], { env: { ...process.env, APACHE_CONFDIR: confdir } });
            assert.deepEqual(readdirSync(join(confdir, 'mods-enabled')).sort(), ['auth_ipsie.conf', 'auth_ipsie.load'], r.stdout);
            const dir = mkdtempSync(join(tmpdir(), 'ipsie-httpd-'));
            try {
                mkdirSync(join(dir, 'htdocs'));
                const file = join(dir, 'httpd.conf');
                writeFileSync(file, `${httpdConf({ dir, port: 18449, module: false })}\n`
                    + `IncludeOptional ${confdir}/mods-enabled/*.load\n`
                    + `IncludeOptional ${confdir}/mods-enabled/*.conf\n`);
                const t = spawnSync(APACHE, ['-t', '-f', file], { encoding: 'utf8' });
                assert.equal(t.status, 0, `${t.stdout}${t.stderr}`);
                assert.match(`${t.stdout}${t.stderr}`, /Syntax OK/);
            } finally {
                rmSync(dir, { recursive: true, force: true });
            }
        } finally {
            rmSync(confdir, { recursive: true, force: true });
        }
    });
});

describe('make dist', () => {
    let scratch;

    before(() => {
        scratch = mkdtempSync(join(tmpdir(), 'ipsie-dist-'));
    });
    after(() => rmSync(scratch, { recursive: true, force: true }));

    test('the tarball configures and builds without autoreconf, and the module loads', async () => {
        run('make', ['-s', '-C', BUILD, 'dist']);
        const tarball = readdirSync(BUILD).find((f) => /^mod_auth_ipsie-.*\.tar\.gz$/.test(f));
        assert.ok(tarball, 'a tarball');
        run('tar', ['-xzf', join(BUILD, tarball), '-C', scratch]);
        rmSync(join(BUILD, tarball));
        const top = join(scratch, tarball.replace(/\.tar\.gz$/, ''));
        assert.ok(existsSync(join(top, 'configure')), 'configure is in the tarball');
        assert.ok(existsSync(join(top, 'LICENSE')) && existsSync(join(top, 'CHANGELOG.md')));
        run('./configure', ['--with-apxs=/usr/bin/apxs'], { cwd: top });
        run('make', ['-s', '-j2'], { cwd: top });
        const dir = mkdtempSync(join(tmpdir(), 'ipsie-httpd-'));
        try {
            mkdirSync(join(dir, 'htdocs'));
            const file = join(dir, 'httpd.conf');
            writeFileSync(file, `${httpdConf({ dir, port: await freePort(), module: false })}\n`
                + `LoadModule auth_ipsie_module ${join(top, 'mod_auth_ipsie.so')}\n`);
            const t = spawnSync(APACHE, ['-t', '-f', file], { encoding: 'utf8' });
            assert.equal(t.status, 0, `${t.stdout}${t.stderr}`);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

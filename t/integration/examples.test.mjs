// The commented examples in conf/ stay valid: each passes `apache2 -t` with the built module.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configtest, httpdConf } from './lib/httpd.mjs';

const CONF = fileURLToPath(new URL('../../conf/', import.meta.url));

// What an administrator puts where the examples hold placeholders.
const REAL = {
    IPSIEClientSecret: 'kTq3-registered-at-the-provider-9xZ',
    IPSIECryptoPassphrase: 'u8J2nV0pX4rQ7sL1wE6tY9bH3mK5cD2fG8aZ0vN4xR7q',
};

// The keys an administrator makes as the examples say (openssl genpkey), in a scratch directory.
const KEYS = mkdtempSync(join(tmpdir(), 'ipsie-example-keys-'));
const keyFor = (directive) => {
    const file = join(KEYS, `${directive}.pem`);
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
    return file;
};
const KEY_FILES = { IPSIEClientSigningKey: keyFor('client'), IPSIEDPoPSigningKey: keyFor('dpop') };

describe('conf/ examples', () => {
    after(() => rmSync(KEYS, { recursive: true, force: true }));
    for (const name of readdirSync(CONF).filter((f) => f.endsWith('.conf'))) {
        // The harness loads the module and mod_proxy itself; key files are the ones made above.
        const example = readFileSync(join(CONF, name), 'utf8')
            .split('\n').filter((line) => !/^\s*LoadModule\s/.test(line)).join('\n')
            .replace(/^(\s*)(IPSIEClientSigningKey|IPSIEDPoPSigningKey)(\s+)\S+/gm,
                (_, indent, directive, space) => `${indent}${directive}${space}${KEY_FILES[directive]}`);
        const filled = example.replace(/^(\s*)(IPSIEClientSecret|IPSIECryptoPassphrase)(\s+).*$/gm,
            (_, indent, directive, space) => `${indent}${directive}${space}"${REAL[directive]}"`);

        test(`${name} passes configtest once its placeholders are filled in`, () => {
            const r = configtest(({ dir }) => httpdConf({ dir, port: 18444, directives: filled }));
            assert.equal(r.code, 0, r.output);
            assert.match(r.output, /Syntax OK/);
        });

        test(`${name} as written fails configtest, naming the placeholder`, () => {
            const r = configtest(({ dir }) => httpdConf({ dir, port: 18444, directives: example }));
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, /IPSIE(ClientSecret|CryptoPassphrase).*guessable \(it holds a placeholder/);
            assert.match(r.output, /on line \d+ of/);
        });
    }
});

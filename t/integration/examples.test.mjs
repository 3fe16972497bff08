// The commented examples in conf/ stay valid: each passes `apache2 -t` with the built module.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configtest, httpdConf, MODULE_SO } from './lib/httpd.mjs';

const CONF = fileURLToPath(new URL('../../conf/', import.meta.url));

describe('conf/ examples', () => {
    for (const name of readdirSync(CONF).filter((f) => f.endsWith('.conf'))) {
        test(`${name} passes configtest`, () => {
            const example = readFileSync(join(CONF, name), 'utf8')
                // The harness loads the module and mod_proxy itself.
                .split('\n').filter((line) => !/^\s*LoadModule\s/.test(line)).join('\n');
            assert.ok(MODULE_SO);
            const r = configtest(({ dir }) => httpdConf({ dir, port: 18444, directives: example }));
            assert.equal(r.code, 0, r.output);
            assert.match(r.output, /Syntax OK/);
        });
    }
});

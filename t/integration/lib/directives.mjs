// The module's directive table (src/auth_ipsie_directives.h), read the way the C
// preprocessor would see its entries: what the README, the packaged auth_ipsie.conf and the
// tests check against.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path) => readFileSync(join(ROOT, path), 'utf8');

// The constants a range may name, from the core headers: { IPSIE_STATE_MAX_SLOTS: 16, ... }.
function coreConstants() {
    const constants = {};
    for (const file of readdirSync(join(ROOT, 'include/ipsie'))) {
        for (const [, name, value] of read(`include/ipsie/${file}`).matchAll(/^#define (\w+) (\d+)\s*$/gm)) {
            constants[name] = Number(value);
        }
    }
    return constants;
}

// The entries of AUTH_IPSIE_DIRECTIVES: [{ name, id, scope, type, value, text, min, max }];
// value is the default's text when there is one, text what the README shows.
export function tableEntries() {
    const header = read('src/auth_ipsie_directives.h');
    const start = header.indexOf('#define AUTH_IPSIE_DIRECTIVES(X)');
    assert.notEqual(start, -1, 'no AUTH_IPSIE_DIRECTIVES in src/auth_ipsie_directives.h');
    const lines = [];
    for (const line of header.slice(start).split('\n').slice(1)) {
        lines.push(line.replace(/\\\s*$/, ''));
        if (!/\\\s*$/.test(line)) {
            break;
        }
    }
    const body = lines.join(' ');
    const constants = coreConstants();
    const number = (token) => {
        const t = token.trim();
        const v = /^\d+$/.test(t) ? Number(t) : constants[t];
        assert.ok(Number.isInteger(v), `range bound ${t} is not a number or a constant of include/ipsie/`);
        return v;
    };
    const entry = /X\(\s*"(\w+)",\s*(\w+),\s*(SERVER|DIRECTORY),\s*(STRING|NUMBER|FLAG|KEYWORD|LIST),\s*(VALUE|NONE)\("((?:[^"\\]|\\.)*)"\),\s*(?:RANGE\(\s*(\w+),\s*(\w+)\s*\)|NO_RANGE),/g;
    const entries = [...body.matchAll(entry)].map(([, name, id, scope, type, kind, text, min, max]) => ({
        name,
        id,
        scope,
        type,
        value: kind === 'VALUE' ? text : null,
        text: kind === 'VALUE' ? `\`${text}\`` : text,
        min: min === undefined ? null : number(min),
        max: max === undefined ? null : number(max),
    }));
    assert.equal(entries.length, (body.match(/\bX\(/g) ?? []).length, 'an entry of AUTH_IPSIE_DIRECTIVES could not be read');
    assert.ok(entries.length > 30, `only ${entries.length} entries read`);
    return entries;
}


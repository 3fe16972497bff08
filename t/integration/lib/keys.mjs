// Private keys in PEM files for the module (IPSIEClientSigningKey, IPSIEDPoPSigningKey), their
// public JWKs and RFC 7638 thumbprints, made with node's crypto.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The RFC 7638 thumbprint of a public JWK: SHA-256 of its required members, sorted, compact.
export function thumbprint(jwk) {
    const members = {
        RSA: ['e', 'kty', 'n'],
        EC: ['crv', 'kty', 'x', 'y'],
        OKP: ['crv', 'kty', 'x'],
    }[jwk.kty];
    const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
    return createHash('sha256').update(canonical).digest('base64url');
}

const GENERATE = {
    ec: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    p384: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    ed25519: () => generateKeyPairSync('ed25519'),
    rsa: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
    rsa1024: () => generateKeyPairSync('rsa', { modulusLength: 1024 }),
};

// A directory for key files, and a function that writes a new key of a kind (ec, p384,
// ed25519, rsa, rsa1024) to a PEM file in it: { path, jwk (public, without kid), thumbprint }.
// remove() deletes the directory.
export function keyStore() {
    const dir = mkdtempSync(join(tmpdir(), 'ipsie-keys-'));
    // httpd reads the keys as root, before it drops privileges; a test may run as anyone.
    chmodSync(dir, 0o755);
    let n = 0;
    return {
        dir,
        make(kind, { encrypted = false } = {}) {
            const { privateKey, publicKey } = GENERATE[kind]();
            const path = join(dir, `key-${n++}-${kind}.pem`);
            const pem = encrypted
                ? privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
                : privateKey.export({ type: 'pkcs8', format: 'pem' });
            writeFileSync(path, pem, { mode: 0o644 });
            const jwk = publicKey.export({ format: 'jwk' });
            return { path, jwk, thumbprint: thumbprint(jwk) };
        },
        remove() {
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

// A throwaway certificate authority for https tests, made with the openssl command line in a
// temp directory (no key is committed): makeCA() gives a CA, ca.issue() a server certificate
// for 127.0.0.1 signed by it.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function openssl(args, cwd) {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

// A CA (P-256, valid for a day) named name in a new temp directory, readable by httpd's
// unprivileged children (the module reads the CA file there). Returns { dir, ca (the CA
// certificate's path), issue(name, { ip }), remove() }; issue makes a P-256 key and a
// certificate for subjectAltName IP:<ip> (127.0.0.1), serverAuth, and returns
// { cert, key } (paths).
export function makeCA(name = 'ipsie test CA') {
    const dir = mkdtempSync(join(tmpdir(), 'ipsie-ca-'));
    chmodSync(dir, 0o755);
    const ca = join(dir, 'ca.pem');
    const caKey = join(dir, 'ca.key');
    openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', caKey, '-out', ca, '-days', '1', '-subj', `/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    chmodSync(ca, 0o644);
    let serial = 0;
    return {
        dir,
        ca,
        issue(certName = 'server', { ip = '127.0.0.1' } = {}) {
            serial += 1;
            const key = join(dir, `${certName}.key`);
            const csr = join(dir, `${certName}.csr`);
            const cert = join(dir, `${certName}.pem`);
            const ext = join(dir, `${certName}.ext`);
            writeFileSync(ext, [
                'basicConstraints=critical,CA:FALSE',
                'keyUsage=critical,digitalSignature',
                'extendedKeyUsage=serverAuth',
                `subjectAltName=IP:${ip}`,
            ].join('\n'));
            openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                '-keyout', key, '-out', csr, '-subj', `/CN=${ip}`], dir);
            openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-set_serial', String(serial),
                '-days', '1', '-extfile', ext, '-out', cert], dir);
            chmodSync(cert, 0o644);
            return { cert, key };
        },
        remove() {
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

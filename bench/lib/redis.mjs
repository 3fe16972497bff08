// A Debian redis-server for the Redis rows, on a free loopback port, with nothing written to
// disk; returns { port, stop() }.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '../../t/integration/lib/ports.mjs';

export async function startRedis() {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'ipsie-bench-redis-'));
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
        '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
        await waitForPort(port, 10000, () => child.exitCode !== null);
    } catch (err) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`redis-server did not start: ${err.message}\n${output}`);
    }
    return {
        port,
        async stop() {
            if (child.exitCode === null && child.signalCode === null) {
                child.kill('SIGTERM');
                await exited;
            }
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

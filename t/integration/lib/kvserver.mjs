// Debian's redis-server and memcached, started by a test on a free loopback port (as the unit
// tests' t/unit/test_kv_servers.h does), with the faults the tests put them through: frozen
// (SIGSTOP) and thawed (SIGCONT), killed, started again on the same port.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
import { freePort, sleep, waitForPort } from './ports.mjs';

const running = new Set();
// A test process that ends early leaves no server behind.
process.once('exit', () => {
    for (const child of running) {
        try {
            child.kill('SIGKILL');
        } catch {
            // already gone
        }
    }
});

function command(kind, port) {
    if (kind === 'redis') {
        // No persistence: a restarted server starts empty.
        return ['redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
            '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning']];
    }
    if (kind === 'memcached') {
        // memcached refuses to run as root unless told which user to be.
        const args = ['-l', '127.0.0.1', '-p', String(port), '-U', '0'];
        return ['memcached', userInfo().uid === 0 ? [...args, '-u', 'root'] : args];
    }
    throw new Error(`unknown key-value server ${kind}`);
}

// The states of the threads of process pid (R, S, T...), from /proc; [] when it is gone.
function threadStates(pid) {
    try {
        return readdirSync(`/proc/${pid}/task`).map((tid) => {
            const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
            return stat.slice(stat.lastIndexOf(')') + 2)[0];
        });
    } catch {
        return [];
    }
}

function allStopped(pid) {
    const states = threadStates(pid);
    return states.length > 0 && states.every((s) => s === 'T');
}

const anyStopped = (pid) => threadStates(pid).some((s) => s === 'T');

// kind: 'redis' or 'memcached'. Returns { kind, port, address, spec, pid, running, freeze(),
// thaw(), kill(), start(), stop() }: spec is the IPSIESessionCache value; freeze and thaw wait
// until the server's threads are stopped or running again; start() starts the server again on
// the same port after kill().
export async function startKvServer(kind, { port } = {}) {
    let child;
    let exited;
    const server = {
        kind,
        port: port ?? await freePort(),
        get address() {
            return `127.0.0.1:${server.port}`;
        },
        get spec() {
            return `${kind === 'redis' ? 'redis' : 'memcache'}:127.0.0.1:${server.port}`;
        },
        get pid() {
            return child?.pid;
        },
        get running() {
            return child !== undefined && child.exitCode === null && child.signalCode === null;
        },
        async start() {
            const [bin, args] = command(kind, server.port);
            for (let tries = 0; ; tries++) {
                child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
                let output = '';
                child.stderr.on('data', (d) => { output += d; });
                exited = new Promise((resolve) => child.once('exit', resolve));
                running.add(child);
                try {
                    await waitForPort(server.port, 5000, () => child.exitCode !== null);
                    return server;
                } catch (err) {
                    await server.kill();
                    // The port was ours a moment ago; it may take a moment to be free again.
                    if (tries >= 4) {
                        throw new Error(`${bin} did not start on port ${server.port}: ${err.message}\n${output}`);
                    }
                    await sleep(200);
                }
            }
        },
        // SIGSTOP, then waits until every thread of the server is stopped: the signal is only
        // queued when kill returns, and on a busy machine a thread may run on for a moment.
        async freeze() {
            process.kill(child.pid, 'SIGSTOP');
            const until = Date.now() + 5000;
            while (!allStopped(child.pid)) {
                if (Date.now() > until) {
                    throw new Error(`${kind} (pid ${child.pid}) did not stop`);
                }
                await sleep(1);
            }
        },
        // SIGCONT, then waits until no thread of the server is stopped any more.
        async thaw() {
            process.kill(child.pid, 'SIGCONT');
            const until = Date.now() + 5000;
            while (anyStopped(child.pid) && Date.now() < until) {
                await sleep(1);
            }
        },
        // Kills the server (SIGKILL: nothing saved) and waits until it is gone.
        async kill() {
            if (server.running) {
                child.kill('SIGCONT');
                child.kill('SIGKILL');
                await exited;
            }
            running.delete(child);
        },
        stop() {
            return server.kill();
        },
    };
    return server.start();
}

// One command to the Redis server on port (a test's look into the store); resolves with the
// reply: a string, a number, null, an array of those, or an Error for an error reply.
export function redisCommand(port, ...args) {
    return new Promise((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let buf = Buffer.alloc(0);
        socket.setTimeout(3000, () => socket.destroy(new Error('no reply from Redis')));
        socket.on('error', reject);
        socket.on('connect', () => {
            socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`);
        });
        socket.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            const parsed = parseReply(buf, 0);
            if (parsed) {
                socket.end();
                resolve(parsed.value);
            }
        });
    });
}

// { value, next } of the RESP reply at buf[at], or undefined when it is not all there yet.
function parseReply(buf, at) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) {
        return undefined;
    }
    const type = String.fromCharCode(buf[at]);
    const line = buf.toString('utf8', at + 1, eol);
    const next = eol + 2;
    if (type === '+') {
        return { value: line, next };
    }
    if (type === '-') {
        return { value: new Error(line), next };
    }
    if (type === ':') {
        return { value: Number(line), next };
    }
    if (type === '$') {
        const len = Number(line);
        if (len < 0) {
            return { value: null, next };
        }
        if (buf.length < next + len + 2) {
            return undefined;
        }
        return { value: buf.toString('utf8', next, next + len), next: next + len + 2 };
    }
    if (type === '*') {
        const n = Number(line);
        const value = [];
        let pos = next;
        for (let i = 0; i < n; i++) {
            const item = parseReply(buf, pos);
            if (!item) {
                return undefined;
            }
            value.push(item.value);
            pos = item.next;
        }
        return { value: n < 0 ? null : value, next: pos };
    }
    throw new Error(`unexpected RESP reply type ${type}`);
}

// Free TCP ports on 127.0.0.1.
import net from 'node:net';

// A port the kernel just handed out and released; good enough on loopback.
export function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

// Resolves once something accepts TCP connections on port, or rejects after timeoutMs.
export async function waitForPort(port, timeoutMs = 10000, isDead = () => false) {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
        if (isDead()) {
            throw new Error(`process exited before port ${port} opened`);
        }
        const open = await new Promise((resolve) => {
            const socket = net.connect(port, '127.0.0.1');
            socket.once('connect', () => { socket.destroy(); resolve(true); });
            socket.once('error', () => resolve(false));
        });
        if (open) {
            return;
        }
        await sleep(50);
    }
    throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
}

export function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

// A TCP proxy on loopback that can make what is behind it slow or silent, switched at run
// time: pass-through; delay(ms), which holds each connection's first bytes towards the target
// for ms before forwarding them (every request on a new connection then answers ms late);
// hang, which accepts, reads and never forwards nor answers. A connection keeps the mode it
// was accepted in.
import net from 'node:net';

// Listens on port (a free one when absent) and forwards to targetPort.
// Returns { port, url, passThrough(), delay(ms), hang(), accepted(), stop() }.
export async function startSlowProxy({ port = 0, targetPort }) {
    let mode = { kind: 'pass' };
    let accepted = 0;
    const sockets = new Set();
    const track = (s) => {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
    };

    const server = net.createServer((client) => {
        accepted += 1;
        track(client);
        const { kind, ms } = mode;
        if (kind === 'hang') {
            client.resume();
            return;
        }
        const upstream = net.connect(targetPort, '127.0.0.1');
        track(upstream);
        const pending = [];
        let ready = kind === 'pass';
        let ended = false;
        let timer;
        client.on('data', (chunk) => {
            if (ready) {
                upstream.write(chunk);
                return;
            }
            pending.push(chunk);
            if (timer === undefined) {
                timer = setTimeout(() => {
                    ready = true;
                    for (const c of pending.splice(0)) {
                        upstream.write(c);
                    }
                    if (ended) {
                        upstream.end();
                    }
                }, ms);
            }
        });
        client.on('end', () => {
            ended = true;
            if (ready) {
                upstream.end();
            }
        });
        client.on('close', () => { clearTimeout(timer); upstream.destroy(); });
        upstream.on('close', () => client.destroy());
        upstream.pipe(client);
    });
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    const listening = server.address().port;
    return {
        port: listening,
        url: `http://127.0.0.1:${listening}`,
        passThrough() { mode = { kind: 'pass' }; },
        delay(ms) { mode = { kind: 'delay', ms }; },
        hang() { mode = { kind: 'hang' }; },
        accepted: () => accepted,
        stop: () => new Promise((resolve) => {
            for (const s of sockets) {
                s.destroy();
            }
            server.close(() => resolve());
        }),
    };
}

// Runs wrk and reads its report.
import { spawn } from 'node:child_process';

const TIME_UNITS = { us: 0.001, ms: 1, s: 1000, m: 60000 };
const SIZE_UNITS = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function millis(text) {
    const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
    if (!m) {
        throw new Error(`wrk: unreadable time ${text}`);
    }
    return Number(m[1]) * TIME_UNITS[m[2]];
}

// { rps, p50, p75, p90, p99 (ms), requests, bytes, seconds, errors, non2xx3xx } from wrk --latency.
export function parseWrk(out) {
    const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
    const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)(B|KB|MB|GB|TB) read/m.exec(out);
    if (!rps || !total) {
        throw new Error(`wrk: unreadable report:\n${out}`);
    }
    const pct = {};
    for (const m of out.matchAll(/^\s+(50|75|90|99)(?:\.000)?%\s+([\d.]+(?:us|ms|s|m))\s*$/gm)) {
        pct[m[1]] = millis(m[2]);
    }
    if (pct['50'] === undefined || pct['99'] === undefined) {
        throw new Error(`wrk: no latency distribution in:\n${out}`);
    }
    const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const non = /Non-2xx or 3xx responses: (\d+)/.exec(out);
    return {
        rps: Number(rps[1]),
        p50: pct['50'],
        p75: pct['75'],
        p90: pct['90'],
        p99: pct['99'],
        requests: Number(total[1]),
        seconds: millis(`${total[2]}${total[3]}`) / 1000,
        bytes: Number(total[4]) * SIZE_UNITS[total[5]],
        socketErrors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
        non2xx3xx: non ? Number(non[1]) : 0,
    };
}

// Runs wrk against url with the given headers; resolves to the parsed report.
export function runWrk(url, { threads = 2, connections = 32, duration = 5, headers = {} } = {}) {
    const args = [`-t${threads}`, `-c${connections}`, `-d${duration}s`, '--latency', '--timeout', '10s'];
    for (const [k, v] of Object.entries(headers)) {
        args.push('-H', `${k}: ${v}`);
    }
    args.push(url);
    return new Promise((resolve, reject) => {
        const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stderr.on('data', (d) => { out += d; });
        child.once('error', reject);
        child.once('exit', (code) => {
            if (code !== 0) {
                reject(new Error(`wrk exited with ${code}:\n${out}`));
                return;
            }
            try {
                resolve({ ...parseWrk(out), raw: out });
            } catch (err) {
                reject(err);
            }
        });
    });
}

export function median(values) {
    const v = [...values].sort((a, b) => a - b);
    const mid = Math.floor(v.length / 2);
    return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// Small helpers shared by the integration tests.
import { sleep } from './ports.mjs';

export { sleep };

export const nowS = () => Math.floor(Date.now() / 1000);

// Waits until the wall clock is at or past epochSeconds (plus a margin in ms).
export async function sleepUntil(epochSeconds, marginMs = 200) {
    const ms = epochSeconds * 1000 + marginMs - Date.now();
    if (ms > 0) {
        await sleep(ms);
    }
}

export const query = (url) => new URL(url).searchParams;

// The state cookie that holds a login's state: the slot its first character names.
export const stateCookieName = (state) => `ipsie_state_${state[0]}`;

// True when res deletes cookie name (Max-Age=0 or Expires in the past).
export function clearsCookie(res, name) {
    return res.setCookies.some((c) => c.name === name && c.expired);
}

export function setsCookie(res, name) {
    return res.setCookies.some((c) => c.name === name && !c.expired);
}

// The text of an HTML page with entities for quotes and apostrophes decoded.
export function pageText(res) {
    return res.body.replace(/&#0?39;|&apos;|&#x27;|&rsquo;|’/gi, "'").replace(/&quot;|&#34;/g, '"');
}

// The payload of a JWT, unverified.
export function jwtPayload(jwt) {
    return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

// Lines of the error log that match every regex given.
export function logLines(httpd, ...res) {
    return httpd.errorLog().split('\n').filter((line) => res.every((re) => re.test(line)));
}

// Tern's webhook signature (docs/notifications.md, "Push relays"): the header
// `X-Tern-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the secret
// shared with ternd. A relay recomputes it over the raw body, compares in constant time, and
// refuses a `t` outside its window (a replayed post).
'use strict';

const crypto = require('node:crypto');

function sign(secret, t, body) {
    return crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}

// The header's parts, or null when it is malformed.
function parse(header) {
    if (typeof header !== 'string') return null;
    let t = null;
    const v1 = [];
    for (const part of header.split(',')) {
        const eq = part.indexOf('=');
        if (eq < 0) return null;
        const key = part.slice(0, eq).trim();
        const value = part.slice(eq + 1).trim();
        if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
        else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) v1.push(value);
    }
    return t === null || v1.length === 0 ? null : { t, v1 };
}

// Whether `header` signs `body` (a Buffer or string, exactly as received) under `secret`, at
// most `toleranceS` seconds away from `nowS`.
function verify(header, body, secret, nowS, toleranceS = 300) {
    const parsed = parse(header);
    if (!parsed || Math.abs(nowS - parsed.t) > toleranceS) return false;
    const expected = Buffer.from(sign(secret, parsed.t, body), 'hex');
    return parsed.v1.some((candidate) =>
        crypto.timingSafeEqual(expected, Buffer.from(candidate, 'hex')));
}

module.exports = { sign, parse, verify };

// The relay's HTTP handling, apart from the network and the push services so that it is tested
// alone: POST /push with Tern's signed body → verify → map → send → answer what ternd
// understands (docs/notifications.md, "Push relays"): 2xx taken, 410 the token is dead (ternd
// forgets it), 429/5xx ask again later, other 4xx refused.
'use strict';

const signature = require('./signature');
const { MappingError, registrationOf, notificationOf } = require('./mapping');

// Errors by which APNs and FCM say a token will never work again.
const DEAD_TOKEN = /BadDeviceToken|Unregistered|DeviceTokenNotForTopic|registration-token-not-registered|invalid-registration-token|NotRegistered|InvalidRegistration|410/;

const MAX_BODY = 64 * 1024;

// The answer for node-pushnotifications' results of one send to one device.
function verdictOf(results) {
    const failures = (results ?? []).flatMap((r) => (r.message ?? []).filter((m) => m.error || m.errorMsg));
    if (failures.length === 0) return { status: 200, reason: 'sent' };
    const why = failures.map((m) => m.errorMsg ?? String(m.error?.message ?? m.error)).join('; ');
    if (DEAD_TOKEN.test(why)) return { status: 410, reason: `token dead: ${why}` };
    return { status: 503, reason: `not sent, ask again: ${why}` };
}

// options: secret; send(registration, notification) → node-pushnotifications' results;
// escalate(body) for the `sms` and `call` channels (a company wires its SMS or call provider
// there; default: refused, 501, so that nothing pretends to have called); nowS() for tests;
// toleranceS (300); log(line).
function makeHandler(options) {
    const nowS = options.nowS ?? (() => Math.floor(Date.now() / 1000));
    const tolerance = options.toleranceS ?? 300;
    const log = options.log ?? ((line) => console.log(line));
    const answer = (res, status, reason) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status, reason }));
        if (status >= 400) log(`push relay: ${status} ${reason}`);
    };
    return (req, res) => {
        if (req.method !== 'POST' || req.url !== '/push') return answer(res, 404, 'POST /push only');
        const chunks = [];
        let size = 0;
        req.on('data', (chunk) => {
            size += chunk.length;
            if (size > MAX_BODY) req.destroy();
            else chunks.push(chunk);
        });
        req.on('end', async () => {
            const raw = Buffer.concat(chunks);
            if (!signature.verify(req.headers['x-tern-signature'], raw, options.secret, nowS(), tolerance)) {
                return answer(res, 401, 'bad or stale X-Tern-Signature');
            }
            let body;
            let registration;
            let notification;
            try {
                body = JSON.parse(raw.toString('utf8'));
                registration = registrationOf(body);
                notification = notificationOf(body, options.texts);
            } catch (e) {
                return answer(res, 400, e instanceof MappingError ? e.message : 'not JSON');
            }
            try {
                if (body.channel === 'sms' || body.channel === 'call') {
                    if (!options.escalate) return answer(res, 501, `no ${body.channel} provider wired`);
                    await options.escalate(body);
                    return answer(res, 200, `escalated by ${body.channel}`);
                }
                const verdict = verdictOf(await options.send(registration, notification));
                return answer(res, verdict.status, verdict.reason);
            } catch (e) {
                return answer(res, 503, `not sent, ask again: ${e.message}`);
            }
        });
    };
}

module.exports = { makeHandler, verdictOf, DEAD_TOKEN };

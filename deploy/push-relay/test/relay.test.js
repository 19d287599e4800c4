'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { makeHandler, verdictOf } = require('../src/relay');
const signature = require('../src/signature');

const secret = 'relay-secret-0123456789';
const now = 1700000000;
const body = JSON.stringify({
    tenant: 7, user: 9, device: 90, platform: 'fcm', token: 'tok', app_id: 'com.example.chat',
    conversation: { type: 'direct', id: 5, peer: 9 }, seq: 3, sender: 5, preview: 'hi',
    count: 1, badge: 1, notice: 'alert', urgent: false, channel: 'push',
});

// The handler on a real HTTP server on loopback; `send` stands for the push services.
async function withRelay(options, run) {
    const server = http.createServer(makeHandler({ secret, nowS: () => now, log: () => {}, ...options }));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
        await run(`http://127.0.0.1:${server.address().port}`);
    } finally {
        await new Promise((resolve) => server.close(resolve));
    }
}

function post(url, payload, header) {
    return fetch(`${url}/push`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Tern-Signature': header },
        body: payload,
    });
}

const signed = (payload, t = now) => `t=${t},v1=${signature.sign(secret, t, payload)}`;

test('a signed push is mapped and sent; the answer tells ternd what happened', async () => {
    const sent = [];
    const send = async (registration, notification) => {
        sent.push({ registration, notification });
        return [{ method: 'fcm', success: 1, failure: 0, message: [{ regId: 'tok' }] }];
    };
    await withRelay({ send }, async (url) => {
        const res = await post(url, body, signed(body));
        assert.equal(res.status, 200);
        assert.equal(sent.length, 1);
        assert.deepEqual(sent[0].registration, { id: 'tok', type: 'fcm' });
        assert.equal(sent[0].notification.body, 'hi');

        assert.equal((await post(url, body, signed(body, now - 3600))).status, 401, 'a replay');
        assert.equal((await post(url, body, signed(body + ' '))).status, 401, 'a changed body');
        assert.equal((await post(url, 'nope', signed('nope'))).status, 400);
        const pager = JSON.stringify({ ...JSON.parse(body), platform: 'pager' });
        assert.equal((await post(url, pager, signed(pager))).status, 400);
        assert.equal(sent.length, 1, 'nothing unverified or unmappable is sent');
    });
});

test('a dead token is 410, a failure of the service 503, escalation without a provider 501', async () => {
    let result = [{ method: 'fcm', success: 0, failure: 1, message: [{ regId: 'tok', errorMsg: 'messaging/registration-token-not-registered' }] }];
    const send = async () => { if (result instanceof Error) throw result; return result; };
    await withRelay({ send }, async (url) => {
        assert.equal((await post(url, body, signed(body))).status, 410);
        result = [{ method: 'apn', success: 0, failure: 1, message: [{ regId: 'tok', errorMsg: 'BadDeviceToken' }] }];
        assert.equal((await post(url, body, signed(body))).status, 410);
        result = [{ method: 'fcm', success: 0, failure: 1, message: [{ regId: 'tok', errorMsg: 'messaging/internal-error' }] }];
        assert.equal((await post(url, body, signed(body))).status, 503);
        result = new Error('connect ETIMEDOUT');
        assert.equal((await post(url, body, signed(body))).status, 503);
        const sms = JSON.stringify({ ...JSON.parse(body), channel: 'sms' });
        assert.equal((await post(url, sms, signed(sms))).status, 501);
    });
    const escalated = [];
    await withRelay({ send, escalate: async (b) => escalated.push(b.channel) }, async (url) => {
        const call = JSON.stringify({ ...JSON.parse(body), channel: 'call' });
        assert.equal((await post(url, call, signed(call))).status, 200);
        assert.deepEqual(escalated, ['call']);
    });
});

test('verdicts from node-pushnotifications results', () => {
    assert.equal(verdictOf([{ method: 'apn', success: 1, failure: 0, message: [{ regId: 'x' }] }]).status, 200);
    assert.equal(verdictOf([{ method: 'apn', message: [{ error: new Error('Unregistered') }] }]).status, 410);
    assert.equal(verdictOf([{ method: 'apn', message: [{ errorMsg: 'TooManyRequests' }] }]).status, 503);
});

'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { registrationOf, notificationOf, MappingError } = require('../src/mapping');

const body = {
    tenant: 7, user: 9, device: 90, platform: 'apns', token: 'a'.repeat(64), app_id: 'com.example.chat',
    conversation: { type: 'group', id: 77, peer: 0 }, seq: 120, sender: 5, preview: 'standup at 10',
    count: 1, badge: 4, notice: 'alert', urgent: false, channel: 'push',
};

test('platforms map to node-pushnotifications types, web push tokens are subscriptions', () => {
    assert.deepEqual(registrationOf(body), { id: 'a'.repeat(64), type: 'apn' });
    assert.deepEqual(registrationOf({ ...body, platform: 'fcm', token: 'f' }), { id: 'f', type: 'fcm' });
    const subscription = { endpoint: 'https://push.example/1', keys: { p256dh: 'x', auth: 'y' } };
    assert.deepEqual(registrationOf({ ...body, platform: 'web', token: JSON.stringify(subscription) }),
        { id: subscription, type: 'webPush' });
    assert.throws(() => registrationOf({ ...body, platform: 'pager' }), MappingError);
    assert.throws(() => registrationOf({ ...body, platform: 'web', token: 'not json' }), MappingError);
    assert.throws(() => registrationOf({ ...body, token: 5 }), MappingError);
});

test('an alert shows the preview, the badge, and carries Tern ids for the app', () => {
    const n = notificationOf(body);
    assert.equal(n.title, 'New message');
    assert.equal(n.body, 'standup at 10');
    assert.equal(n.badge, 4);
    assert.equal(n.topic, 'com.example.chat');
    assert.equal(n.priority, 'high');
    assert.equal(n.pushType, 'alert');
    assert.equal(n.sound, 'default');
    assert.equal(n.custom.seq, '120');
    assert.equal(n.custom.sender, '5');
    assert.deepEqual(JSON.parse(n.custom.conversation), { type: 'group', id: 77, peer: 0 });
    assert.equal(n.threadId, 'group.77');
});

test('coalesced pushes say how many more; urgent says so; hidden previews say little', () => {
    assert.equal(notificationOf({ ...body, count: 3 }).body, 'standup at 10 (+2 more)');
    assert.equal(notificationOf({ ...body, urgent: true }).title, 'Urgent');
    const { preview, ...noPreview } = body;
    assert.equal(notificationOf(noPreview).body, 'From 5');
    const { sender, ...nothing } = noPreview;
    assert.equal(notificationOf(nothing).body, 'You have a new message');
    assert.equal(notificationOf(nothing).custom.sender, undefined);
    assert.equal(notificationOf(nothing, { hidden: '新消息' }).body, '新消息');
});

test('a silent push and a badge-only push ring nothing and move the badge', () => {
    for (const quiet of [{ ...body, notice: 'silent' }, { ...body, notice: 'silent', count: 0, badge: 0 }]) {
        const n = notificationOf(quiet);
        assert.equal(n.silent, true);
        assert.equal(n.contentAvailable, true);
        assert.equal(n.pushType, 'background');
        assert.equal(n.priority, 'normal');
        assert.equal(n.body, undefined);
        assert.equal(n.badge, quiet.badge);
    }
});

test('a work-start digest reads as one line, with the mentions when there are any', () => {
    const digest = {
        tenant: 7, user: 9, device: 90, platform: 'fcm', token: 'f', app_id: 'com.example.chat',
        count: 12, badge: 15, notice: 'alert', urgent: false, channel: 'push', kind: 'digest',
        conversation: { type: '', id: 0, peer: 0 }, seq: 0,
        digest: { messages: 12, conversations: 4, mentions: 2 },
    };
    const n = notificationOf(digest);
    assert.equal(n.title, 'While you were off');
    assert.equal(n.body, '12 messages in 4 conversations, 2 mentions of you');
    assert.equal(n.badge, 15);
    assert.equal(n.sound, 'default');
    assert.equal(n.custom.kind, 'digest');
    assert.equal(n.custom.mentions, '2');
    assert.equal(n.collapseKey, 'tern.digest');
    const one = notificationOf({ ...digest, digest: { messages: 1, conversations: 1, mentions: 0 } });
    assert.equal(one.body, '1 message in 1 conversation');
    assert.throws(() => notificationOf({ ...digest, digest: { messages: -1, conversations: 1, mentions: 0 } }),
        MappingError);
});

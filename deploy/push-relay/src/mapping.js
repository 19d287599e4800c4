// From Tern's webhook body to what node-pushnotifications sends (docs/notifications.md, "Push
// relays"): the device's token and platform, and the notification: an alert with the preview
// the tenant allows and the badge, or a silent badge update; Tern's ids in `custom`, so that the
// app opens the right conversation.
'use strict';

// Tern's platform names to node-pushnotifications' types.
const TYPES = { apns: 'apn', fcm: 'fcm', web: 'webPush', wns: 'wns', adm: 'adm' };

class MappingError extends Error {}

function required(body, field, type) {
    // eslint-disable-next-line valid-typeof
    if (typeof body[field] !== type) throw new MappingError(`${field}: expected a ${type}`);
    return body[field];
}

// The registration id: { id, type }. A web push token is the subscription's JSON.
function registrationOf(body) {
    const platform = required(body, 'platform', 'string');
    const type = TYPES[platform];
    if (!type) throw new MappingError(`platform: ${platform} is not one this relay sends to`);
    const token = required(body, 'token', 'string');
    if (type === 'webPush') {
        try {
            return { id: JSON.parse(token), type };
        } catch {
            throw new MappingError('token: a web push subscription is JSON');
        }
    }
    return { id: token, type };
}

// A work-start digest: what reached the user off hours and is still unread, in one line.
function digestOf(body, texts) {
    const d = body.digest ?? {};
    const numbers = ['messages', 'conversations', 'mentions'].map((k) => {
        if (!Number.isInteger(d[k]) || d[k] < 0) throw new MappingError(`digest.${k}: expected a count`);
        return d[k];
    });
    const [messages, conversations, mentions] = numbers;
    const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
    let text = (texts.digest ?? '{messages} in {conversations}')
        .replace('{messages}', plural(messages, 'message', 'messages'))
        .replace('{conversations}', plural(conversations, 'conversation', 'conversations'));
    if (mentions > 0) {
        text += (texts.digestMentions ?? ', {mentions} of you')
            .replace('{mentions}', plural(mentions, 'mention', 'mentions'));
    }
    const title = texts.digestTitle ?? 'While you were off';
    return {
        title,
        body: text,
        alert: { title, body: text },
        sound: 'default',
        priority: 'high',
        pushType: 'alert',
        collapseKey: 'tern.digest',
        threadId: 'tern.digest',
        custom: { tenant: String(body.tenant), kind: 'digest', ...Object.fromEntries(
            ['messages', 'conversations', 'mentions'].map((k, i) => [k, String(numbers[i])])) },
    };
}

// What the notification shows; `texts` names the words an operator may translate.
function notificationOf(body, texts = {}) {
    const count = required(body, 'count', 'number');
    const badge = required(body, 'badge', 'number');
    const silent = body.notice !== 'alert' || count === 0;
    const custom = {
        tenant: String(body.tenant),
        conversation: JSON.stringify(body.conversation ?? {}),
        seq: String(body.seq ?? 0),
        count: String(count),
        urgent: body.urgent ? '1' : '0',
        channel: body.channel ?? 'push',
    };
    if (body.sender !== undefined) custom.sender = String(body.sender);
    const data = {
        topic: body.app_id || undefined,
        badge,
        notificationCount: badge,
        custom,
        collapseKey: `${body.conversation?.type ?? ''}.${body.conversation?.id ?? 0}.${body.conversation?.peer ?? 0}`,
        threadId: `${body.conversation?.type ?? ''}.${body.conversation?.id ?? 0}`,
    };
    if (silent) {
        return { ...data, silent: true, contentAvailable: true, pushType: 'background', priority: 'normal' };
    }
    if (body.kind === 'digest') return { ...data, ...digestOf(body, texts) };
    const more = count > 1 ? (texts.more ?? ' (+{n} more)').replace('{n}', String(count - 1)) : '';
    const title = body.urgent ? (texts.urgent ?? 'Urgent') : (texts.title ?? 'New message');
    const text = body.preview ?? (body.sender !== undefined ? (texts.from ?? 'From {sender}').replace('{sender}', String(body.sender)) : (texts.hidden ?? 'You have a new message'));
    return {
        ...data,
        title,
        body: text + more,
        alert: { title, body: text + more },
        sound: 'default',
        priority: 'high',
        pushType: 'alert',
    };
}

module.exports = { TYPES, MappingError, registrationOf, notificationOf };

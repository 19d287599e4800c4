'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

test('the server loads node-pushnotifications and configures only the services it is given', () => {
    const { settingsFromEnv } = require('../src/server');
    assert.deepEqual(settingsFromEnv({}), {});
    const web = settingsFromEnv({ VAPID_SUBJECT: 'mailto:ops@example.com', VAPID_PUBLIC_KEY: 'pub', VAPID_PRIVATE_KEY: 'priv' });
    assert.deepEqual(Object.keys(web), ['web']);
    assert.equal(web.web.vapidDetails.subject, 'mailto:ops@example.com');
    const PushNotifications = require('node-pushnotifications');
    assert.equal(typeof new PushNotifications({}).send, 'function');
});

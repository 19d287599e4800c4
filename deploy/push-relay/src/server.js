// The example push relay for ternd (deploy/push-relay/README.md): Tern's signed webhook in,
// APNs, FCM and web push out through node-pushnotifications. Configured by the environment:
//
//   TERN_PUSH_SECRET   the secret ternd signs with (ternd: push.secret / TERN_PUSH__SECRET)
//   PORT               where it listens (8787), HOST (127.0.0.1)
//   APN_KEY_FILE, APN_KEY_ID, APN_TEAM_ID, APN_PRODUCTION=1   APNs token authentication
//   FCM_SERVICE_ACCOUNT_FILE                                 FCM (firebase-admin)
//   VAPID_SUBJECT, VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY      web push
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const PushNotifications = require('node-pushnotifications');
const { makeHandler } = require('./relay');

function settingsFromEnv(env) {
    const settings = {};
    if (env.APN_KEY_FILE) {
        settings.apn = {
            token: { key: fs.readFileSync(env.APN_KEY_FILE), keyId: env.APN_KEY_ID, teamId: env.APN_TEAM_ID },
            production: env.APN_PRODUCTION === '1',
        };
    }
    if (env.FCM_SERVICE_ACCOUNT_FILE) {
        settings.fcm = {
            appName: 'tern-push-relay',
            serviceAccountKey: JSON.parse(fs.readFileSync(env.FCM_SERVICE_ACCOUNT_FILE, 'utf8')),
        };
    }
    if (env.VAPID_PUBLIC_KEY) {
        settings.web = {
            vapidDetails: { subject: env.VAPID_SUBJECT, publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY },
        };
    }
    return settings;
}

function main(env = process.env) {
    if (!env.TERN_PUSH_SECRET || env.TERN_PUSH_SECRET.length < 16) {
        console.error('TERN_PUSH_SECRET: the secret ternd signs with, 16 characters at least');
        process.exit(2);
    }
    const push = new PushNotifications(settingsFromEnv(env));
    const handler = makeHandler({
        secret: env.TERN_PUSH_SECRET,
        send: (registration, notification) => push.send([registration], notification),
    });
    const port = Number(env.PORT ?? 8787);
    const host = env.HOST ?? '127.0.0.1';
    const server = http.createServer(handler);
    server.keepAliveTimeout = 5000;
    server.listen(port, host, () => console.log(`tern push relay on http://${host}:${port}/push`));
    for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
}

if (require.main === module) main();

module.exports = { settingsFromEnv };

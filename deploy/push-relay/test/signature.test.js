'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const signature = require('../src/signature');

test('the signature agrees with ternd and Python hmac (the pinned vector)', () => {
    // tests/unit/push/relay_format_test.cpp pins the same.
    assert.equal(signature.sign('s3cret', 1700000000, '{"a":1}'),
        '1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940');
});

test('a signed body verifies within the window, and nothing else does', () => {
    const body = Buffer.from('{"user":9,"seq":1}');
    const header = `t=1700000000,v1=${signature.sign('secret-0123456789', 1700000000, body)}`;
    assert.ok(signature.verify(header, body, 'secret-0123456789', 1700000000));
    assert.ok(signature.verify(header, body, 'secret-0123456789', 1700000299));
    assert.ok(!signature.verify(header, body, 'secret-0123456789', 1700000301), 'a replay after the window');
    assert.ok(!signature.verify(header, body, 'secret-0123456789', 1699999699), 'from the future');
    assert.ok(!signature.verify(header, body, 'another-secret-000', 1700000000), 'another secret');
    assert.ok(!signature.verify(header, Buffer.from('{"user":9,"seq":2}'), 'secret-0123456789', 1700000000), 'a changed body');
    for (const bad of [undefined, '', 't=1700000000', 'v1=00', 't=x,v1=' + '0'.repeat(64), 't=1700000000,v1=zz']) {
        assert.ok(!signature.verify(bad, body, 'secret-0123456789', 1700000000), String(bad));
    }
    // Several v1 values (a rotation): any one that matches.
    const rotated = `t=1700000000,v1=${'0'.repeat(64)},v1=${signature.sign('secret-0123456789', 1700000000, body)}`;
    assert.ok(signature.verify(rotated, body, 'secret-0123456789', 1700000000));
});

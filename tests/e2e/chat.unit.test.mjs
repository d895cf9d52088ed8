// SPDX-License-Identifier: MIT
// Chat's pure half (web/chat.js) in node, no browser: what may be sent, what a received
// message must look like to be shown, and the labels beside it.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  clockText,
  encodeChat,
  MAX_CHAT_CHARS,
  MAX_CONTROL_BYTES,
  parseChat,
  senderLabel,
  unreadText,
  validateChat,
  validateControl,
} from '../../web/chat.js';
import { parseServer } from '../../web/protocol.js';

test('validateChat: trims, refuses empty and over 2000 code points, counts code points not UTF-16 units', () => {
  assert.deepEqual(validateChat('  hello \n'), { ok: true, text: 'hello' });
  for (const blank of ['', '   ', '\n\t', null, undefined]) {
    const r = validateChat(blank);
    assert.equal(r.ok, false, `for ${JSON.stringify(blank)}`);
    assert.equal(r.reason, 'empty');
  }
  assert.equal(validateChat('x'.repeat(MAX_CHAT_CHARS)).ok, true);
  const long = validateChat('x'.repeat(MAX_CHAT_CHARS + 1));
  assert.equal(long.reason, 'too-long');
  assert.match(long.message, /2000.*2001/);
  // 2000 emoji are 4000 UTF-16 units but 2000 characters: allowed.
  assert.equal(validateChat('😀'.repeat(MAX_CHAT_CHARS)).ok, true);
  assert.equal(validateChat('😀'.repeat(MAX_CHAT_CHARS + 1)).ok, false);
  // Padding does not count against the limit.
  assert.equal(validateChat(`  ${'x'.repeat(MAX_CHAT_CHARS)}  `).ok, true);
});

test('encodeChat and parseChat agree; the wire form is the documented one', () => {
  const wire = encodeChat('hi <b>there</b>', 1700000000123.7);
  assert.deepEqual(JSON.parse(wire), { type: 'chat', text: 'hi <b>there</b>', ts: 1700000000123 });
  assert.deepEqual(parseChat(wire), { text: 'hi <b>there</b>' });
  // ts is informative only: a message without it (or with a strange one) still reads.
  assert.deepEqual(parseChat('{"type":"chat","text":"x"}'), { text: 'x' });
  assert.deepEqual(parseChat('{"type":"chat","text":"x","ts":"soon"}'), { text: 'x' });
});

test('parseChat: anything but a valid chat message is null, never a throw', () => {
  const bad = [
    'not json',
    '',
    'null',
    '42',
    '"chat"',
    '[]',
    '{"type":"chat"}',
    '{"type":"chat","text":5}',
    '{"type":"chat","text":"   "}',
    '{"type":"other","text":"x"}',
    '{"text":"x"}',
    JSON.stringify({ type: 'chat', text: 'y'.repeat(MAX_CHAT_CHARS + 1) }),
    new ArrayBuffer(4),
    new Uint8Array([123, 125]),
    null,
    undefined,
  ];
  for (const data of bad) assert.equal(parseChat(data), null, `for ${String(data).slice(0, 40)}`);
});

test('validateControl: 16 KiB of UTF-8, sent exactly as typed', () => {
  assert.deepEqual(validateControl('  {"cmd": 1} '), { ok: true, text: '  {"cmd": 1} ' });
  assert.equal(validateControl(' ').reason, 'empty');
  assert.equal(validateControl('a'.repeat(MAX_CONTROL_BYTES)).ok, true);
  const over = validateControl('a'.repeat(MAX_CONTROL_BYTES + 1));
  assert.equal(over.reason, 'too-long');
  assert.match(over.message, /16 KiB.*16385 bytes/);
  // Bytes, not characters: 'é' is two bytes in UTF-8.
  assert.equal(validateControl('é'.repeat(MAX_CONTROL_BYTES / 2)).ok, true);
  assert.equal(validateControl('é'.repeat(MAX_CONTROL_BYTES / 2 + 1)).ok, false);
});

test('labels: sender, unread badge and time', () => {
  assert.equal(senderLabel('Ana'), 'Ana');
  assert.equal(senderLabel(''), 'Guest');
  assert.equal(senderLabel(undefined), 'Guest');
  assert.equal(senderLabel('Ana', true), 'You');
  assert.equal(unreadText(0), '');
  assert.equal(unreadText(-1), '');
  assert.equal(unreadText(NaN), '');
  assert.equal(unreadText(3), '3');
  assert.equal(unreadText(99), '99');
  assert.equal(unreadText(100), '99+');
  const at = new Date(2024, 0, 2, 9, 5, 30).getTime();
  assert.equal(clockText(at), '09:05');
});

test('names in joined and peer-joined: read when there, tolerated when absent or bad', () => {
  const joined = (extra) =>
    parseServer(JSON.stringify({ type: 'joined', id: 'me', room: 'r', peers: ['a', 'b', 'c'], resume: 't', ...extra }));
  // An old server sends no names: everyone is nameless, nothing fails.
  assert.deepEqual([...joined({}).names], []);
  assert.deepEqual([...joined({ names: 'x' }).names], []);
  assert.deepEqual([...joined({ names: ['a'] }).names], []);
  // Only members listed in peers, only non-empty strings.
  const m = joined({ names: { a: 'Ana', b: 7, c: '', z: 'Zed', __proto__: 'x' } });
  assert.deepEqual([...m.names], [['a', 'Ana']]);
  assert.deepEqual(m.peers, ['a', 'b', 'c'], 'peers stays a list of ids');

  const pj = (extra) => parseServer(JSON.stringify({ type: 'peer-joined', id: 'a', ...extra }));
  assert.equal(pj({ name: 'Ana' }).name, 'Ana');
  assert.equal(pj({}).name, '');
  assert.equal(pj({ name: 12 }).name, '');
});

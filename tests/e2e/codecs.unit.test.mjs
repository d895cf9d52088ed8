// SPDX-License-Identifier: MIT
// The `?codec=` hook's pure half (web/codecs.js) in node, no browser: parsing and codec order.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { codecFromQuery, preferCodec } from '../../web/codecs.js';

// What Chromium's RTCRtpReceiver.getCapabilities('video').codecs looks like (abridged).
const CAPS = [
  { mimeType: 'video/VP8', clockRate: 90000 },
  { mimeType: 'video/rtx', clockRate: 90000, sdpFmtpLine: 'apt=96' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42E01F' },
  { mimeType: 'video/VP9', clockRate: 90000, sdpFmtpLine: 'profile-id=0' },
  { mimeType: 'video/red', clockRate: 90000 },
];

test('codecFromQuery: h264 and vp8 in any case; absent, empty or unknown is null with a warning for unknown', () => {
  const warnings = [];
  const warn = (...a) => warnings.push(a.join(' '));
  assert.equal(codecFromQuery('?codec=h264', warn), 'h264');
  assert.equal(codecFromQuery('?room=x&codec=VP8', warn), 'vp8');
  assert.equal(codecFromQuery('?codec=H264', warn), 'h264');
  assert.equal(codecFromQuery('', warn), null);
  assert.equal(codecFromQuery('?codec=', warn), null);
  assert.deepEqual(warnings, []);
  assert.equal(codecFromQuery('?codec=av1', warn), null);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /ignoring \?codec=av1.*h264, vp8/);
});

test('preferCodec h264: 42e01f with packetization-mode=1 first, then other mode 1, then mode 0, rest in order', () => {
  const out = preferCodec(CAPS, 'h264');
  assert.deepEqual(
    out.map((c) => `${c.mimeType} ${c.sdpFmtpLine ?? ''}`.trim()),
    [
      'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42E01F',
      'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
      'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f',
      'video/H264 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
      'video/VP8',
      'video/rtx apt=96',
      'video/VP9 profile-id=0',
      'video/red',
    ],
  );
  assert.equal(out.length, CAPS.length, 'nothing dropped: a peer without H.264 still gets a call');
});

test('preferCodec vp8 puts VP8 first; a codec the browser lacks gives null', () => {
  const h264First = [CAPS[3], CAPS[1], CAPS[0]];
  assert.deepEqual(preferCodec(h264First, 'vp8').map((c) => c.mimeType), ['video/VP8', 'video/H264', 'video/rtx']);
  assert.equal(preferCodec([CAPS[0], CAPS[1]], 'h264'), null);
});

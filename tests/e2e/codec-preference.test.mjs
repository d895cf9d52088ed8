// SPDX-License-Identifier: MIT
// The `?codec=h264|vp8` test hook: a Chromium<->Chromium call really runs on the codec asked
// for (getStats codec reports of the inbound and outbound video), whether the side asking
// offers or answers, and each side sends the codec it was told to; an unknown value is
// ignored with a console warning.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectSeesAndHears, peerIdOf, startEnv, videoCodecs, waitForState } from './lib.mjs';

/**
 * `first` waits in `room`, `second` joins and offers (the newcomer offers); returns each
 * page's video codecs both ways once both see and hear each other.
 */
async function callWith(env, room, first, second, { browsers = ['chromium', 'chromium'] } = {}) {
  const q = (codec) => `/?room=${room}${codec ? `&codec=${codec}` : ''}`;
  const a = await env.open(q(first), { browser: browsers[0] });
  await waitForState(a, 'waiting');
  const b = await env.open(q(second), { browser: browsers[1] });
  await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);
  const [aId, bId] = await Promise.all([peerIdOf(a), peerIdOf(b)]);
  await Promise.all([expectSeesAndHears(a, bId), expectSeesAndHears(b, aId)]);
  const codecs = { first: await videoCodecs(a, bId), second: await videoCodecs(b, aId) };
  return { a, b, codecs };
}

/** `codecs[side]` receives `inbound` and sends `outbound` (H.264: constrained baseline, mode 1). */
function assertSide(codecs, side, { inbound, outbound }) {
  const what = JSON.stringify(codecs, null, 1);
  for (const [dir, mimeType] of [['inbound', inbound], ['outbound', outbound]]) {
    const c = codecs[side]?.[dir];
    assert.ok(c, `${side} has ${dir} video stats: ${what}`);
    assert.equal(c.mimeType?.toLowerCase(), mimeType.toLowerCase(), `${side} ${dir} video codec: ${what}`);
    assert.ok(c.frames > 0, `${side} ${dir} video frames: ${what}`);
    if (/h264/i.test(mimeType)) {
      assert.match(c.fmtp ?? '', /profile-level-id=42e01f/i, `${side} ${dir}: ${what}`);
      assert.match(c.fmtp ?? '', /packetization-mode=1/, `${side} ${dir}: ${what}`);
    }
  }
}

/** Both pages send and receive `mimeType`. */
function assertRunsOn(codecs, mimeType) {
  assertSide(codecs, 'first', { inbound: mimeType, outbound: mimeType });
  assertSide(codecs, 'second', { inbound: mimeType, outbound: mimeType });
}

const close = (...pages) => Promise.all(pages.map((p) => (p.browserName === 'firefox' ? p.close() : p.context().close())));

test('?codec= makes Chromium prefer and send that video codec, offering or answering', async (t) => {
  const env = await startEnv(t, { firefox: true });

  // The offerer asks for H.264; the answerer's unknown value is ignored, with a warning.
  const offering = await callWith(env, 'h264-offer', 'bogus', 'h264');
  t.diagnostic(`H.264 from the offer: ${JSON.stringify(offering.codecs)}`);
  assertRunsOn(offering.codecs, 'video/H264');
  assert.ok(
    offering.a.duetLog.some((l) => /^console\.warning: duet: ignoring \?codec=bogus/.test(l)),
    `a warning for ?codec=bogus: ${offering.a.duetLog.join('\n')}`,
  );
  assert.ok(!offering.b.duetLog.some((l) => /codec/i.test(l)), `no warning for h264: ${offering.b.duetLog.join('\n')}`);
  await close(offering.a, offering.b);

  // The answerer asks for H.264 of an offerer that has no preference (VP8 first).
  const answering = await callWith(env, 'h264-answer', 'h264', null);
  t.diagnostic(`H.264 from the answer: ${JSON.stringify(answering.codecs)}`);
  assertRunsOn(answering.codecs, 'video/H264');
  // The address bar keeps the hook once in the room (a reload keeps it), beside the room.
  const address = new URL(answering.a.url()).searchParams;
  assert.deepEqual([address.get('room'), address.get('codec')], ['h264-answer', 'h264']);
  await close(answering.a, answering.b);

  // Each side sends what it was told to: the answerer VP8 although the offer put H.264
  // first (without the hook it would send the offer's first codec), the offerer H.264.
  const mixed = await callWith(env, 'vp8-vs-h264', 'vp8', 'h264');
  t.diagnostic(`VP8 one way, H.264 the other: ${JSON.stringify(mixed.codecs)}`);
  assertSide(mixed.codecs, 'first', { outbound: 'video/VP8', inbound: 'video/H264' });
  assertSide(mixed.codecs, 'second', { outbound: 'video/H264', inbound: 'video/VP8' });
  await close(mixed.a, mixed.b);

  // Debian's Firefox has no H.264 for WebRTC (it would need Cisco's OpenH264 plugin, which
  // it downloads at run time): ?codec=h264 there says so, Chromium's H.264 offer is answered
  // with VP8, Chromium says H.264 was not accepted, and the call runs on VP8 both ways. If
  // this fails because Firefox gained H.264, test a Firefox call on H.264 instead.
  const fox = await callWith(env, 'firefox-h264', 'h264', 'h264', { browsers: ['firefox', 'chromium'] });
  t.diagnostic(`Firefox asked for H.264: ${JSON.stringify(fox.codecs)}`);
  assert.equal(
    await fox.a.evaluate(() => RTCRtpReceiver.getCapabilities('video').codecs.some((c) => /h264/i.test(c.mimeType))),
    false,
    'Debian Firefox lists no H.264 receiver',
  );
  assertRunsOn(fox.codecs, 'video/VP8');
  const warned = (page, re) => page.duetLog.some((l) => /^console\.warn(ing)?: /.test(l) && re.test(l));
  assert.ok(warned(fox.a, /cannot receive video\/h264/), `Firefox says it has no H.264:\n${fox.a.duetLog.join('\n')}`);
  assert.ok(warned(fox.b, /did not accept video\/h264/), `Chromium says H.264 was refused:\n${fox.b.duetLog.join('\n')}`);
  await close(fox.a, fox.b);
});

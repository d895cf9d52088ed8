// SPDX-License-Identifier: MIT
// Test hook `/?codec=h264|vp8`: which video codec this client prefers, and the codec order that says so.
//
// Two halves, because a browser sends with the first codec of the *remote* description:
// setCodecPreferences puts the codec first in our offer or answer, so the other side sends
// it to us; once negotiated, RTCRtpSender.setParameters (encodings[].codec) makes us send it
// too, even when the other side listed another codec first. Each side of a call thus sends
// the codec it was told to prefer, whenever the other side accepted it.

/** Codec names `?codec=` accepts, by the mimeType they stand for. */
export const VIDEO_CODECS = Object.freeze({ h264: 'video/h264', vp8: 'video/vp8' });

/** H.264 every browser decodes: constrained baseline, level 3.1. */
const H264_BASELINE = '42e01f';

/**
 * The codec `?codec=` asks for, or null. An unknown value is ignored with a warning.
 * @param {string} search location.search
 * @param {(...args: unknown[]) => void} [warn]
 * @returns {'h264'|'vp8'|null}
 */
export function codecFromQuery(search, warn = console.warn) {
  const raw = new URLSearchParams(search).get('codec');
  if (raw === null || raw === '') return null;
  const name = raw.trim().toLowerCase();
  if (Object.hasOwn(VIDEO_CODECS, name)) return /** @type {'h264'|'vp8'} */ (name);
  warn(`duet: ignoring ?codec=${raw}: known codecs are ${Object.keys(VIDEO_CODECS).join(', ')}`);
  return null;
}

/** The fmtp parameters of a codec capability, keys lower-cased. */
function fmtp(codec) {
  const out = new Map();
  for (const part of (codec.sdpFmtpLine ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim().toLowerCase());
  }
  return out;
}

/**
 * How well `codec` matches `want`: 0 best, larger worse, Infinity for another codec.
 * For H.264, constrained baseline 42e01f with packetization-mode=1 comes first, then any
 * packetization-mode=1, then the rest.
 */
function rank(codec, want) {
  if (codec.mimeType?.toLowerCase() !== VIDEO_CODECS[want]) return Infinity;
  if (want !== 'h264') return 0;
  const p = fmtp(codec);
  const mode1 = p.get('packetization-mode') === '1';
  if (mode1 && p.get('profile-level-id') === H264_BASELINE) return 0;
  return mode1 ? 1 : 2;
}

/**
 * `codecs` (RTCRtpReceiver.getCapabilities('video').codecs) reordered so that `want` comes
 * first; everything else (other codecs, rtx, red, ulpfec) keeps its order behind it, so a
 * peer without `want` still gets a call. Null if `codecs` has no `want` at all.
 * @param {RTCRtpCodec[]} codecs
 * @param {'h264'|'vp8'} want
 */
export function preferCodec(codecs, want) {
  const ranked = codecs.map((codec, i) => ({ codec, i, r: rank(codec, want) }));
  if (!ranked.some((x) => x.r !== Infinity)) return null;
  ranked.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r < b.r ? -1 : 1));
  return ranked.map((x) => x.codec);
}

/**
 * Makes every video transceiver of `pc` prefer `want`. Call it before createOffer, and
 * after setRemoteDescription(offer) but before createAnswer. Never throws: a browser that
 * lacks the codec or the API keeps its own order and says so on the console.
 * @param {RTCPeerConnection} pc
 * @param {'h264'|'vp8'|null} want
 * @returns {boolean} whether preferences were set
 */
export function applyCodecPreference(pc, want) {
  if (!want) return false;
  const caps = globalThis.RTCRtpReceiver?.getCapabilities?.('video');
  const ordered = caps && preferCodec(caps.codecs, want);
  if (!ordered) {
    console.warn(`duet: ?codec=${want} asked for, but this browser cannot receive ${VIDEO_CODECS[want]}`);
    return false;
  }
  let applied = false;
  for (const t of pc.getTransceivers()) {
    if (t.stopped || t.receiver.track?.kind !== 'video') continue;
    if (typeof t.setCodecPreferences !== 'function') {
      console.warn('duet: ?codec= ignored: this browser has no RTCRtpTransceiver.setCodecPreferences');
      return false;
    }
    try {
      t.setCodecPreferences(ordered);
      applied = true;
    } catch (err) {
      console.warn(`duet: could not prefer ${VIDEO_CODECS[want]}:`, err);
    }
  }
  return applied;
}

/**
 * Makes every video sender of `pc` send `want` if the negotiation kept it. Call it once
 * both descriptions are set (after setRemoteDescription(answer), or after
 * setLocalDescription(answer)). Never throws; says on the console what it could not do.
 * @param {RTCPeerConnection} pc
 * @param {'h264'|'vp8'|null} want
 * @returns {Promise<boolean>} whether a sender was switched (or already sent `want`)
 */
export async function applySendCodec(pc, want) {
  if (!want) return false;
  let applied = false;
  for (const t of pc.getTransceivers()) {
    if (t.stopped || t.receiver.track?.kind !== 'video' || !t.sender.track) continue;
    const params = t.sender.getParameters();
    const negotiated = params.codecs ?? [];
    const chosen = preferCodec(negotiated, want)?.[0];
    if (!chosen || !params.encodings?.length) {
      console.warn(`duet: ?codec=${want}: the other side did not accept ${VIDEO_CODECS[want]}`);
      continue;
    }
    for (const e of params.encodings) e.codec = chosen;
    try {
      await t.sender.setParameters(params);
      applied = true;
    } catch (err) {
      console.warn(`duet: could not send ${VIDEO_CODECS[want]}:`, err);
    }
  }
  return applied;
}

// SPDX-License-Identifier: MIT
// Recent rooms' pure half (web/recent.js) in node, no browser: a stored list read back
// whatever it holds, the newest-first order and its cap, and "when" in words.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  addRecent,
  loadRecent,
  MAX_RECENT,
  parseRecent,
  RECENT_KEY,
  saveRecent,
  whenText,
} from '../../web/recent.js';

const KEY = '0123456789abcdef0123456789abcdef';

/** A Storage double backed by a Map; `broken` makes every call throw like a disabled one. */
function memoryStorage({ broken = false } = {}) {
  const map = new Map();
  const guard = () => {
    if (broken) throw new DOMException('The operation is insecure.', 'SecurityError');
  };
  return {
    map,
    getItem: (k) => (guard(), map.has(k) ? map.get(k) : null),
    setItem: (k, v) => (guard(), map.set(k, String(v))),
    removeItem: (k) => (guard(), map.delete(k)),
  };
}

test('parseRecent: garbage reads as an empty list, never throws', () => {
  for (const text of [null, undefined, 42, '', 'not json', '{"room":"a"}', '"a"', 'null', '[1, "x", null, []]']) {
    assert.deepEqual(parseRecent(text), [], `for ${JSON.stringify(text)}`);
  }
});

test('parseRecent: keeps sound entries, drops bad ones, newest first, one per room', () => {
  const stored = JSON.stringify([
    { room: 'old', at: 1000, private: false },
    { room: 'fresh', at: 5000, private: false },
    { room: 'old', at: 3000, private: false }, // a second "old": the newer one wins
    { room: 'vault', at: 4000, private: true, key: KEY },
    { room: 'vault-bad-key', at: 4500, private: true, key: 'short' }, // kept, key dropped
    { room: ' padded ', at: 2000 }, // not a normalised name
    { room: 'bidi\u202Eevil', at: 2000 }, // not a valid name
    { room: '', at: 2000 },
    { room: 'no-time' },
    { room: 'nan-time', at: 'yesterday' },
    { room: 'neg-time', at: -5 },
    { room: 'open-with-key', at: 100, private: 'yes', key: KEY }, // only `true` is private
  ]);
  assert.deepEqual(parseRecent(stored), [
    { room: 'fresh', at: 5000, private: false },
    { room: 'vault-bad-key', at: 4500, private: true },
    { room: 'vault', at: 4000, private: true, key: KEY },
    { room: 'old', at: 3000, private: false },
    { room: 'open-with-key', at: 100, private: false },
  ]);
});

test('parseRecent: at most MAX_RECENT, the newest', () => {
  const many = Array.from({ length: MAX_RECENT + 5 }, (_, i) => ({ room: `r${i}`, at: 1000 + i }));
  const out = parseRecent(JSON.stringify(many));
  assert.equal(out.length, MAX_RECENT);
  assert.equal(out[0].room, `r${MAX_RECENT + 4}`);
  assert.equal(out.at(-1).room, 'r5');
});

test('addRecent: the joined room goes first, replacing its older entry, capped', () => {
  let list = [];
  list = addRecent(list, { room: 'a', private: false }, 1);
  list = addRecent(list, { room: 'b', private: true, key: KEY }, 2);
  list = addRecent(list, { room: 'a', private: false, key: KEY }, 3); // an open room keeps no key
  assert.deepEqual(list, [
    { room: 'a', at: 3, private: false },
    { room: 'b', at: 2, private: true, key: KEY },
  ]);
  for (let i = 0; i < MAX_RECENT + 2; ++i) list = addRecent(list, { room: `x${i}`, private: false }, 10 + i);
  assert.equal(list.length, MAX_RECENT);
  assert.ok(!list.some((e) => e.room === 'a'), 'the oldest fell off');
});

test('loadRecent and saveRecent round-trip, clear on an empty list, and survive a broken storage', () => {
  const storage = memoryStorage();
  const list = addRecent(addRecent([], { room: 'a', private: false }, 1), { room: 'b', private: true, key: KEY }, 2);
  assert.equal(saveRecent(storage, list), true);
  assert.deepEqual(loadRecent(storage), list);
  assert.equal(saveRecent(storage, []), true);
  assert.equal(storage.map.has(RECENT_KEY), false, 'forgetting removes the entry entirely');
  assert.deepEqual(loadRecent(storage), []);

  storage.map.set(RECENT_KEY, '[{"room":');
  assert.deepEqual(loadRecent(storage), []);

  const broken = memoryStorage({ broken: true });
  assert.deepEqual(loadRecent(broken), []);
  assert.equal(saveRecent(broken, list), false);
  assert.deepEqual(loadRecent(null), []);
  assert.equal(saveRecent(null, list), false);
});

test('whenText: just now, minutes, hours today, yesterday, then a date', () => {
  const now = new Date(2026, 11, 2, 14, 30).getTime(); // local time, whatever TZ is
  const at = (...parts) => new Date(...parts).getTime();
  assert.equal(whenText(now, now), 'just now');
  assert.equal(whenText(now - 59 * 1000, now), 'just now');
  assert.equal(whenText(now + 3600 * 1000, now), 'just now', 'a clock that moved back');
  assert.equal(whenText(now - 60 * 1000, now), '1 min ago');
  assert.equal(whenText(now - 5 * 60 * 1000 - 10, now), '5 min ago');
  assert.equal(whenText(now - 59 * 60 * 1000, now), '59 min ago');
  assert.equal(whenText(at(2026, 11, 2, 11, 0), now), '3 h ago');
  assert.equal(whenText(at(2026, 11, 2, 0, 0), now), '14 h ago');
  assert.equal(whenText(at(2026, 11, 1, 23, 59), now), 'yesterday');
  assert.equal(whenText(at(2026, 11, 1, 0, 0), now), 'yesterday');
  assert.equal(whenText(at(2026, 10, 30, 23, 59), now, 'en-GB'), '30 Nov');
  assert.equal(whenText(at(2025, 11, 31, 12, 0), now, 'en-GB'), '31 Dec 2025');
  // Just after midnight, an hour ago was yesterday.
  const early = at(2026, 11, 2, 0, 20);
  assert.equal(whenText(at(2026, 11, 1, 23, 0), early), 'yesterday');
});

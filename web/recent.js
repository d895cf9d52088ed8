// SPDX-License-Identifier: MIT
// Recent rooms: the rooms this browser was in, kept in its localStorage only, and how the
// start dialog words "when". Pure apart from the storage it is handed, so node can test it.

import { isRoomKey, normalizeRoom } from './protocol.js';

/** The localStorage key holding the list (JSON). */
export const RECENT_KEY = 'duet.recent';

/** How many rooms the list keeps; the oldest falls off. */
export const MAX_RECENT = 8;

/**
 * @typedef {{room: string, at: number, private: boolean, key?: string}} RecentRoom
 *   `room` normalised, `at` the last join (ms since the epoch), `key` a private room's key.
 */

/**
 * Reads a stored list, keeping only entries that make sense: a valid normalised room
 * name, a plausible time, and for a private room a well-formed key if it has one. Anything
 * else (not JSON, not a list, someone's hand edit, an older format) is dropped, never thrown.
 * @param {unknown} text what localStorage held (a string, or null when nothing)
 * @returns {RecentRoom[]} newest first, one per room, at most MAX_RECENT
 */
export function parseRecent(text) {
  if (typeof text !== 'string') return [];
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  const entries = [];
  for (const item of data) {
    if (!item || typeof item !== 'object') continue;
    const { room, at } = item;
    if (typeof room !== 'string') continue;
    const checked = normalizeRoom(room);
    if (!checked.ok || checked.room !== room) continue;
    if (typeof at !== 'number' || !Number.isFinite(at) || at <= 0) continue;
    const entry = { room, at, private: item.private === true };
    if (entry.private && isRoomKey(item.key)) entry.key = item.key;
    entries.push(entry);
  }
  entries.sort((a, b) => b.at - a.at);
  const seen = new Set();
  return entries.filter((e) => !seen.has(e.room) && seen.add(e.room)).slice(0, MAX_RECENT);
}

/**
 * The list with `room` moved to the front as joined at `now`.
 * @param {RecentRoom[]} list
 * @param {{room: string, private: boolean, key?: string|null}} joined
 * @param {number} now
 * @returns {RecentRoom[]}
 */
export function addRecent(list, { room, private: isPrivate, key }, now) {
  // A private room's key is kept too, so one click gets back in. This is the person's own
  // browser, which already holds the same link in its history; the key never leaves it.
  const entry = { room, at: now, private: !!isPrivate };
  if (entry.private && isRoomKey(key)) entry.key = key;
  return [entry, ...list.filter((e) => e.room !== room)].slice(0, MAX_RECENT);
}

/**
 * The browser's localStorage, or null where there is none or it is turned off (reading
 * `window.localStorage` itself throws then, in Chromium and Firefox alike).
 */
export function browserStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/** @param {Storage|null} storage @returns {RecentRoom[]} */
export function loadRecent(storage) {
  try {
    return parseRecent(storage?.getItem(RECENT_KEY) ?? null);
  } catch {
    return [];
  }
}

/**
 * Stores the list; a full or disabled storage just means the list is not remembered.
 * @param {Storage|null} storage @param {RecentRoom[]} list @returns {boolean} stored
 */
export function saveRecent(storage, list) {
  try {
    if (!storage) return false;
    if (list.length === 0) storage.removeItem(RECENT_KEY);
    else storage.setItem(RECENT_KEY, JSON.stringify(list));
    return true;
  } catch {
    return false;
  }
}

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;

/** Midnight at the start of `ms`'s day, in local time. */
function dayStart(ms) {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/**
 * "When" in words, as people say it: "just now", "5 min ago", "3 h ago" (same day),
 * "yesterday", then a date ("28 Nov", with the year when it is not this year's).
 * A time in the future (a clock that moved back) reads "just now".
 * @param {number} at @param {number} now @param {string|string[]} [locale] for the date
 */
export function whenText(at, now, locale = undefined) {
  const ago = now - at;
  if (ago < MINUTE) return 'just now';
  if (ago < HOUR) return `${Math.floor(ago / MINUTE)} min ago`;
  const today = dayStart(now);
  if (at >= today) return `${Math.floor(ago / HOUR)} h ago`;
  // The day before today's midnight, found by date rather than by 24 hours (DST days).
  const yesterday = dayStart(today - 1);
  if (at >= yesterday) return 'yesterday';
  const sameYear = new Date(at).getFullYear() === new Date(now).getFullYear();
  return new Intl.DateTimeFormat(locale, {
    day: 'numeric',
    month: 'short',
    ...(sameYear ? {} : { year: 'numeric' }),
  }).format(at);
}

/** The exact time, for a tooltip beside `whenText`. */
export function exactTime(at, locale = undefined) {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'short' }).format(at);
}

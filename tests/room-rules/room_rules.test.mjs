// SPDX-License-Identifier: MIT
// Runs tests/room-rules/cases.json against the browser client's room rules (web/room_rules.js),
// through the client's own parser (web/protocol.js). No browser: the links are a fake.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { parseServer } from '../../web/protocol.js';
import * as rules from '../../web/room_rules.js';

const casesPath = process.env.DUET_ROOM_RULES ?? new URL('./cases.json', import.meta.url);
const { defaults, cases } = JSON.parse(readFileSync(casesPath, 'utf8'));

/** The links the client holds, as room_rules.js sees them (Call's view), by state name. */
class FakeLinks {
  /** @type {Map<string, string>} id -> 'negotiating' | 'connected' | 'failed' */
  states = new Map();
  constructor(initial = {}) {
    for (const [id, state] of Object.entries(initial)) this.states.set(id, state);
  }
  ids() {
    return [...this.states.keys()];
  }
  has(id) {
    return this.states.has(id);
  }
  isLive(id) {
    return this.states.get(id) === 'connected';
  }
  /** What app.js's apply() does to the real links. */
  apply(action) {
    if ('close' in action) this.states.delete(action.close);
    else if ('offer' in action) this.states.set(action.offer, 'negotiating');
  }
}

/** room_rules.js's action -> the cases' spelling. */
function spell(action) {
  if ('offer' in action) return { offer: action.offer };
  if ('close' in action) return { close: action.close };
  if ('giveUp' in action) return { 'give-up': action.giveUp };
  throw new Error(`unknown action ${JSON.stringify(action)}`);
}

/** README.md: within one step, a close followed by an offer to the same peer is that offer. */
function normalise(actions) {
  return actions.filter(
    (a, i) => !('close' in a && actions.slice(i + 1).some((later) => later.offer === a.close)),
  );
}

function decide(msg, links) {
  switch (msg.type) {
    case 'joined':
      return rules.onJoined(msg, links);
    case 'peer-joined':
      return rules.onPeerJoined(msg, links);
    case 'peer-left':
      return rules.onPeerLeft(msg, links);
    case 'error':
      return rules.onError(msg);
    default:
      throw new Error(`the cases do not use '${msg.type}' messages yet`);
  }
}

for (const c of cases) {
  test(c.name, () => {
    const links = new FakeLinks(c.connections);
    c.steps.forEach((step, i) => {
      const where = `step ${i + 1} of ${c.name}`;
      if (step.state) {
        for (const [id, state] of Object.entries(step.state)) links.states.set(id, state);
      } else {
        const msg = parseServer(JSON.stringify({ ...defaults[step.in.type], ...step.in }));
        assert.ok(msg, `${where}: web/protocol.js refused ${JSON.stringify(step.in)}`);
        const actions = decide(msg, links);
        for (const a of actions) links.apply(a);
        assert.deepEqual(normalise(actions.map(spell)), step.out, `${where}: actions`);
      }
      if (step.connections) {
        assert.deepEqual(Object.fromEntries(links.states), step.connections, `${where}: connections`);
      }
    });
  });
}

test('the cases are there', () => {
  assert.ok(cases.length >= 10, `only ${cases.length} cases in ${casesPath}`);
});

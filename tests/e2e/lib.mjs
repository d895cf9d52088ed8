// SPDX-License-Identifier: MIT
// Shared e2e helpers: a real duet-server, Debian's headless Chromium (and Firefox ESR), and bounded waits on what the page shows.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let playwright;
try {
  playwright = await import('playwright-core');
} catch (err) {
  throw new Error(
    'playwright-core is not installed for the e2e tests.\n' +
      `Run \`npm ci --prefix tests/e2e\` from the repository root, then run the tests again.\n(${err.message})`,
  );
}
const { chromium } = playwright;

/** Debian's own Chromium; the tests never download a browser. */
export const CHROMIUM = process.env.DUET_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // libnice (duet-peer) cannot resolve mDNS .local candidates; keep plain host addresses.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

/** Debian's own Firefox ESR, driven by puppeteer-core over WebDriver BiDi; never downloaded. */
export const FIREFOX = process.env.DUET_FIREFOX || '/usr/bin/firefox-esr';

/** Firefox's counterpart of CHROMIUM_ARGS, written into a fresh profile's user.js. */
export const FIREFOX_PREFS = {
  // A fake camera (a moving picture) and microphone (a tone), granted without asking.
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // Host candidates as plain IP addresses, not mDNS .local names (libnice in duet-peer
  // cannot resolve those), and loopback addresses gathered where they are the only ones
  // (a network namespace with just `lo`); with another interface up, Firefox 153 still
  // offers only that interface's addresses, like Chromium.
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.peerconnection.ice.loopback': true,
  // Remote audio plays without a user gesture (Chromium: --autoplay-policy).
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'media.block-autoplay-until-in-foreground': false,
  // Several tabs share one window: keep the ones in the background running at full speed.
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
  'media.suspend-background-video.enabled': false,
  // Nothing to fetch from outside during a test.
  'media.gmp-manager.updateEnabled': false,
  'media.gmp-gmpopenh264.enabled': false,
};

/** Default bound for waits on the page; generous for a loaded 2-core machine. */
export const WAIT_MS = 20000;

/**
 * Starts duet-server on a free loopback port and waits for its `listening on` line.
 * @param {{args?: string[], timeoutMs?: number}} [opts]
 */
export async function startServer({ args = [], timeoutMs = 10000 } = {}) {
  const exe = process.env.DUET_SERVER
    ? path.resolve(repoRoot, process.env.DUET_SERVER)
    : path.join(repoRoot, 'build/signaling/duet-server');
  if (!fs.existsSync(exe)) {
    throw new Error(`duet-server not found at ${exe}: build it (ninja -C build) or set DUET_SERVER`);
  }
  const proc = spawn(exe, ['--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk) => {
    log += chunk;
    if (log.length > 200000) log = log.slice(-100000);
  };
  proc.stderr.on('data', keep);
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  let stopping = false;

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`duet-server did not print "listening on" within ${timeoutMs} ms\n${log}`));
    }, timeoutMs);
    // Keep reading stdout for the whole run so the pipe never fills up.
    createInterface({ input: proc.stdout }).on('line', (line) => {
      keep(`${line}\n`);
      const m = /^listening on (https?:\/\/[^\s/]+\/)$/.exec(line.trim());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`duet-server exited (${code ?? signal}) before listening\n${log}`));
    });
  });

  return {
    url,
    proc,
    get log() {
      return log;
    },
    /** Whether the server exited without being asked to (a crash is a bug worth reporting). */
    get crashed() {
      return !stopping && (proc.exitCode !== null || proc.signalCode !== null);
    },
    /** SIGKILL, as a crash would; a deliberate kill is not reported as a crash. */
    async kill() {
      stopping = true;
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGKILL');
      return exited;
    },
    async stop() {
      stopping = true;
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/**
 * Launches headless Chromium with a fresh profile.
 * @param {{fakeUi?: boolean, args?: string[]}} [opts] fakeUi=false leaves out the flag that
 *   auto-accepts camera prompts, so permissions decide.
 */
export async function launchBrowser({ fakeUi = true, args = [] } = {}) {
  const flags = CHROMIUM_ARGS.filter((a) => fakeUi || a !== '--use-fake-ui-for-media-stream');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...flags, ...args],
    timeout: 30000,
  });
}

/**
 * A server and a browser for one test, both stopped when the test ends.
 * @param {import('node:test').TestContext} t
 * @param {{serverArgs?: string[], fakeUi?: boolean, browserArgs?: string[], firefox?: boolean,
 *   firefoxPrefs?: object, chromium?: boolean}} [opts]
 *   firefox: also start Firefox now, beside Chromium (otherwise it starts at the first
 *   `open(where, {browser: 'firefox'})`); firefoxPrefs: prefs over FIREFOX_PREFS;
 *   chromium: false for a test with Firefox tabs only (env.browser is then null)
 */
export async function startEnv(
  t,
  { serverArgs = [], fakeUi = true, browserArgs = [], firefox = false, firefoxPrefs = {}, chromium = true } = {},
) {
  const server = await startServer({ args: serverArgs });
  let browser;
  /** @type {Promise<Firefox>|null} */
  let firefoxStarting = null;
  const startFirefox = () => {
    firefoxStarting ??= launchFirefox({ prefs: firefoxPrefs });
    return firefoxStarting;
  };
  try {
    if (firefox) startFirefox().catch(() => {}); // awaited (and its error thrown) below
    browser = chromium ? await launchBrowser({ fakeUi, args: browserArgs }) : null;
    if (firefox) await startFirefox();
  } catch (err) {
    await browser?.close().catch(() => {});
    if (firefoxStarting) await firefoxStarting.then((ff) => ff.close(), () => {});
    await server.stop();
    throw err;
  }
  const pages = [];
  t.after(async () => {
    await browser?.close().catch(() => {});
    if (firefoxStarting) await firefoxStarting.then((ff) => ff.close(), () => {});
    const crashed = server.crashed;
    await server.stop();
    if (crashed) throw new Error(`duet-server died during the test:\n${server.log}`);
    // Every story runs under the server's Content-Security-Policy: anything it blocked
    // is a part of the page that did not work.
    const blocked = pages.flatMap((p) => p.duetCspViolations.map((v) => `${p.duetName}: ${v}`));
    if (blocked.length) throw new Error(`the page broke its Content-Security-Policy:\n${blocked.join('\n')}`);
  });
  return {
    server,
    browser,
    url: server.url,
    pages,
    /**
     * Opens a tab in its own browser context (its own storage, like a separate person).
     * @param {string} [where] path and query, e.g. '/?room=x'
     * @param {{browser?: 'chromium'|'firefox', viewport?: {width: number, height: number},
     *   permissions?: string[], initScript?: Function|string|Array<Function|string>}} [opts]
     *   browser 'firefox' opens it in Firefox (camera and microphone always granted there)
     */
    async open(
      where = '/',
      { browser: which = 'chromium', viewport = { width: 800, height: 600 }, permissions = ['camera', 'microphone'], initScript } = {},
    ) {
      const scripts = [MEDIA_SAMPLER, recordHistory, ...[initScript ?? []].flat()];
      let page;
      if (which === 'firefox') {
        page = await (await startFirefox()).newPage({ viewport, initScripts: scripts });
        watch(page, `firefox${pages.length + 1}`);
      } else {
        if (!browser) throw new Error('this test started without Chromium (startEnv chromium: false)');
        const context = await browser.newContext({ viewport, permissions });
        for (const script of scripts) await context.addInitScript(typeof script === 'string' ? { content: script } : script);
        page = await context.newPage();
        watch(page, `tab${pages.length + 1}`);
      }
      pages.push(page);
      await page.goto(new URL(where, server.url).href);
      return page;
    },
  };
}

// ---- Firefox ----

let puppeteerModule;
async function puppeteer() {
  try {
    puppeteerModule ??= (await import('puppeteer-core')).default;
  } catch (err) {
    throw new Error(
      'puppeteer-core is not installed for the Firefox tests.\n' +
        `Run \`npm ci --prefix tests/e2e\` from the repository root, then run the tests again.\n(${err.message})`,
    );
  }
  return puppeteerModule;
}

/**
 * Launches headless Firefox ESR with a fresh profile (removed again by close()).
 * @param {{prefs?: object}} [opts] prefs over FIREFOX_PREFS
 * @returns {Promise<Firefox>}
 */
export async function launchFirefox({ prefs = {} } = {}) {
  if (!fs.existsSync(FIREFOX)) {
    throw new Error(`Firefox not found at ${FIREFOX}: install firefox-esr (scripts/setup.sh does) or set DUET_FIREFOX`);
  }
  const pptr = await puppeteer();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'duet-firefox-'));
  let browser;
  try {
    browser = await pptr.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: FIREFOX,
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: { ...FIREFOX_PREFS, ...prefs },
      timeout: 60000,
      // Its stderr is noise (GLib and graphics warnings); a failed wait shows the page's console.
      dumpio: !!process.env.DUET_E2E_VERBOSE,
    });
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return new Firefox(browser, profile);
}

class Firefox {
  constructor(browser, profile) {
    this.browser = browser;
    this.profile = profile;
  }

  /** A tab in a fresh user context (its own storage, like a separate person). */
  async newPage({ viewport, initScripts = [] }) {
    const context = await this.browser.createBrowserContext();
    const page = await context.newPage();
    if (viewport) await page.setViewport(viewport);
    for (const script of initScripts) {
      if (typeof script === 'function') await page.evaluateOnNewDocument(script);
      else await page.evaluateOnNewDocument(typeof script === 'string' ? script : script.content);
    }
    return new FirefoxPage(page);
  }

  async close() {
    await this.browser.close().catch(() => {});
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}

/**
 * A puppeteer Page dressed as the part of Playwright's Page that the helpers and tests
 * use, so every helper here works on Firefox tabs unchanged. Anything else is reachable
 * as `.puppeteer`.
 */
class FirefoxPage {
  browserName = 'firefox';

  constructor(page) {
    this.puppeteer = page;
  }

  goto(url) {
    return this.puppeteer.goto(url, { waitUntil: 'load' });
  }

  reload() {
    return this.puppeteer.reload({ waitUntil: 'load' });
  }

  url() {
    return this.puppeteer.url();
  }

  on(event, fn) {
    // Playwright's 'crash' is puppeteer's 'error'; 'console' and 'pageerror' match.
    this.puppeteer.on(event === 'crash' ? 'error' : event, fn);
    return this;
  }

  /** Playwright's order: (fn, arg). */
  evaluate(fn, arg) {
    return this.puppeteer.evaluate(fn, arg);
  }

  /** Playwright's (fn, arg, {timeout, polling}); polling in ms, never 'raf' (throttled in background tabs). */
  waitForFunction(fn, arg, { timeout = WAIT_MS, polling = 100 } = {}) {
    return this.puppeteer.waitForFunction(fn, { timeout, polling: polling === 'raf' ? 100 : polling }, arg);
  }

  getAttribute(selector, name) {
    return this.puppeteer.$eval(selector, (el, n) => el.getAttribute(n), name);
  }

  getByTestId(id) {
    return new FirefoxLocator(this.puppeteer, `[data-testid="${id}"]`);
  }

  locator(selector) {
    return new FirefoxLocator(this.puppeteer, selector);
  }

  get keyboard() {
    return this.puppeteer.keyboard;
  }

  screenshot(opts) {
    return this.puppeteer.screenshot(opts);
  }

  close() {
    return this.puppeteer.close();
  }
}

/** Playwright's Locator, the part the tests use: resolved afresh on each call. */
class FirefoxLocator {
  constructor(page, selector) {
    this.page = page;
    this.selector = selector;
  }

  async #element() {
    const el = await this.page.waitForSelector(this.selector, { timeout: 5000 });
    if (!el) throw new Error(`no element matches ${this.selector}`);
    return el;
  }

  async #on(fn, arg) {
    const el = await this.#element();
    try {
      return await el.evaluate(fn, arg);
    } finally {
      await el.dispose();
    }
  }

  /** @param {{state?: 'visible'|'hidden'|'attached', timeout?: number}} [opts] */
  async waitFor({ state = 'visible', timeout = WAIT_MS } = {}) {
    const el = await this.page.waitForSelector(this.selector, {
      visible: state === 'visible',
      hidden: state === 'hidden',
      timeout,
    });
    await el?.dispose();
  }

  async count() {
    const all = await this.page.$$(this.selector);
    await Promise.all(all.map((el) => el.dispose()));
    return all.length;
  }

  async isVisible() {
    const el = await this.page.$(this.selector);
    if (!el) return false;
    try {
      return await el.isVisible();
    } finally {
      await el.dispose();
    }
  }

  innerText() {
    return this.#on((el) => el.innerText);
  }

  inputValue() {
    return this.#on((el) => el.value);
  }

  getAttribute(name) {
    return this.#on((el, n) => el.getAttribute(n), name);
  }

  evaluate(fn, arg) {
    return this.#on(fn, arg);
  }

  /** Replaces the value as a user would: focus, select all, type. */
  async fill(value) {
    await this.#on((el) => {
      el.focus();
      el.select?.();
    });
    if (value === '') await this.page.keyboard.press('Backspace');
    else await this.page.keyboard.type(value);
  }

  async press(key) {
    await this.#on((el) => el.focus());
    await this.page.keyboard.press(key);
  }

  async click() {
    const el = await this.#element();
    try {
      await el.click();
    } finally {
      await el.dispose();
    }
  }
}

/** Keeps the page's console and errors, to explain a failed wait. */
function watch(page, name) {
  page.duetName = name;
  page.duetLog = [];
  page.duetCspViolations = [];
  const add = (line) => {
    page.duetLog.push(line);
    if (page.duetLog.length > 200) page.duetLog.shift();
    if (process.env.DUET_E2E_VERBOSE) console.log(`[${name}] ${line}`);
  };
  page.on('console', (msg) => {
    add(`console.${msg.type()}: ${msg.text()}`);
    // Chromium reports each blocked load or script as "Refused to ... Content Security Policy".
    if (/Content Security Policy/i.test(msg.text())) page.duetCspViolations.push(msg.text());
  });
  page.on('pageerror', (err) => {
    add(`pageerror: ${err.stack || err.message}`);
    // Firefox reports them as errors: "Content-Security-Policy: The page’s settings blocked ...".
    if (/^Content-Security-Policy:/.test(err.message)) page.duetCspViolations.push(err.message);
  });
  page.on('crash', () => add('page crashed'));
}

function explain(page) {
  return `\n--- ${page.duetName} console (last 30) ---\n${(page.duetLog ?? []).slice(-30).join('\n')}`;
}

/** Runs a Playwright wait and, if it times out, says what the page was doing. */
async function explained(page, what, fn) {
  try {
    return await fn();
  } catch (err) {
    let state = '?';
    try {
      state = await page.evaluate(() => {
        const s = document.querySelector('[data-testid=status]');
        return `${s?.dataset.state} "${s?.textContent.trim()}"`;
      });
    } catch {
      /* the page may be gone */
    }
    err.message = `${page.duetName ?? 'page'}: ${what} (status was ${state}): ${err.message}${explain(page)}`;
    throw err;
  }
}

/** Waits until the status line's data-state is `state` (or one of `state` if an array). */
export async function waitForState(page, state, timeout = WAIT_MS) {
  const wanted = Array.isArray(state) ? state : [state];
  await explained(page, `waiting for status ${wanted.join('|')}`, () =>
    page.waitForFunction(
      (w) => w.includes(document.querySelector('[data-testid=status]')?.dataset.state),
      wanted,
      { timeout },
    ),
  );
}

export function statusOf(page) {
  return page.getAttribute('[data-testid=status]', 'data-state');
}

/**
 * Waits until the room dialog is open with an error matching `pattern`, still asking
 * (status choosing-room); returns the error's text.
 */
export async function waitForRoomError(page, pattern) {
  await explained(page, `waiting for a room error matching ${pattern}`, () =>
    page.waitForFunction(
      (re) =>
        document.querySelector('[data-testid=room-dialog]').open &&
        new RegExp(re, 'i').test(document.querySelector('[data-testid=room-error]').textContent),
      pattern.source,
      { timeout: 5000 },
    ),
  );
  if ((await statusOf(page)) !== 'choosing-room') {
    throw new Error(`${page.duetName}: the dialog shows the error but the status is ${await statusOf(page)}`);
  }
  return page.getByTestId('room-error').innerText();
}

/** Types a room name into the dialog and presses Enter. */
export async function enterRoom(page, name) {
  const input = page.getByTestId('room-input');
  await explained(page, 'waiting for the room dialog', () =>
    page.getByTestId('room-dialog').waitFor({ state: 'visible', timeout: WAIT_MS }),
  );
  await input.fill(name);
  await input.press('Enter');
}

/** Opens a tab, lets it get media and joins `room`; resolves once it is in the room. */
export async function joinedTab(env, room, { expect = ['waiting', 'connecting', 'connected'], ...opts } = {}) {
  const page = await env.open('/', opts);
  await waitForState(page, 'choosing-room');
  await enterRoom(page, room);
  await waitForState(page, expect);
  return page;
}

/** Two tabs in one room, call connected on both sides. */
export async function connectedPair(env, room, opts = {}) {
  const a = await joinedTab(env, room, { expect: 'waiting', ...opts });
  const b = await joinedTab(env, room, { expect: ['connecting', 'connected'], ...opts });
  await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);
  return [a, b];
}

/** Receive-side numbers for every RTCPeerConnection of the page, by peer id. */
export function readMedia(page) {
  return page.evaluate(() => window.__duetCollectMedia());
}

// Runs in the page: every tab gets it as window.__duetCollectMedia (see `open`).
async function collectMedia() {
  const out = {};
  for (const [id, pc] of window.duet.pcs) {
    const report = await pc.getStats();
    const r = { connectionState: pc.connectionState, framesDecoded: 0, audioPackets: 0, audioSamples: 0 };
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') r.framesDecoded += s.framesDecoded ?? 0;
      if (s.kind === 'audio') {
        r.audioPackets += s.packetsReceived ?? 0;
        r.audioSamples += s.totalSamplesReceived ?? 0;
        r.audioEnergy = (r.audioEnergy ?? 0) + (s.totalAudioEnergy ?? 0);
      }
    });
    const tracks = pc.getReceivers().map((x) => x.track);
    r.audioTrack = tracks.find((t) => t.kind === 'audio')?.readyState ?? 'none';
    r.videoTrack = tracks.find((t) => t.kind === 'video')?.readyState ?? 'none';
    const video = document.querySelector(`[data-testid=remote-video][data-peer="${CSS.escape(id)}"]`);
    r.videoWidth = video?.videoWidth ?? 0;
    r.videoHasStream = !!video?.srcObject && video.srcObject.getTracks().some((t) => t.readyState === 'live');
    out[id] = r;
  }
  return out;
}

// Installed in every tab: on demand, samples the receive stats a few times a second into
// window.__duetMedia, so a plain (synchronous) waitForFunction can watch them.
const MEDIA_SAMPLER = `
window.__duetCollectMedia = ${collectMedia.toString()};
window.__duetStartSampler = () => {
  if (window.__duetSampler) return;
  const sample = async () => {
    try { window.__duetMedia = await window.__duetCollectMedia(); } catch (e) { window.__duetMediaError = String(e); }
  };
  window.__duetSampler = setInterval(sample, 200);
  return sample();
};`;

/**
 * Waits until the page sees and hears the peer `peerId` (or its only peer): video frames
 * decoded and still increasing, audio packets arriving on a live track, and the remote
 * <video> showing a picture.
 * @returns {Promise<object>} the last stats read
 */
export async function expectSeesAndHears(page, peerId, timeout = WAIT_MS) {
  const ready = async (minFrames, minPackets) =>
    explained(page, `waiting for media from ${peerId ?? 'the peer'} (frames>${minFrames}, packets>${minPackets})`, async () => {
      await page.evaluate(() => window.__duetStartSampler());
      const handle = await page.waitForFunction(
        ({ id, minFrames, minPackets }) => {
          const all = window.__duetMedia ?? {};
          const ids = Object.keys(all);
          const r = all[id ?? ids[0]];
          if (!r) return false;
          const ok =
            r.framesDecoded > minFrames &&
            r.audioPackets > minPackets &&
            r.audioTrack === 'live' &&
            r.videoTrack === 'live' &&
            r.videoWidth > 0 &&
            r.videoHasStream;
          return ok ? r : false;
        },
        { id: peerId ?? null, minFrames, minPackets },
        { timeout, polling: 250 },
      );
      return handle.jsonValue();
    });
  const first = await ready(0, 0);
  return ready(first.framesDecoded + 5, first.audioPackets);
}

/**
 * The video codec each way on the page's link to `peerId`, from getStats: the codec report
 * of the inbound and the outbound video RTP stream (mimeType and fmtp), with the frame
 * counts and, where the browser tells, the encoder and decoder behind them.
 */
export function videoCodecs(page, peerId) {
  return page.evaluate(async (id) => {
    const pc = window.duet.pcs.get(id);
    if (!pc) return null;
    const stats = await pc.getStats();
    const out = { inbound: null, outbound: null };
    stats.forEach((s) => {
      if (s.kind !== 'video' || (s.type !== 'inbound-rtp' && s.type !== 'outbound-rtp')) return;
      const codec = stats.get(s.codecId);
      const side = s.type === 'inbound-rtp' ? 'inbound' : 'outbound';
      out[side] = {
        mimeType: codec?.mimeType ?? null,
        fmtp: codec?.sdpFmtpLine ?? null,
        frames: (side === 'inbound' ? s.framesDecoded : s.framesEncoded) ?? 0,
        implementation: (side === 'inbound' ? s.decoderImplementation : s.encoderImplementation) ?? null,
      };
    });
    return out;
  }, peerId);
}

/** Peer id as the page knows itself. */
export function peerIdOf(page) {
  return page.evaluate(() => window.duet.peerId);
}

/** Ids the page has RTCPeerConnections with. */
export function linkedPeers(page) {
  return page.evaluate(() => [...window.duet.pcs.keys()]);
}

/**
 * Records every frame the page's WebSockets receive and send (installed as an init script,
 * so it sees frames from page load on). Read them back with `receivedFrames`/`sentFrames`.
 */
export function recordSocketFrames() {
  const NativeWebSocket = window.WebSocket;
  const parse = (data) => {
    try {
      return JSON.parse(data);
    } catch {
      return { unparsable: String(data) };
    }
  };
  window.__duetFrames = [];
  window.__duetSent = [];
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => window.__duetFrames.push(parse(e.data)));
    }

    send(data) {
      window.__duetSent.push(parse(data));
      return super.send(data);
    }
  };
}

export function sentFrames(page) {
  return page.evaluate(() => window.__duetSent ?? []);
}

export function receivedFrames(page) {
  return page.evaluate(() => window.__duetFrames ?? []);
}

// Installed in every tab: remembers each status state and each notice, so a test can check
// a short-lived state (a peer dropping and coming back within a second) after the fact.
function recordHistory() {
  window.__duetStates = [];
  window.__duetNotices = [];
  const start = () => {
    const status = document.querySelector('[data-testid=status]');
    const toasts = document.getElementById('toasts');
    if (!status || !toasts) return;
    window.__duetStates.push(status.dataset.state);
    new MutationObserver(() => {
      const s = status.dataset.state;
      if (window.__duetStates.at(-1) !== s) window.__duetStates.push(s);
    }).observe(status, { attributes: true, attributeFilter: ['data-state'] });
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) window.__duetNotices.push(n.textContent);
    }).observe(toasts, { childList: true });
  };
  document.addEventListener('DOMContentLoaded', start, { once: true });
}

/** Every status state the page has shown since it loaded, in order (repeats collapsed). */
export function stateHistory(page) {
  return page.evaluate(() => window.__duetStates);
}

/** Every notice the page has shown since it loaded. */
export function noticeHistory(page) {
  return page.evaluate(() => window.__duetNotices);
}

/** Waits until the page has shown `state` at some point after index `from` of its history. */
export async function waitForStateSeen(page, state, from = 0, timeout = WAIT_MS) {
  await explained(page, `waiting to see status ${state}`, () =>
    page.waitForFunction(({ s, from }) => window.__duetStates.indexOf(s, from) >= 0, { s: state, from }, { timeout }),
  );
}

/**
 * Waits until the remote picture is dark (`dark: true`, e.g. the other camera is off and
 * sends black frames) or not, by averaging the pixels of the current remote video frame.
 */
export async function waitForRemotePicture(page, { dark }, timeout = WAIT_MS) {
  await explained(page, `waiting for a ${dark ? 'black' : 'visible'} remote picture`, () =>
    page.waitForFunction(
      (wantDark) => {
        const video = document.querySelector('[data-testid=remote-video]');
        if (!video || video.videoWidth === 0) return false;
        const canvas = document.createElement('canvas');
        canvas.width = 64;
        canvas.height = 48;
        const ctx = canvas.getContext('2d', { willReadFrequently: true });
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let sum = 0;
        for (let i = 0; i < px.length; i += 4) sum += px[i] + px[i + 1] + px[i + 2];
        const mean = sum / (px.length / 4) / 3;
        return wantDark ? mean < 8 : mean > 30;
      },
      dark,
      { timeout, polling: 200 },
    ),
  );
}

/**
 * Waits until `page` has received `seconds` more audio from `peerId` and returns the audio
 * energy received in that stretch (0 for silence, e.g. while the other side is muted).
 */
export async function audioEnergyOver(page, peerId, seconds = 1.5, timeout = WAIT_MS) {
  await page.evaluate(() => window.__duetStartSampler());
  const start = await page.waitForFunction((id) => window.__duetMedia?.[id], peerId, { timeout });
  const before = await start.jsonValue();
  const after = await explained(page, `waiting for ${seconds}s of audio`, async () =>
    (
      await page.waitForFunction(
        ({ id, samples }) => {
          const r = window.__duetMedia?.[id];
          return r && r.audioSamples >= samples ? r : false;
        },
        { id: peerId, samples: before.audioSamples + seconds * 48000 },
        { timeout, polling: 200 },
      )
    ).jsonValue(),
  );
  return after.audioEnergy - before.audioEnergy;
}

// SPDX-License-Identifier: MIT
// Cluster harness: a throwaway redis-server, several duet-server instances sharing it
// (--redis), and Debian's nginx in front of them, run from docs/nginx-duet.conf. Every
// process is killed when the test ends, passed or not, and when node itself exits.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { readMedia, repoRoot, startServer } from '../e2e/lib.mjs';

export const NGINX = process.env.DUET_NGINX || '/usr/sbin/nginx';
export const REDIS_SERVER = process.env.DUET_REDIS_SERVER || '/usr/bin/redis-server';
/** The balancer config that docs/DEPLOYING.md shows; the tests run this file. */
export const NGINX_SNIPPET = path.join(repoRoot, 'docs', 'nginx-duet.conf');

// Children still running when node exits (a failed assertion, a crash) are killed here.
// nginx gets SIGTERM: its master then stops its workers, which SIGKILL would orphan.
const children = new Map();
process.on('exit', () => {
  for (const [proc, signal] of children) if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
});
function track(proc, signal = 'SIGKILL') {
  children.set(proc, signal);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` (async, truthy when done) every `everyMs` until `timeoutMs`; throws `what`. */
export async function pollUntil(what, check, { timeoutMs = 10000, everyMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The ACL user docs/DEPLOYING.md gives duet (its `user duet ...` line, with `PASSWORD`
 * replaced); startRedis({password}) runs Redis with it and the default user off.
 */
export const REDIS_ACL = 'on >PASSWORD ~duet:* &duet:* +@read +@write +@scripting +@pubsub +@connection +time -@admin -@dangerous';

/**
 * One PING over a fresh connection (after AUTH as `duet` with `password`): resolves true
 * on +PONG, false otherwise.
 */
export function redisPing(port, password = null) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    const replies = password ? 2 : 1;
    sock.on('connect', () => sock.write(`${password ? `AUTH duet ${password}\r\n` : ''}PING\r\n`));
    sock.on('data', (d) => {
      got += d;
      const lines = got.split('\r\n');
      if (lines.length > replies) done(lines[replies - 1] === '+PONG');
    });
  });
}

/**
 * A throwaway redis-server on a loopback port: nothing saved, nothing appended, so a
 * restart on the same port comes back empty, as a real one that lost its data would.
 * With `password`, only the ACL user `duet` of docs/DEPLOYING.md may log in.
 */
export async function startRedis({ port, password = null } = {}) {
  if (!fs.existsSync(REDIS_SERVER)) throw new Error(`redis-server not found at ${REDIS_SERVER}: apt install redis-server (scripts/setup.sh does)`);
  port ??= await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duet-redis-'));
  let proc;
  let log = '';
  const launch = async () => {
    proc = track(
      spawn(
        REDIS_SERVER,
        [
          '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir,
          '--protected-mode', 'yes',
          ...(password ? ['--user', 'default', 'off', '--user', 'duet', ...REDIS_ACL.replace('PASSWORD', password).split(' ')] : []),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    const keep = (d) => {
      log = (log + d).slice(-20000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    const p = proc;
    await pollUntil(`redis-server on port ${port} answering PING`, async () => {
      if (p.exitCode !== null) throw new Error(`redis-server exited ${p.exitCode}\n${log}`);
      return redisPing(port, password);
    });
  };
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  const kill = async (signal = 'SIGKILL') => {
    if (exited()) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    await gone;
  };
  await launch();
  return {
    port,
    url: password ? `redis://duet:${password}@127.0.0.1:${port}/0` : `redis://127.0.0.1:${port}`,
    get log() {
      return log;
    },
    /** SIGKILL, as a crash or an OOM kill would. */
    kill,
    /** Starts it again on the same port, empty. */
    restart: launch,
    async stop() {
      await kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * GET `url` (bounded); resolves {status, text}. https certificates are not checked: the
 * tests make throwaway self-signed ones. No keep-alive, so nothing outlives the call.
 */
export function httpGet(url, timeoutMs = 3000) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(u, { agent: false, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The samples of a Prometheus text page as a map, e.g. m.get('duet_peers'). */
export async function metrics(httpUrl) {
  const { status, text } = await httpGet(new URL('metrics', httpUrl).href);
  if (status !== 200) throw new Error(`/metrics answered ${status}`);
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Waits until GET /healthz answers `status` (200: ready; 503: Redis unreachable). */
export async function waitHealth(httpUrl, status = 200, timeoutMs = 10000) {
  let last = null;
  await pollUntil(
    `${httpUrl}healthz answering ${status}`,
    async () => {
      last = await httpGet(new URL('healthz', httpUrl).href, 1000);
      return last.status === status;
    },
    { timeoutMs },
  ).catch((err) => {
    err.message += last ? ` (last: ${last.status} ${JSON.stringify(last.text)})` : '';
    throw err;
  });
}

/**
 * One duet-server instance. With `redis` (a URL) it shares rooms through it; ready when it
 * printed its URL and /healthz answers 200. `instanceId` is the id it logged.
 */
export async function startInstance({ redis = null, args = [] } = {}) {
  const server = await startServer({ args: [...(redis ? ['--redis', redis] : []), ...args] });
  track(server.proc);
  try {
    await waitHealth(server.url);
  } catch (err) {
    await server.kill();
    err.message += `\n${server.log}`;
    throw err;
  }
  if (redis) server.instanceId = /redis: instance ([0-9a-f]{12})/.exec(server.log)?.[1] ?? null;
  return server;
}

/**
 * docs/nginx-duet.conf with its `listen` and upstream `server` lines pointed at this run's
 * ports. Throws if the file no longer has the lines the tests rely on.
 */
export function nginxSnippet(listenPort, upstreamUrls, tls = null) {
  const text = fs.readFileSync(NGINX_SNIPPET, 'utf8');
  const block = /(upstream duet \{\n)([\s\S]*?)(\n\})/.exec(text);
  if (!block) throw new Error(`${NGINX_SNIPPET}: no "upstream duet {" block`);
  const serverLines = block[2].split('\n').filter((l) => /^\s*server\s/.test(l));
  if (serverLines.length === 0) throw new Error(`${NGINX_SNIPPET}: the upstream has no server lines`);
  // Each instance gets the parameters of the file's first server line (max_fails...).
  const [, indent, params] = /^(\s*)server\s+\S+(.*);\s*$/.exec(serverLines[0]);
  const servers = upstreamUrls.map((u) => `${indent}server ${new URL(u).host}${params};`);
  let upstream = block[2]
    .split('\n')
    .filter((l) => !/^\s*server\s/.test(l))
    .join('\n');
  upstream += `\n${servers.join('\n')}`;
  let out = text.replace(block[0], `${block[1]}${upstream}${block[3]}`);
  const listens = out.match(/^\s*listen\s+[^;]+;/gm) ?? [];
  if (listens.length !== 1) throw new Error(`${NGINX_SNIPPET}: expected one listen line, found ${listens.length}`);
  // TLS at the balancer, as DEPLOYING.md says: `listen ... ssl` and the two files.
  const listen = tls
    ? `listen 127.0.0.1:${listenPort} ssl;\n$1ssl_certificate ${tls.cert};\n$1ssl_certificate_key ${tls.key};`
    : `listen 127.0.0.1:${listenPort};`;
  out = out.replace(/^(\s*)listen\s+[^;]+;/m, `$1${listen}`);
  return out;
}

/**
 * Debian's nginx in front of `upstreamUrls`, as a foreground process with everything
 * (config, pid, temp files) in a fresh directory; ready when GET /healthz through it is
 * 200. Its error log (stderr) is kept for failure messages. `port`: listen there (else a
 * free one); `tls`: {cert, key} PEM files, to serve https.
 */
export async function startNginx(upstreamUrls, { port = null, tls = null } = {}) {
  if (!fs.existsSync(NGINX)) throw new Error(`nginx not found at ${NGINX}: apt install nginx (scripts/setup.sh does)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duet-nginx-'));
  // Run as root, nginx's workers drop to `nobody`: they must reach the temp directories.
  fs.chmodSync(dir, 0o755);
  port ??= await freePort();
  fs.writeFileSync(path.join(dir, 'duet.conf'), nginxSnippet(port, upstreamUrls, tls));
  const tmp = (name) => `${name}_temp_path ${path.join(dir, 'tmp', name)};`;
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    [
      'worker_processes 1;',
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      `  ${tmp('client_body')} ${tmp('proxy')} ${tmp('fastcgi')} ${tmp('uwsgi')} ${tmp('scgi')}`,
      `  include ${path.join(dir, 'duet.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  fs.mkdirSync(path.join(dir, 'tmp'));
  fs.mkdirSync(path.join(dir, 'logs'));
  const proc = track(
    spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', `daemon off; pid ${path.join(dir, 'nginx.pid')}; error_log stderr;`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    'SIGTERM',
  );
  let log = '';
  const keep = (d) => {
    log = (log + d).slice(-50000);
  };
  proc.stdout.on('data', keep);
  createInterface({ input: proc.stderr }).on('line', (l) => {
    keep(`${l}\n`);
    if (process.env.DUET_E2E_VERBOSE) console.log(`[nginx] ${l}`);
  });
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/`;
  // Its stdout and stderr close only when the worker has gone too.
  const closed = Promise.all([proc.stdout, proc.stderr].map((s) => new Promise((r) => s.once('close', r))));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      // SIGTERM: the master stops its worker and exits (SIGKILL would leave the worker).
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await closed;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await pollUntil('nginx serving /healthz', async () => {
      if (proc.exitCode !== null) throw new Error(`nginx exited ${proc.exitCode}`);
      return (await httpGet(`${url}healthz`, 1000)).status === 200;
    });
  } catch (err) {
    await stop();
    err.message += `\n--- nginx ---\n${log}`;
    throw err;
  }
  return {
    url,
    port,
    dir,
    get log() {
      return log;
    },
    stop,
  };
}

/**
 * A Redis (unless `redis: false`; with `redisPassword`, as the ACL user of DEPLOYING.md),
 * `instances` duet-servers on it, and nginx in front (with `balancer: true`). Everything stops when the test ends; an instance that died without
 * being killed fails the test, with its log.
 * @param {import('node:test').TestContext} t
 */
export async function startCluster(t, { instances = 3, serverArgs = [], redis = true, redisPassword = null, balancer = false } = {}) {
  const cluster = { redis: null, servers: [], balancer: null };
  t.after(async () => {
    const crashed = cluster.servers.filter((s) => s.crashed);
    await cluster.balancer?.stop();
    await Promise.all(cluster.servers.map((s) => s.stop()));
    await cluster.redis?.stop();
    if (crashed.length) throw new Error(`duet-server died during the test:\n${crashed.map((s) => s.log).join('\n---\n')}`);
  });
  if (redis) cluster.redis = await startRedis({ password: redisPassword });
  for (let i = 0; i < instances; i++) {
    cluster.servers.push(await startInstance({ redis: cluster.redis?.url ?? null, args: serverArgs }));
  }
  if (balancer) cluster.balancer = await startNginx(cluster.servers.map((s) => s.url));
  return cluster;
}

/** Which of `servers` holds how many members now, from each one's /metrics duet_peers. */
export async function peersPerInstance(servers) {
  return Promise.all(servers.map(async (s) => (s.crashed || s.proc.signalCode ? null : (await metrics(s.url)).get('duet_peers'))));
}

/**
 * A bare WebSocket client of the room protocol (node's WebSocket: run node with
 * --experimental-websocket). `next(type)` resolves with the next message of that type
 * (skipping others), or rejects after `timeoutMs`.
 */
export async function wsClient(httpUrl, { timeoutMs = 5000 } = {}) {
  if (typeof WebSocket !== 'function') throw new Error('run node with --experimental-websocket');
  const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}ws`);
  const inbox = [];
  const waiters = new Set();
  let closed = null;
  ws.addEventListener('message', (e) => {
    inbox.push(JSON.parse(e.data));
    for (const w of waiters) w();
  });
  ws.addEventListener('close', (e) => {
    closed = { code: e.code, reason: e.reason };
    for (const w of waiters) w();
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no WebSocket to ${httpUrl} within ${timeoutMs} ms`)), timeoutMs);
    ws.addEventListener('open', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.addEventListener('error', () => {
      clearTimeout(timer);
      reject(new Error(`WebSocket to ${httpUrl} failed`));
    });
  });
  return {
    inbox,
    get closed() {
      return closed;
    },
    send(msg) {
      ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
    },
    join(room, extra = {}) {
      ws.send(JSON.stringify({ type: 'join', room, ...extra }));
    },
    /** The next message whose type is one of `types` (a string or an array). */
    next(types, wait = timeoutMs) {
      const wanted = [types].flat();
      return new Promise((resolve, reject) => {
        const check = () => {
          const i = inbox.findIndex((m) => wanted.includes(m.type));
          if (i >= 0) {
            cleanup();
            resolve(inbox.splice(i, 1)[0]);
          } else if (closed) {
            cleanup();
            reject(new Error(`socket closed (${closed.code}) while waiting for ${wanted.join('|')}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${wanted.join('|')} within ${wait} ms; inbox ${JSON.stringify(inbox)}`));
        }, wait);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      ws.close();
    },
  };
}

/**
 * The e2e env's `open`, but for pages served by `server` (an instance or the balancer):
 * pass it where the e2e helpers take an env (joinedTab, connectedPair).
 */
export function at(env, server) {
  return { open: (where = '/', opts) => env.open(new URL(where, server.url).href, opts) };
}

/**
 * Watches media while a test does other things: once a second it reads each page's
 * frames decoded from its peer, on the RTCPeerConnection the page had when watching began.
 * `stop()` (after at least 3 s) then requires progress in every sample (the rule of
 * tests/peer-browser/server-killed.test.mjs: no stall of a second) and resolves with the
 * frame counts per link.
 * @param {Array<{page: object, peer: string}>} links
 */
export async function watchMedia(links) {
  for (const { page, peer } of links) {
    await page.evaluate((id) => {
      window.__pcWatched = window.duet.pcs.get(id);
    }, peer);
  }
  const samples = links.map(() => []);
  let running = true;
  const loop = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, 1000));
      for (const [i, { page, peer }] of links.entries()) {
        const media = (await readMedia(page))[peer];
        const samePc = await page.evaluate((id) => window.duet.pcs.get(id) === window.__pcWatched, peer);
        assert.ok(media && samePc, `${page.duetName} lost its RTCPeerConnection to ${peer}`);
        samples[i].push(media.framesDecoded);
      }
    }
  })();
  loop.catch(() => {}); // reported by stop()
  const started = Date.now();
  return {
    samples,
    /** Stops watching, but not before `minMs` of watching. */
    async stop(minMs = 3000) {
      const left = started + minMs - Date.now();
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      running = false;
      await loop;
      for (const [i, s] of samples.entries()) {
        assert.ok(s.length >= 2, `too few samples: ${JSON.stringify(s)}`);
        for (let k = 1; k < s.length; k++) {
          assert.ok(s[k] > s[k - 1], `${links[i].page.duetName}: video from ${links[i].peer} stalled: ${JSON.stringify(s)}`);
        }
      }
      return samples;
    },
  };
}

/** A throwaway self-signed certificate for 127.0.0.1 in `dir`: {cert, key} paths. */
export function selfSignedCert(dir) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 },
  );
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { cert, key };
}

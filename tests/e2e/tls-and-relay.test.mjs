// SPDX-License-Identifier: MIT
// Deployment paths in a real browser: a call over https/wss, and a relay-only call through
// a coturn server checking duet-server's TURN REST credentials.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { connectedPair, expectSeesAndHears, peerIdOf, startEnv } from './lib.mjs';

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duet-e2e-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts coturn on loopback with the TURN REST API secret; resolves once it listens. */
async function startTurn(t, secret) {
  const port = await freePort();
  // Relay ports in a range of their own, away from other tests' servers.
  const minPort = 42000 + Math.floor(Math.random() * 200) * 100;
  const dir = tempDir(t);
  const proc = spawn('turnserver', [
    '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`,
    `--min-port=${minPort}`, `--max-port=${minPort + 99}`, '--use-auth-secret',
    `--static-auth-secret=${secret}`, '--realm=duet.test',
    // The test's peers live on loopback; production configs deny it (docs/DEPLOYING.md).
    '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls', '--log-file=stdout',
    '--simple-log', '--verbose', `--userdb=${path.join(dir, 'turndb')}`, `--pidfile=${path.join(dir, 'pid')}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  t.after(() => proc.kill('SIGKILL'));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`turnserver did not start:\n${log.join('\n')}`)), 10000);
    proc.once('error', (e) => { clearTimeout(timer); reject(e); });
    createInterface({ input: proc.stdout }).on('line', (line) => {
      log.push(line);
      if (/Total General servers/.test(line)) { clearTimeout(timer); resolve(); }
    });
  });
  return { port, log };
}

/** The local and remote candidate types of each connection's selected pair. */
function selectedPairs(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const pc of window.duet.pcs.values()) {
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
        const pair = stats.get(s.selectedCandidatePairId);
        out.push({
          local: stats.get(pair.localCandidateId)?.candidateType,
          remote: stats.get(pair.remoteCandidateId)?.candidateType,
        });
      });
    }
    return out;
  });
}

test('a call over https and wss', async (t) => {
  const dir = tempDir(t);
  const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const env = await startEnv(t, {
    serverArgs: ['--tls-cert', cert, '--tls-key', key],
    // The certificate is made for this test; a real deployment uses a trusted one.
    browserArgs: ['--ignore-certificate-errors'],
  });
  assert.match(env.url, /^https:\/\//);
  const [a, b] = await connectedPair(env, 'secure');
  assert.equal(await a.evaluate(() => window.isSecureContext), true);
  assert.match(await a.evaluate(() => window.duet.ws.url), /^wss:\/\//);
  await Promise.all([expectSeesAndHears(a, await peerIdOf(b)), expectSeesAndHears(b, await peerIdOf(a))]);
});

test('a relay-only call through coturn with TURN REST credentials', async (t) => {
  const secret = `secret-${process.pid}`;
  const turn = await startTurn(t, secret);
  const dir = tempDir(t);
  const secretFile = path.join(dir, 'turn-secret');
  fs.writeFileSync(secretFile, `${secret}\n`);
  const env = await startEnv(t, {
    serverArgs: ['--turn-uri', `turn:127.0.0.1:${turn.port}?transport=udp`, '--turn-secret-file', secretFile],
  });
  const open = async (expect) => {
    const page = await env.open('/?room=relayed&relay=1');
    await page.waitForFunction((s) => s.includes(document.querySelector('[data-testid=status]')?.dataset.state), expect);
    return page;
  };
  const a = await open(['waiting']);
  const b = await open(['connecting', 'connected']);
  await Promise.all([expectSeesAndHears(a, await peerIdOf(b)), expectSeesAndHears(b, await peerIdOf(a))]);
  // Media went through the relay: both ends of each selected pair are relay candidates.
  for (const page of [a, b]) {
    const pairs = await selectedPairs(page);
    assert.ok(pairs.length > 0, 'a selected candidate pair');
    for (const p of pairs) assert.deepEqual(p, { local: 'relay', remote: 'relay' });
  }
  assert.ok(turn.log.some((l) => /ALLOCATE.*success/i.test(l) || /allocation.*created|session .* new/i.test(l)),
    `coturn logged an allocation:\n${turn.log.slice(-20).join('\n')}`);
});

#!/usr/bin/env node
// Runs a Dockerfile's steps without a Docker engine, so CI can check more than syntax: each
// stage's COPY and RUN steps are carried out in a temporary folder with the host's Node (the
// same major as the image's base), `COPY --from` copies between those folders, and finally the
// ENTRYPOINT is started and, if the image declares a HEALTHCHECK, probed until it passes.
// It understands the instructions our Dockerfiles use and fails on any other.
//
//   node deploy/dry-build.mjs deploy/Dockerfile [--env KEY=VALUE ...]
import { execSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: node deploy/dry-build.mjs <Dockerfile> [--env KEY=VALUE ...]');
  process.exit(2);
}
const extraEnv = {};
for (let i = 0; i < rest.length; i += 2) {
  if (rest[i] !== '--env' || !rest[i + 1]?.includes('=')) {
    console.error(`unexpected argument ${rest[i]}`);
    process.exit(2);
  }
  const [k, ...v] = rest[i + 1].split('=');
  extraEnv[k] = v.join('=');
}

const context = process.cwd();
void resolve;
const text = readFileSync(file, 'utf8').replace(/\\\n/g, ' ');
const lines = text.split('\n').filter((l) => l.trim() && !l.trimStart().startsWith('#'));
const work = mkdtempSync(join(tmpdir(), 'dry-build-'));
const stages = new Map();
let stage;
let entrypoint;
let healthcheck;
const env = { ...process.env };

function copy(from, sources, dest) {
  const target = dest.startsWith('/') ? join(stage.root, dest) : join(stage.cwd, dest);
  for (const source of sources) {
    const src = join(from, source);
    if (!existsSync(src)) throw new Error(`COPY ${source}: not found`);
    const to =
      dest.endsWith('/') || sources.length > 1 ? join(target, source.split('/').pop()) : target;
    mkdirSync(dirname(to), { recursive: true });
    cpSync(src, to, { recursive: true, verbatimSymlinks: true });
  }
}

for (const line of lines) {
  const [op, ...args] = line.trim().split(/\s+/);
  const argText = line.trim().slice(op.length).trim();
  console.log(`dry-build: ${op} ${argText}`);
  switch (op) {
    case 'FROM': {
      const name = args[2] ?? `stage${stages.size}`;
      const root = join(work, name);
      mkdirSync(root, { recursive: true });
      stage = { root, cwd: root };
      stages.set(name, stage);
      break;
    }
    case 'WORKDIR':
      stage.cwd = join(stage.root, argText);
      mkdirSync(stage.cwd, { recursive: true });
      break;
    case 'ENV': {
      const [k, ...v] = argText.split('=');
      env[k] = v.join('=');
      break;
    }
    case 'COPY': {
      const fromStage = args[0].startsWith('--from=')
        ? stages.get(args.shift().slice(7))
        : undefined;
      const dest = args.pop();
      const base = fromStage ? fromStage.root : context;
      const sources = fromStage ? args.map((a) => a.replace(/^\//, '')) : args;
      if (fromStage) {
        // Paths in the other stage are relative to its root; our stages keep WORKDIR /app.
        copy(
          base,
          sources.map((s) => (s.startsWith('app/') ? s : join('app', s))),
          dest,
        );
      } else {
        copy(base, sources, dest);
      }
      break;
    }
    case 'RUN':
      execSync(argText, { cwd: stage.cwd, stdio: 'inherit', env });
      break;
    case 'ENTRYPOINT':
      entrypoint = JSON.parse(argText);
      break;
    case 'HEALTHCHECK':
      healthcheck = JSON.parse(argText.slice(argText.indexOf('CMD') + 3).trim());
      break;
    case 'USER':
    case 'EXPOSE':
      break;
    default:
      throw new Error(`dry-build does not understand ${op}`);
  }
}

if (!entrypoint) throw new Error('no ENTRYPOINT');
console.log(`dry-build: starting ${entrypoint.join(' ')}`);
const child = spawn(entrypoint[0], entrypoint.slice(1), {
  cwd: stage.cwd,
  env: { ...env, ...extraEnv },
  stdio: ['ignore', 'inherit', 'inherit'],
});
let ok = !healthcheck;
if (healthcheck) {
  for (let i = 0; i < 50 && !ok; i++) {
    await new Promise((r) => setTimeout(r, 200));
    try {
      execSync(healthcheck.map((a) => JSON.stringify(a)).join(' '), {
        cwd: stage.cwd,
        stdio: 'ignore',
      });
      ok = true;
    } catch {}
  }
} else {
  const code = await new Promise((r) => child.on('exit', r));
  ok = code === 0;
}
child.kill('SIGTERM');
await new Promise((r) => (child.exitCode === null ? child.on('exit', r) : r()));
rmSync(work, { recursive: true, force: true });
console.log(
  ok ? `dry-build: ${file} built and passed its check` : `dry-build: ${file} FAILED its check`,
);
process.exit(ok ? 0 : 1);

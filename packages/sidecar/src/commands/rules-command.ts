/**
 * `switchyard rules`: the running sidecar's rules, through its rules API.
 *
 *   switchyard rules [--url URL] [--token TOKEN] [--json]        list rules, pins, task stats
 *   switchyard rules history [--limit N] [--json]                 changes, newest first
 *   switchyard rules pin [--agent A] [--task T] [--model M] [--note TEXT]
 *   switchyard rules unpin ID
 *   switchyard rules dry-run on|off
 *
 * `--url` defaults to $SWITCHYARD_URL, else http://127.0.0.1:8080; `--token` to
 * $SWITCHYARD_ADMIN_TOKEN. Exit codes: 0 ok, 1 the sidecar answered an error or was unreachable,
 * 2 bad usage.
 */
import type { RulesListing } from '../admin/rules-api.js';
import { formatColumns, formatRulesTable } from '../admin/rules-table.js';
import type { RuleChange } from '../routing/rule.js';

export interface RulesCommandIo {
  readonly fetch: typeof fetch;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly now: () => number;
}

const HELP = `Usage: switchyard rules [command] [options]

Commands:
  (none)                 list rules with their evidence, pins and per-task statistics
  history                list rule changes, newest first (--limit N, default 50)
  pin                    pin traffic to the model it asks for (--agent, --task, --model, --note)
  unpin <id>             remove a pin
  dry-run on|off         learn and report without applying learned rules, or apply them again

Options:
  --url <url>            the sidecar (default $SWITCHYARD_URL or http://127.0.0.1:8080)
  --token <token>        admin token (default $SWITCHYARD_ADMIN_TOKEN)
  --json                 print the API's JSON instead of a table
  -h, --help             this help
`;

class UsageError extends Error {}

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(['url', 'token', 'agent', 'task', 'model', 'note', 'limit']);
const BOOL_FLAGS = new Set(['json', 'help']);

function parse(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h') {
      flags.set('help', true);
      continue;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
    if (BOOL_FLAGS.has(name)) {
      flags.set(name, true);
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new UsageError(`unknown option --${name}`);
    const value = eq === -1 ? argv[++i] : a.slice(eq + 1);
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
    flags.set(name, value);
  }
  return { positional, flags };
}

/** The command with injected I/O; `run` wires it to the process. */
export async function runRulesCommand(
  argv: readonly string[],
  io: RulesCommandIo,
): Promise<number> {
  let p: Parsed;
  try {
    p = parse(argv);
  } catch (err) {
    io.stderr(`switchyard rules: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (p.flags.has('help')) {
    io.stdout(HELP);
    return 0;
  }
  const flag = (n: string) => {
    const v = p.flags.get(n);
    return typeof v === 'string' ? v : undefined;
  };
  const base = (flag('url') ?? io.env.SWITCHYARD_URL ?? 'http://127.0.0.1:8080').replace(
    /\/+$/,
    '',
  );
  try {
    new URL(base);
  } catch {
    io.stderr(`switchyard rules: --url ${base} is not a URL (e.g. http://127.0.0.1:8080)\n`);
    return 2;
  }
  const token = flag('token') ?? io.env.SWITCHYARD_ADMIN_TOKEN;
  const json = p.flags.has('json');

  async function call(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await io.fetch(`${base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new Error(
        `cannot reach the sidecar at ${base} (${(err as Error).message}); is it running? (--url)`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const message =
        (parsed as { error?: { message?: string } } | undefined)?.error?.message ??
        text.slice(0, 200);
      const hint = res.status === 401 ? ' (pass --token or set SWITCHYARD_ADMIN_TOKEN)' : '';
      throw new Error(`${method} ${path}: ${res.status} ${message}${hint}`);
    }
    return parsed;
  }

  const [command, ...rest] = p.positional;
  try {
    switch (command) {
      case undefined: {
        const listing = (await call('GET', '/switchyard/rules')) as RulesListing;
        io.stdout(
          json ? `${JSON.stringify(listing, null, 2)}\n` : formatRulesTable(listing, io.now()),
        );
        return 0;
      }
      case 'history': {
        const limit = flag('limit') ?? '50';
        const { history } = (await call(
          'GET',
          `/switchyard/history?limit=${encodeURIComponent(limit)}`,
        )) as {
          history: RuleChange[];
        };
        if (json) io.stdout(`${JSON.stringify(history, null, 2)}\n`);
        else if (history.length === 0) io.stdout('No changes yet.\n');
        else {
          io.stdout(
            `${formatColumns(
              ['WHEN', 'ACTION', 'DETAIL'],
              history.map((h) => [new Date(h.at).toISOString(), h.action, h.detail]),
            )}\n`,
          );
        }
        return 0;
      }
      case 'pin': {
        const body: Record<string, string> = {};
        for (const f of ['agent', 'task', 'model', 'note']) {
          const v = flag(f);
          if (v !== undefined) body[f] = v;
        }
        if (body.agent === undefined && body.task === undefined && body.model === undefined) {
          io.stderr('switchyard rules pin: give at least one of --agent, --task, --model\n');
          return 2;
        }
        const pin = (await call('POST', '/switchyard/pins', body)) as { id: string };
        io.stdout(json ? `${JSON.stringify(pin, null, 2)}\n` : `pinned ${pin.id}\n`);
        return 0;
      }
      case 'unpin': {
        const id = rest[0];
        if (id === undefined) {
          io.stderr('switchyard rules unpin: give the pin id (see `switchyard rules`)\n');
          return 2;
        }
        await call('DELETE', `/switchyard/pins/${encodeURIComponent(id)}`);
        io.stdout(`unpinned ${id}\n`);
        return 0;
      }
      case 'dry-run': {
        const v = rest[0];
        if (v !== 'on' && v !== 'off') {
          io.stderr('switchyard rules dry-run: say on or off\n');
          return 2;
        }
        const r = (await call('POST', '/switchyard/dry-run', { enabled: v === 'on' })) as {
          dryRun: boolean;
        };
        io.stdout(`dry-run ${r.dryRun ? 'on' : 'off'}\n`);
        return 0;
      }
      default:
        io.stderr(`switchyard rules: unknown command '${command}'\n\n${HELP}`);
        return 2;
    }
  } catch (err) {
    io.stderr(`switchyard rules: ${(err as Error).message}\n`);
    return 1;
  }
}

/** Entry used by `cli.ts`. */
export function run(argv: readonly string[]): Promise<number> {
  return runRulesCommand(argv, {
    fetch: globalThis.fetch,
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    now: Date.now,
  });
}

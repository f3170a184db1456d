#!/usr/bin/env node
/**
 * The `switchyard` command. Each subcommand lives in its own module, imported only when used so
 * `switchyard rules` does not load the proxy and `switchyard start` does not load the replay.
 */

interface CommandModule {
  run(argv: readonly string[]): Promise<number>;
}

const COMMANDS: Readonly<Record<string, { summary: string; load: () => Promise<CommandModule> }>> =
  {
    start: {
      summary: 'run the sidecar (OpenAI-compatible proxy, cache, span intake, learner)',
      load: () => import('./commands/start-command.js'),
    },
    rules: {
      summary: 'list learned rules with their evidence; pin, unpin, dry-run',
      load: () => import('./commands/rules-command.js'),
    },
    replay: {
      summary: 'replay a recorded dataset through the real stack and report cost and quality',
      load: () => import('./commands/replay-command.js'),
    },
  };

function help(): string {
  const lines = ['Usage: switchyard <command> [options]', '', 'Commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  lines.push('', "Run 'switchyard <command> --help' for a command's options.", '');
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`switchyard: unknown command '${name}'.\n\n${help()}`);
    return 2;
  }
  const mod = await command.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`switchyard: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);

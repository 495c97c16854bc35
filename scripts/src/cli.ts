/**
 * `npm run aegis -- <command> [subcommand] [options]`: the typed command line for the platform.
 * Talks to the server through the typed tRPC client (scripts/lib/client.ts) with AEGIS_API_KEY,
 * at AEGIS_URL. Tables for people, `--json` for programs; errors are one line on stderr and a
 * non-zero exit code (see scripts/lib/cli-errors.ts for the codes).
 *
 * Commands live one group per file in ./commands/; add a group to COMMAND_GROUPS below.
 */
import { parseArgs } from 'node:util';
import { CliError, describeError, ExitCode } from '../lib/cli-errors.ts';
import { createAegisClient } from '../lib/client.ts';
import type { Command, CommandContext, CommandGroup } from '../lib/command.ts';
import { type CliConfig, loadCliConfig } from '../lib/config.ts';
import { createOutput } from '../lib/output.ts';
import { readSecret } from '../lib/secret-input.ts';
import { adminCommands } from './commands/admin.ts';
import { alertCommands } from './commands/alerts.ts';
import { approveCommand } from './commands/approve.ts';
import { auditCommands } from './commands/audit.ts';
import { backtestCommands } from './commands/backtest.ts';
import { brokerCommands } from './commands/brokers.ts';
import { deskCommands } from './commands/desks.ts';
import { evalCommands } from './commands/eval.ts';
import { haltCommands } from './commands/halt.ts';
import { ingestCommand } from './commands/ingest.ts';
import { instrumentCommands } from './commands/instruments.ts';
import { keyCommands } from './commands/keys.ts';
import { lessonCommands } from './commands/lessons.ts';
import { optionCommands } from './commands/options.ts';
import { orderCommands } from './commands/orders.ts';
import { positionCommands } from './commands/positions.ts';
import { proposalCommands } from './commands/proposals.ts';
import { reportCommands } from './commands/reports.ts';
import { riskCommands } from './commands/risk.ts';
import { signalCommands } from './commands/signals.ts';
import { userCommands } from './commands/users.ts';
import { whoamiCommand } from './commands/whoami.ts';

const COMMAND_GROUPS: readonly CommandGroup[] = [
  whoamiCommand,
  keyCommands,
  userCommands,
  deskCommands,
  auditCommands,
  alertCommands,
  instrumentCommands,
  optionCommands,
  orderCommands,
  reportCommands,
  positionCommands,
  brokerCommands,
  haltCommands,
  riskCommands,
  ingestCommand,
  signalCommands,
  proposalCommands,
  approveCommand,
  lessonCommands,
  backtestCommands,
  evalCommands,
  adminCommands,
];

const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function groupHelp(group: CommandGroup): string {
  const lines = [`aegis ${group.name}: ${group.summary}`, '', 'Usage:'];
  for (const [sub, cmd] of Object.entries(group.commands)) {
    const name = sub ? `${group.name} ${sub}` : group.name;
    lines.push(`  aegis ${name}${cmd.usage ? ` ${cmd.usage}` : ''} [--json]`);
    lines.push(`      ${cmd.summary}`);
  }
  return lines.join('\n');
}

function mainHelp(): string {
  const width = Math.max(...COMMAND_GROUPS.map((g) => g.name.length));
  return [
    'Usage: npm run aegis -- <command> [subcommand] [options]',
    '',
    'Commands:',
    ...COMMAND_GROUPS.map((g) => `  ${g.name.padEnd(width)}  ${g.summary}`),
    '',
    'Global options:',
    '  --json      machine-readable output on stdout (with npm, add -s so its banner stays off stdout:',
    '              npm run -s aegis -- keys list --json)',
    '  -h, --help  help for a command',
    '',
    'Environment:',
    '  AEGIS_URL        server base URL (default http://127.0.0.1:4000)',
    '  AEGIS_API_KEY    API key (aegis_…); never passed as a flag',
    '  AEGIS_TIMEOUT_MS request timeout (default 30000)',
    '',
    'Exit codes: 0 ok, 1 failure, 2 usage, 3 not authenticated, 4 denied or not found,',
    '            5 rejected input, 6 rate limited or unavailable, 7 integrity failure',
  ].join('\n');
}

function resolveCommand(
  argv: readonly string[],
): { group: CommandGroup; command: Command; name: string; rest: string[] } | null {
  const groupName = argv[0];
  if (!groupName || groupName === 'help' || groupName === '--help' || groupName === '-h') return null;
  const group = COMMAND_GROUPS.find((g) => g.name === groupName);
  if (!group) throw new CliError(`unknown command '${groupName}' (run 'aegis help' for the list)`);
  const sub = argv[1];
  if (sub !== undefined && !sub.startsWith('-') && Object.hasOwn(group.commands, sub) && sub !== '') {
    return { group, command: group.commands[sub]!, name: `${group.name} ${sub}`, rest: argv.slice(2) };
  }
  const single = group.commands[''];
  if (single) return { group, command: single, name: group.name, rest: argv.slice(1) };
  if (sub === undefined || sub === '--help' || sub === '-h') {
    return { group, command: helpOnly(group), name: group.name, rest: [] };
  }
  throw new CliError(
    `unknown subcommand '${group.name} ${sub}' (expected one of: ${Object.keys(group.commands).join(', ')})`,
  );
}

function helpOnly(group: CommandGroup): Command {
  return {
    summary: group.summary,
    async run(ctx) {
      process.stdout.write(`${groupHelp(group)}\n`);
      return ctx.out.json ? ExitCode.USAGE : ExitCode.OK;
    },
  };
}

function commandHelp(name: string, command: Command): string {
  const lines = [
    `Usage: aegis ${name}${command.usage ? ` ${command.usage}` : ''} [--json]`,
    '',
    command.summary,
  ];
  const opts = Object.entries(command.options ?? {});
  if (opts.length > 0) {
    lines.push('', 'Options:');
    for (const [opt, spec] of opts) {
      lines.push(
        `  --${opt}${spec.type === 'string' ? ' <value>' : ''}${spec.multiple ? ' (repeatable)' : ''}`,
      );
    }
  }
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const resolved = resolveCommand(argv);
  if (!resolved) {
    process.stdout.write(`${mainHelp()}\n`);
    return argv.length === 0 ? ExitCode.USAGE : ExitCode.OK;
  }
  const { command, name, rest } = resolved;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, ...GLOBAL_OPTIONS },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // parseArgs messages are clear but long ("... To specify a positional argument ..."): keep the first sentence.
    const first = String((err as Error).message).split('. ')[0];
    throw new CliError(`${name}: ${first}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${commandHelp(name, command)}\n`);
    return ExitCode.OK;
  }
  const expected = command.positionals ?? [];
  const required = expected.filter((p) => !p.endsWith('?')).length;
  if (parsed.positionals.length < required) {
    throw new CliError(
      `${name}: missing <${expected[parsed.positionals.length]?.replace(/\?$/, '')}> (usage: aegis ${name} ${command.usage ?? ''})`,
    );
  }
  if (parsed.positionals.length > expected.length) {
    throw new CliError(`${name}: unexpected argument '${parsed.positionals[expected.length]}'`);
  }

  const config = loadCliConfig();
  const out = createOutput(parsed.values.json === true);
  const interrupt = new AbortController();
  process.once('SIGINT', () => interrupt.abort());
  const ctx: CommandContext = {
    config,
    out,
    client: () => clientFor(config),
    readSecret,
    interrupted: interrupt.signal,
    warn: (line) => process.stderr.write(`${line}\n`),
  };
  serverUrl = config.url;
  return (await command.run(ctx, { values: parsed.values, positionals: parsed.positionals })) ?? ExitCode.OK;
}

function clientFor(config: CliConfig) {
  if (!config.apiKey) {
    throw new CliError(
      'AEGIS_API_KEY is not set (create one in the console or with `aegis keys create`)',
      ExitCode.AUTH,
    );
  }
  return createAegisClient({ url: config.url, apiKey: config.apiKey, timeoutMs: config.timeoutMs });
}

let serverUrl: string | undefined;

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const { line, exitCode } = describeError(err, serverUrl);
    process.stderr.write(`${line}\n`);
    process.exitCode = exitCode;
  },
);

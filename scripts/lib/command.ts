import type { ParseArgsOptionsConfig } from 'node:util';
import type { ExitCode } from './cli-errors.ts';
import type { AegisClient } from './client.ts';
import type { CliConfig } from './config.ts';
import type { Output } from './output.ts';

/**
 * The shape of a CLI command. Each command group is one file under `scripts/src/commands/`
 * exporting a `CommandGroup`; `scripts/src/cli.ts` lists the groups. Adding a command later
 * (orders, positions, halt …) is a new file plus one line in that list.
 */
export type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export interface CommandContext {
  readonly config: CliConfig;
  readonly out: Output;
  /** The typed API client; fails with a clear message when AEGIS_API_KEY is not set. */
  client(): AegisClient;
  /** Reads a secret: from stdin when piped, else a prompt without echo on a terminal. */
  readSecret(prompt: string): Promise<string>;
  /** Resolves when the user interrupts (Ctrl-C); for long-running commands such as `tail --follow`. */
  readonly interrupted: AbortSignal;
  /** Writes a progress/diagnostic line to stderr (never stdout, which may be piped). */
  warn(line: string): void;
}

export interface CommandArgs {
  readonly values: OptionValues;
  readonly positionals: readonly string[];
}

export interface Command {
  readonly summary: string;
  /** Synopsis after the command name, e.g. `<key-id>` or `--name <name> --scope <scope>...`. */
  readonly usage?: string;
  /** Options besides the global ones (--json, --help). Parsed strictly: unknown options fail. */
  readonly options?: ParseArgsOptionsConfig;
  /** Names of the positional arguments, in order; `?` suffix = optional. */
  readonly positionals?: readonly string[];
  run(ctx: CommandContext, args: CommandArgs): Promise<ExitCode | undefined>;
}

export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  /** Subcommands (`keys create`), or a single command under the key '' (`whoami`). */
  readonly commands: Readonly<Record<string, Command>>;
}

/** Option value helpers: parseArgs types every value loosely. */
export function optString(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function optStrings(values: OptionValues, name: string): string[] {
  const v = values[name];
  const raw = Array.isArray(v) ? v : [v];
  return raw
    .filter((s): s is string => typeof s === 'string')
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

export function optBool(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

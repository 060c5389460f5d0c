/** Every command of the CLI, in the order `--help` lists them. Adding a command is one import and one entry here. */
import type { Command } from '../command';
import { banCommand } from './ban';
import { diffCommand } from './diff';
import { flushCommand } from './flush';
import { listCommand } from './list';
import { replayCommand } from './replay';
import { statusCommand } from './status';
import { unbanCommand } from './unban';

export const COMMANDS: readonly Command[] = [
  statusCommand,
  listCommand,
  banCommand,
  unbanCommand,
  diffCommand,
  flushCommand,
  replayCommand,
];

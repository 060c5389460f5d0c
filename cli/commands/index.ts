/** Every command of the CLI, in the order `--help` lists them. Adding a command is one import and one entry here. */
import type { Command } from '../command';
import { replayCommand } from './replay';

export const COMMANDS: readonly Command[] = [replayCommand];

#!/usr/bin/env node
// The `waf-autoblock` executable: runs the TypeScript CLI (cli/main.ts) through tsx, no build step.
import { tsImport } from 'tsx/esm/api';

const { main } = await tsImport('../cli/main.ts', import.meta.url);
process.exitCode = await main(process.argv.slice(2));

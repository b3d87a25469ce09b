#!/usr/bin/env node
// The `hipaa-ai-risk` command. Registers tsx so the TypeScript sources run as they are, then
// hands the arguments to src/cli/main.ts (which must be imported after tsx is registered).
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

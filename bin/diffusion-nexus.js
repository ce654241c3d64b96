#!/usr/bin/env node
// Package bin: runs the TypeScript CLI through tsx (the Prisma client is generated as .ts).
import { register } from 'tsx/esm/api';

register();
process.env.DIFFUSION_NEXUS_CLI_ENTRY = '1';
await import('../src/cli/main.ts');

#!/usr/bin/env node
// The CLI is TypeScript; tsx compiles it on load so `npm install && npx toilless` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('./toilless.ts');

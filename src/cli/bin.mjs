#!/usr/bin/env node
// `npx deploy-coordinator …` in a clone (after `npm install`): runs the CLI's TypeScript sources
// through tsx. `npm run build:cli` bundles the same code into dist/cli.mjs, which needs nothing beside it.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");

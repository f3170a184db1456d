#!/usr/bin/env node
// Runs `switchyard replay ...` from the built sidecar without needing the `switchyard` bin:
//   npm run build && node bench/replay/replay.mjs convert --from /work/shared/data/routellm --out .data/replay
import { run } from '../../packages/sidecar/dist/commands/replay-command.js';

process.exitCode = await run(process.argv.slice(2));

/**
 * ESM entry for `node --import @switchyard/instrumentation/hook app.mjs`: registers the
 * import-in-the-middle loader that `@opentelemetry/instrumentation` uses, so `import OpenAI from
 * 'openai'` can be patched. It must run before the application's first import of `openai`;
 * CommonJS apps do not need it. Importing this module has that one side effect and exports nothing.
 */
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

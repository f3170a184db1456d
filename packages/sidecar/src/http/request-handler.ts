import type { IncomingMessage, ServerResponse } from 'node:http';

/** A `node:http` request listener. Handlers that return a promise must not reject unhandled. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

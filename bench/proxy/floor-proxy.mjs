// The floor: the least a Node proxy can do. node:http alone, a keep-alive agent, the request body
// buffered and forwarded unparsed, the answer piped back (so streams keep their chunking).
//   node floor-proxy.mjs <port> <upstreamOrigin>
import { Agent, createServer, request } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const upstream = new URL(process.argv[3]);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const server = createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const body = Buffer.concat(parts);
    const headers = {
      'content-type': req.headers['content-type'] ?? 'application/json',
      'content-length': body.length,
    };
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    const up = request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    up.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('SIGTERM', () => process.exit(0));

// A fake OpenAI-compatible upstream that answers at once. Run as a child process:
//   node fake-upstream.mjs <port> [chunks] [chunkIntervalMs]
// Chat requests whose body contains "stream":true get an SSE stream of `chunks` chunks, sent
// `chunkIntervalMs` apart (0 = all at once); everything else gets one fixed JSON answer.
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const chunks = Number(process.argv[3] ?? 20);
const interval = Number(process.argv[4] ?? 1);

const answer = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4o-2024-08-06',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content:
            '- Memory is fastest but per replica.\n- Redis is shared but adds a hop.\n- Key by tenant.',
        },
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 210, completion_tokens: 24, total_tokens: 234 },
  }),
);

const frame = (i) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4o-2024-08-06',
    choices: [{ index: 0, delta: { content: `tok${i} ` }, finish_reason: null }],
  })}\n\n`;
const frames = Array.from({ length: chunks }, (_, i) => frame(i));
const last = `data: ${JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
})}\n\ndata: [DONE]\n\n`;

const server = createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const body = Buffer.concat(parts).toString();
    if (req.url.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"object":"list","data":[{"id":"gpt-4o","object":"model"}]}');
      return;
    }
    if (!body.includes('"stream":true')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
      res.end(answer);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (interval <= 0) {
      res.end(frames.join('') + last);
      return;
    }
    let i = 0;
    const next = () => {
      if (res.destroyed) return;
      if (i < frames.length) {
        res.write(frames[i++]);
        setTimeout(next, interval);
      } else {
        res.end(last);
      }
    };
    next();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  process.send?.({ port: server.address().port });
});
process.on('SIGTERM', () => process.exit(0));

// A viem transport for JSON-RPC over HTTP(S) with kept-alive connections (node:http), cheaper than
// viem's fetch-based `http` transport: ~0.15 ms of CPU and ~0.26 ms wall per request against a local
// anvil, where `http` takes ~0.55 / 0.65 ms and `http` with `batch: { wait: 0 }` ~0.8 / 2 ms (its
// timer holds every request for at least a millisecond). Requests made in the same turn of the
// event loop (Promise.all of reads) go out as one JSON-RPC batch, released by setImmediate, so a
// lone request waits for no timer. Errors are viem's: RpcRequestError for a JSON-RPC error (revert
// data and all, as the `http` transport gives them), HttpRequestError for a failed connection or a
// non-2xx answer.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { custom, HttpRequestError, RpcRequestError, type Transport } from 'viem';

export interface KeepAliveOptions {
  /** Connections kept open to the endpoint (default 4). */
  maxSockets?: number;
  /** Milliseconds before a request fails (default 30 s). */
  timeoutMs?: number;
  /** Most requests in one batch (default 100). */
  batchSize?: number;
  /** Retries of a failed request (viem's retry policy; default 0). */
  retryCount?: number;
}

interface Pending {
  body: { jsonrpc: '2.0'; id: number; method: string; params: unknown };
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type RpcAnswer = { id: number; result?: unknown; error?: { code: number; message: string; data?: unknown } };

/** A transport over kept-alive HTTP connections with same-tick batching (see the file's header). */
export function keepAliveTransport(url: string, o: KeepAliveOptions = {}): Transport {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  if (!tls && u.protocol !== 'http:') throw new HttpRequestError({ url, details: `unsupported protocol ${u.protocol}` });
  const agent = tls ? new HttpsAgent({ keepAlive: true, maxSockets: o.maxSockets ?? 4 }) : new HttpAgent({ keepAlive: true, maxSockets: o.maxSockets ?? 4 });
  const send = tls ? httpsRequest : httpRequest;
  const timeout = o.timeoutMs ?? 30_000;
  const batchSize = o.batchSize ?? 100;
  let nextId = 1;
  let queue: Pending[] = [];
  let scheduled = false;

  const post = (payload: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const req = send(
        {
          protocol: u.protocol, hostname: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: 'POST', agent, timeout,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...(u.username ? { authorization: `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` } : {}) },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new HttpRequestError({ url, body: JSON.parse(payload), details: e.message, cause: e })));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
            // A JSON-RPC error may come with a non-2xx status: hand it on as an answer.
            if (!ok && (json === undefined || typeof json !== 'object')) {
              return reject(new HttpRequestError({ url, body: JSON.parse(payload), status: res.statusCode, details: text.slice(0, 500) || res.statusMessage }));
            }
            resolve(json);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
      req.on('error', (e) => reject(new HttpRequestError({ url, body: JSON.parse(payload), details: e.message, cause: e })));
      req.end(payload);
    });

  const flush = () => {
    scheduled = false;
    const all = queue;
    queue = [];
    for (let i = 0; i < all.length; i += batchSize) {
      const part = all.slice(i, i + batchSize);
      const single = part.length === 1;
      post(JSON.stringify(single ? part[0].body : part.map((p) => p.body))).then(
        (json) => {
          const answers = (Array.isArray(json) ? json : [json]) as RpcAnswer[];
          const byId = new Map(answers.map((a) => [a?.id, a]));
          for (const p of part) {
            const a = byId.get(p.body.id) ?? (single ? answers[0] : undefined);
            if (!a) p.reject(new HttpRequestError({ url, body: p.body, details: 'the endpoint gave no answer to this request' }));
            else if (a.error) p.reject(new RpcRequestError({ body: p.body, error: a.error, url }));
            else p.resolve(a.result);
          }
        },
        (e) => part.forEach((p) => p.reject(e)),
      );
    }
  };

  return custom(
    {
      request({ method, params }: { method: string; params?: unknown }) {
        return new Promise((resolve, reject) => {
          queue.push({ body: { jsonrpc: '2.0', id: nextId++, method, params: params ?? [] }, resolve, reject });
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        });
      },
    },
    { key: 'keepAliveHttp', name: 'JSON-RPC over kept-alive HTTP', retryCount: o.retryCount ?? 0 },
  );
}

// The bare upstream of the benchmarks: answers GET with a small JSON page and POST with 201 after
// reading the body. Prints its URL to the parent over IPC.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const page = JSON.stringify({ items: [{ id: '7d9f', number: 'WO-1001', status: 'scheduled', summary: 'Replace compressor' }], total: 1, limit: 10, offset: 0 });
const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(page) });
    res.end(page);
    return;
  }
  let n = 0;
  req.on('data', (c: Buffer) => (n += c.length));
  req.on('end', () => {
    const body = JSON.stringify({ id: 'new', received: n });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));

/**
 * A local stand-in for a JSON mail API (Resend's shape: POST {from, to[], subject, text, html} with
 * a bearer key), so a production-mode Worker can send real HTTP mail in e2e runs. It keeps what it
 * receives; `GET /messages?to=<address>` lists them, newest first. Loopback only.
 */
import { createServer } from "node:http";

export async function startMailSink(key) {
  const messages = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (req.method === "GET" && url.pathname === "/messages") {
      const to = url.searchParams.get("to");
      const list = messages.filter((m) => !to || m.to.includes(to)).reverse();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(list));
      return;
    }
    if (req.method !== "POST" || url.pathname !== "/emails") {
      res.writeHead(404).end();
      return;
    }
    if (req.headers.authorization !== `Bearer ${key}`) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"message":"bad key"}');
      return;
    }
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      try {
        const m = JSON.parse(body);
        if (typeof m.from !== "string" || !Array.isArray(m.to) || typeof m.subject !== "string") throw 0;
        messages.push({ ...m, receivedAt: Date.now() });
        res.writeHead(200, { "content-type": "application/json" }).end(`{"id":"m${messages.length}"}`);
      } catch {
        res.writeHead(422, { "content-type": "application/json" }).end('{"message":"bad body"}');
      }
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

/**
 * The bare Koa handler of the ceilings: `node scripts/bench/bare-koa.ts <port>`. No middleware, no
 * telemetry preload, no logging: what one Node process with Koa answers when the handler does nothing.
 */
import Koa from 'koa';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node scripts/bench/bare-koa.ts <port>\n');
  process.exit(2);
}

const app = new Koa();
app.use((ctx) => {
  ctx.body = { ok: true };
});
app.listen(port, '127.0.0.1');

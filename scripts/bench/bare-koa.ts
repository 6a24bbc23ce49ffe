/**
 * The bare Koa handlers of the ceilings: `node scripts/bench/bare-koa.ts <port> [<database url>]`. No
 * middleware, no telemetry preload, no logging: what one Node process with Koa answers when the handler
 * does nothing (`/`), and, given a database, when it does only the read's one Postgres round trip
 * (`/query`: the first page of a cases table, one prepared statement, a pool of 10 as the services have).
 */
import Koa from 'koa';
import pg from 'pg';

const port = Number(process.argv[2]);
const databaseUrl = process.argv[3];
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node scripts/bench/bare-koa.ts <port> [<database url>]\n');
  process.exit(2);
}

/** The page query of the read scenario, on the table ceilings.ts creates in the ceiling database. */
const PAGE_QUERY = {
  name: 'ceiling_page',
  text: 'SELECT id, title, status, owner_id, created_at FROM cases ORDER BY created_at DESC, id DESC LIMIT $1',
};

const pool = databaseUrl ? new pg.Pool({ connectionString: databaseUrl, max: 10 }) : undefined;
const app = new Koa();
app.use(async (ctx) => {
  if (pool && ctx.path === '/query') {
    const { rows } = await pool.query({ ...PAGE_QUERY, values: [2] });
    ctx.body = { items: rows.slice(0, 1), next_cursor: null };
    return;
  }
  ctx.body = { ok: true };
});
app.listen(port, '127.0.0.1');

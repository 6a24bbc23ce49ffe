/**
 * Modules the platform loads through `require`, not an ES `import`. Importing node:http as an ES module
 * makes Node build its namespace, reading every export, and one of them (`http.WebSocket`) is a getter that
 * loads Node's bundled undici, a client the platform does not use (13 MB in a bare process, 1 – 2 MB in a
 * service that loads the rest anyway: docs/benchmarks.md, ADR 0025). @koa/router's ES build imports
 * node:http that way; its CommonJS build requires it. Everything in the platform takes these two from here.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const http = require('node:http') as typeof import('node:http');
export const Router = require('@koa/router') as typeof import('@koa/router').default;

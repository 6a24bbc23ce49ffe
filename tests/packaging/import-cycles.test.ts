import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect } from 'chai';
import { ROOT } from './support/helm.ts';

/** Every TypeScript module under `dir` (not tests, not build output). */
function modules(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join(dir, file));
}

/**
 * The relative imports of a module (`import ... from './x.ts'`, `export ... from`, `import('./x.ts')`),
 * type-only ones included: a cycle through types still couples the modules. Packages (`@mrp/...`) are left
 * out: a package importing another is checked by the TypeScript project references, which refuse cycles.
 */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g))
    found.add(resolve(dirname(file), match[1]!));
  return [...found];
}

/** The first import cycle in the graph, as the list of modules around it, or undefined. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('no import cycle in the libraries (libs/*/src)', function () {
  it('when a cycle is drawn by hand, the check finds it, and a chain is no cycle', function () {
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).to.deep.equal(['a', 'b', 'c', 'a']);
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).to.equal(undefined);
  });

  for (const library of readdirSync(join(ROOT, 'libs'))) {
    it(`when ${library}'s modules import one another, no chain of imports comes back to where it started`, function () {
      const files = modules(join(ROOT, 'libs', library, 'src'));
      expect(files.length).to.be.greaterThan(0);
      const graph = new Map(files.map((file) => [file, importsOf(file)] as const));
      expect(
        [...graph.values()].flat().filter((target) => graph.has(target)),
        'imports between its modules',
      ).to.not.be.empty;
      const cycle = findCycle(graph);
      expect(
        cycle?.map((file) => relative(ROOT, file)),
        'an import cycle',
      ).to.equal(undefined);
    });
  }
});

describe("the services' layers (services/*/src)", function () {
  for (const service of readdirSync(join(ROOT, 'services'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)) {
    it(`when ${service}'s domain/ imports, it is neither HTTP (http/, Koa) nor the wiring: the HTTP layer depends on the domain, not the reverse`, function () {
      const domain = join(ROOT, 'services', service, 'src', 'domain');
      const files = readdirSync(domain).filter((file) => file.endsWith('.ts'));
      expect(files, `${service} has a domain/`).to.not.be.empty;
      for (const file of files) {
        const path = join(domain, file);
        const text = readFileSync(path, 'utf8');
        const http = importsOf(path).filter((target) =>
          target.includes(`${join(ROOT, 'services', service, 'src', 'http')}/`),
        );
        expect(http, `${service}/src/domain/${file} imports http/`).to.deep.equal([]);
        expect(text, `${service}/src/domain/${file} imports Koa`).not.to.match(
          /from ['"](koa|@koa\/[^'"]+)['"]/,
        );
      }
    });
  }
});

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { ROOT } from './support/helm.ts';

describe('make mutation (stryker.config.json)', function () {
  const config = JSON.parse(readFileSync(join(ROOT, 'stryker.config.json'), 'utf8')) as {
    testRunner: string;
    mutate: string[];
    mochaOptions: { spec: string[] };
  };

  it("mutates only the libraries' modules that exist, against the libraries' own tests with mocha", function () {
    expect(config.testRunner).to.equal('mocha');
    expect(config.mochaOptions.spec).to.deep.equal(['libs/*/test/**/*.test.ts']);
    expect(config.mutate.length).to.be.greaterThan(10);
    for (const file of config.mutate) {
      expect(file).to.match(/^libs\/[a-z]+\/src\/([\w-]+\/)*[\w-]+\.ts$/);
      expect(existsSync(join(ROOT, file)), file).to.be.true;
    }
  });

  it('pins the StrykerJS packages it installs', function () {
    const pins = readFileSync(join(ROOT, 'scripts', 'mutation-tools.txt'), 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'));
    expect(pins).to.have.length(2);
    for (const pin of pins) expect(pin).to.match(/^@stryker-mutator\/[\w-]+@\d+\.\d+\.\d+$/);
  });
});

/**
 * `make contract-types`: writes libs/schemas/src/contracts.generated.ts, the TypeScript types of the
 * contracts in libs/schemas/json (libs/schemas/src/contract-types.ts), formatted as the repository is.
 * With `--check`, writes nothing and exits 1 when the committed file differs from what it would write
 * (`--file <path>` checks or writes another file instead, as the tests do).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { contractTypesSource, getSchema, schemaNames } from '@mrp/schemas';

export const CONTRACT_TYPES_FILE = join(
  import.meta.dirname,
  '..',
  'libs',
  'schemas',
  'src',
  'contracts.generated.ts',
);

/** What the file should hold, formatted with the repository's Prettier settings. */
export async function expectedContractTypes(): Promise<string> {
  const schemas = new Map(schemaNames().map((name) => [name, getSchema(name)]));
  const options = await resolveConfig(CONTRACT_TYPES_FILE);
  return format(contractTypesSource(schemas), { ...options, filepath: CONTRACT_TYPES_FILE });
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { check: { type: 'boolean' }, file: { type: 'string' } } });
  const file = values.file ?? CONTRACT_TYPES_FILE;
  const expected = await expectedContractTypes();
  const current = await readFile(file, 'utf8').catch(() => '');
  if (values.check) {
    if (current !== expected) {
      console.error(`${file} is stale: run make contract-types`);
      process.exit(1);
    }
  } else if (current !== expected) {
    await writeFile(file, expected);
    console.log(`wrote ${file}`);
  } else {
    console.log(`${file} is up to date`);
  }
}

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

// scripts/ is a TypeScript project of its own and tsc refuses imports between it and tests/ (see
// bench-profile-summary.test.ts): the module is loaded at run time, with the shapes this test uses.
type KeyFileChange =
  | { readonly write: string; readonly content: string }
  | { readonly remove: string }
  | { readonly rename: string; readonly to: string };
interface KeyFiles {
  readonly description: string;
  read(name: string): Promise<string | undefined>;
  apply(changes: readonly KeyFileChange[]): Promise<void>;
}
interface SecretPatch {
  data: Record<string, string | null>;
  metadata: { annotations: Record<string, string | null> };
}
interface KeyFilesModule {
  readonly NOTE_ANNOTATION_PREFIX: string;
  readonly applyChanges: (
    files: ReadonlyMap<string, string>,
    changes: readonly KeyFileChange[],
  ) => Map<string, string>;
  readonly secretPatch: (
    before: ReadonlyMap<string, string>,
    after: ReadonlyMap<string, string>,
  ) => SecretPatch;
  readonly filesOfSecret: (secret: {
    data?: Record<string, string> | null;
    metadata?: { annotations?: Record<string, string> | null };
  }) => Map<string, string>;
  readonly directoryKeyFiles: (dir: string) => KeyFiles;
  readonly secretKeyFiles: (reference: string) => KeyFiles;
}

const keyFilesModule = new URL('../../scripts/rotate-key/key-files.ts', import.meta.url).href;
const {
  applyChanges,
  directoryKeyFiles,
  filesOfSecret,
  NOTE_ANNOTATION_PREFIX,
  secretKeyFiles,
  secretPatch,
} = (await import(keyFilesModule)) as KeyFilesModule;

/** The changes of a switch, as scripts/rotate-signing-key.ts applies them. */
const SWITCH: KeyFileChange[] = [
  { write: 'previous.pem', content: 'OLD' },
  { write: 'switched-at', content: '2026-12-03T08:00:00.000Z\n' },
  { rename: 'next.pem', to: 'current.pem' },
  { remove: 'published-at' },
];

describe('where the key rotation keeps its keys (scripts/rotate-key/key-files.ts)', function () {
  describe('the changes and the Secret patch (pure)', function () {
    it('a switch leaves the new key current, the old one previous, no next key and the switch time', function () {
      const before = new Map([
        ['current.pem', 'OLD'],
        ['next.pem', 'NEW'],
        ['published-at', '2026-12-03T07:55:00.000Z\n'],
      ]);
      expect([...applyChanges(before, SWITCH)].sort()).to.deep.equal(
        [
          ['current.pem', 'NEW'],
          ['previous.pem', 'OLD'],
          ['switched-at', '2026-12-03T08:00:00.000Z\n'],
        ].sort(),
      );
      expect(before.get('current.pem'), 'the input is left as it was').to.equal('OLD');
    });

    it('renaming a file that is not there is refused rather than leaving no current key', function () {
      expect(() => applyChanges(new Map([['current.pem', 'OLD']]), SWITCH)).to.throw(/next\.pem/);
    });

    it('the patch carries keys as base64 data and the notes as annotations, removes with null and leaves the rest out', function () {
      const before = new Map([
        ['current.pem', 'OLD'],
        ['next.pem', 'NEW'],
        ['published-at', 'T0'],
      ]);
      const patch = secretPatch(before, applyChanges(before, SWITCH));
      expect(patch).to.deep.equal({
        data: {
          'current.pem': Buffer.from('NEW').toString('base64'),
          'next.pem': null,
          'previous.pem': Buffer.from('OLD').toString('base64'),
        },
        metadata: {
          annotations: {
            [`${NOTE_ANNOTATION_PREFIX}switched-at`]: '2026-12-03T08:00:00.000Z\n',
            [`${NOTE_ANNOTATION_PREFIX}published-at`]: null,
          },
        },
      });
    });

    it("a Secret as kubectl prints it reads back as the same files, ignoring data and annotations that are not the rotation's", function () {
      const files = new Map([
        ['current.pem', 'NEW'],
        ['previous.pem', 'OLD'],
        ['switched-at', 'T1'],
      ]);
      const patch = secretPatch(new Map(), files);
      const secret = {
        data: {
          ...(patch.data as Record<string, string>),
          'README.txt': Buffer.from('x').toString('base64'),
        },
        metadata: {
          annotations: {
            ...(patch.metadata.annotations as Record<string, string>),
            'helm.sh/resource-policy': 'keep',
          },
        },
      };
      expect([...filesOfSecret(secret)].sort()).to.deep.equal([...files].sort());
      expect(filesOfSecret({ metadata: {} }).size, 'an empty Secret').to.equal(0);
    });

    it('a Secret reference must be <namespace>/<name>', function () {
      for (const bad of ['mrp', 'mrp/', '/keys', 'a/b/c'])
        expect(() => secretKeyFiles(bad), bad).to.throw(/<namespace>\/<name>/);
      expect(secretKeyFiles('mrp/mrp-auth-service-signing-key').description).to.equal(
        'Secret mrp/mrp-auth-service-signing-key',
      );
    });
  });

  describe('a key directory on this machine', function () {
    let dir: string;
    beforeEach(function () {
      dir = mkdtempSync(join(tmpdir(), 'mrp-rotate-'));
    });
    afterEach(function () {
      rmSync(dir, { recursive: true, force: true });
    });

    it('applies a switch so that the directory holds what the pure changes say, and no temporary file is left', async function () {
      writeFileSync(join(dir, 'current.pem'), 'OLD');
      writeFileSync(join(dir, 'next.pem'), 'NEW');
      writeFileSync(join(dir, 'published-at'), 'T0');
      const files = directoryKeyFiles(dir);
      expect(await files.read('next.pem')).to.equal('NEW');
      expect(await files.read('previous.pem')).to.equal(undefined);
      await files.apply(SWITCH);
      expect(readdirSync(dir).sort()).to.deep.equal(['current.pem', 'previous.pem', 'switched-at']);
      expect(readFileSync(join(dir, 'current.pem'), 'utf8')).to.equal('NEW');
      expect(readFileSync(join(dir, 'previous.pem'), 'utf8')).to.equal('OLD');
      await files.apply([{ remove: 'previous.pem' }, { remove: 'switched-at' }, { remove: 'not-there' }]);
      expect(readdirSync(dir)).to.deep.equal(['current.pem']);
    });
  });
});

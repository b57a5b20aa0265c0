/**
 * The linter enforces the rooms' arrows (eslint.config.js, README "Layout"): a file that imports
 * across a forbidden arrow fails `npm run lint`. Checked with ESLint's Node API on text that is
 * never written to disk: every forbidden arrow with the room rules alone, and one with the whole
 * configuration (type-aware rules included) as `npm run lint` runs it.
 */
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface LintConfigModule {
  FORBIDDEN_IMPORTS: Record<string, string[]>;
  roomRules: Linter.Config[];
}

const loadConfig = async (): Promise<LintConfigModule> => (await import(pathToFileURL(join(REPO, 'eslint.config.js')).href)) as LintConfigModule;

async function restrictedImports(eslint: ESLint, file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(REPO, file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint: the rooms and their arrows', function () {
  this.timeout(120_000);

  it('every forbidden arrow fails, from the room and from its subfolders; allowed ones pass', async function () {
    const { FORBIDDEN_IMPORTS, roomRules } = await loadConfig();
    const eslint = new ESLint({
      cwd: REPO,
      overrideConfigFile: true,
      overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser as Linter.Parser } }, ...roomRules],
    });
    assert.deepEqual(Object.keys(FORBIDDEN_IMPORTS).sort(), ['common', 'introspect', 'kernel', 'lab', 'protocol', 'shell']);
    for (const [room, forbidden] of Object.entries(FORBIDDEN_IMPORTS)) {
      for (const target of forbidden) {
        const direct = await restrictedImports(eslint, `src/${room}/probe.ts`, `import { x } from '../${target}/x.js';\nexport const y = x;\n`);
        assert.equal(direct.length, 1, `src/${room} → src/${target} must fail`);
        assert.match(direct[0], new RegExp(`src/${room} must not import`));
        const nested = await restrictedImports(eslint, `src/${room}/deeper/probe.ts`, `import type { X } from '../../${target}/x.js';\nexport type Y = X;\n`);
        assert.equal(nested.length, 1, `src/${room}/deeper → src/${target} (a type import) must fail`);
      }
    }
    const allowed: [string, string][] = [
      ['src/kernel/probe.ts', '../shell/session.js'],
      ['src/kernel/probe.ts', '../protocol/messages.js'],
      ['src/shell/probe.ts', '../lab/sandbox.js'],
      ['src/introspect/probe.ts', '../shell/terminal-view.js'],
      ['src/cli/probe.ts', '../introspect/index.js'],
      ['src/protocol/probe.ts', '../common/json.js'],
      ['src/lab/nstree/probe.ts', '../display.js'],
    ];
    for (const [file, from] of allowed) assert.deepEqual(await restrictedImports(eslint, file, `import { x } from '${from}';\nexport const y = x;\n`), [], `${file} → ${from}`);
  });

  it('npm run lint\'s own configuration fails a lab file that imports the kernel', async function () {
    const eslint = new ESLint({ cwd: REPO });
    const code = `import type { Kernel } from '../kernel/kernel.js';\nexport type LabKernel = Kernel;\n`;
    const messages = await restrictedImports(eslint, 'src/lab/tools.ts', code);
    assert.equal(messages.length, 1, JSON.stringify(messages));
    assert.match(messages[0], /src\/lab must not import src\/\{kernel,protocol,shell,introspect,cli\}/);
  });
});

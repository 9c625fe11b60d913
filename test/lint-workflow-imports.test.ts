import { spawnSync } from 'node:child_process';

// Runs the project's real ESLint CLI and config (jest's VM cannot load the ESM config in-process).
describe('lint rule: workflow code does no I/O', () => {
  async function problems(code: string, filePath: string): Promise<string[]> {
    const run = spawnSync(process.execPath, ['node_modules/eslint/bin/eslint.js', '--stdin', '--stdin-filename', filePath, '--format', 'json'], {
      input: code,
      encoding: 'utf8',
    });
    const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string; message: string }[] }[];
    return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
  }

  it('refuses I/O modules and value imports of activities in workflows/', async () => {
    const found = await problems(
      "import { readFileSync } from 'node:fs';\nimport { request } from 'undici';\nimport { createBitrixActivities } from '../activities/bitrix/activities';\nexport const x = [readFileSync, request, createBitrixActivities];\n",
      'workflows/example.ts',
    );
    expect(found.filter((m) => m.startsWith('@typescript-eslint/no-restricted-imports'))).toHaveLength(3);
  });

  it('allows type-only imports of activities and pure domain modules', async () => {
    const found = await problems(
      "import type { BitrixActivities } from '../activities/bitrix/activities';\nimport { kopecksToRubles } from '../domain/money';\nexport type A = BitrixActivities;\nexport const f = kopecksToRubles;\n",
      'workflows/example.ts',
    );
    expect(found).toEqual([]);
  });

  it('does not restrict the same imports outside workflow code', async () => {
    expect(await problems("import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n", 'activities/example.ts')).toEqual([]);
  });
});

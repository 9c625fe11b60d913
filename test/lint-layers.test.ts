import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';

// The house's imports run one way (lint/layers.mjs), checked with the project's real ESLint CLI and config.
function problems(code: string, filePath: string): string[] {
  const run = spawnSync(process.execPath, ['node_modules/eslint/bin/eslint.js', '--stdin', '--stdin-filename', filePath, '--format', 'json'], { input: code, encoding: 'utf8' });
  const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string; message: string }[] }[];
  return result.messages.filter((m) => m.ruleId === 'house/layers').map((m) => m.message);
}
const importing = (path: string) => `import * as m from '${path}';\nexport const x = m;\n`;

describe('lint: layers', () => {
  it.each([
    ['lib/example.ts', '../activities/bitrix/client', 'lib/ may not import activities/'],
    ['lib/example.ts', '../app/stack', 'lib/ may not import app/'],
    ['domain/example.ts', '../lib/config', 'domain/ may not import lib/'],
    ['activities/bitrix/example.ts', '../../workflows/pos-payment', 'activities/ may not import workflows/'],
    ['activities/bitrix/example.ts', '../../intake/receipts', 'activities/ may not import intake/'],
    ['workflows/example.ts', '../intake/receipts', 'workflows/ may not import intake/'],
    ['intake/example.ts', '../api/server', 'intake/ may not import api/'],
    ['intake/example.ts', '../cross-system/refund-lookup', 'intake/ may not import cross-system/'],
    ['api/routes/example.ts', '../../workers/worker', 'api/ may not import workers/'],
    ['simulators/bitrix/example.ts', '../../activities/bitrix/client', 'simulators/ may not import activities/'],
    ['scripts/example.ts', '../test/support/stack', 'scripts/ may not import test/'],
  ])('%s importing %s is refused', (file, path, message) => {
    expect(problems(importing(path), file)).toEqual([`${message} (layers: lint/layers.mjs)`]);
  });

  it.each([
    ['api/routes/example.ts', '../../intake/terminal-receipts'],
    ['intake/example.ts', '../workflows/pos-payment'],
    ['cross-system/example.ts', '../intake/receipts'],
    ['workers/example.ts', '../cross-system/refund-lookup'],
    ['workers/main.ts', '../app/clients'],
    ['app/example.ts', '../api/server'],
    ['test/example.ts', '../app/stack'],
  ])('%s importing %s is allowed', (file, path) => {
    expect(problems(importing(path), file)).toEqual([]);
  });

  it('lets workflows import only the types of their activities', () => {
    expect(problems("import type { BitrixActivities } from '../activities/bitrix/activities';\nexport type A = BitrixActivities;\n", 'workflows/example.ts')).toEqual([]);
    expect(problems(importing('../cross-system/walk-in-write-offs'), 'workflows/example.ts')).toEqual(['workflows/ may not import cross-system/ (layers: lint/layers.mjs)']);
  });

  it('places every top-level source folder in a layer', () => {
    const run = spawnSync(process.execPath, ['-e', "import('./lint/layers.mjs').then((m) => console.log(JSON.stringify(Object.keys(m.LAYERS))))"], { encoding: 'utf8' });
    const layers = JSON.parse(run.stdout) as string[];
    const skip = new Set(['node_modules', 'docs', 'config', 'deploy', 'lint', 'dist', 'coverage', 'test-artifacts']);
    const folders = readdirSync('.').filter((d) => !d.startsWith('.') && !skip.has(d) && statSync(d).isDirectory());
    expect(folders.filter((d) => !layers.includes(d))).toEqual([]);
  });
});

import { readFileSync, writeFileSync } from 'node:fs';

export const TEST_NAMESPACE_COUNT = 40;

export function testNamespaceName(i: number): string {
  return `test-${String(i + 1).padStart(2, '0')}`;
}

/** A namespace no other test file of this run has used (files run one after another: --runInBand). */
export function allocateTestNamespace(): string {
  const file = process.env.TEST_NAMESPACE_COUNTER;
  if (!file) throw new Error('TEST_NAMESPACE_COUNTER is not set: run the tests through jest (test/global-setup.ts)');
  const next = Number(readFileSync(file, 'utf8')) || 0;
  if (next >= TEST_NAMESPACE_COUNT) throw new Error(`more than ${TEST_NAMESPACE_COUNT} test namespaces requested; raise TEST_NAMESPACE_COUNT`);
  writeFileSync(file, String(next + 1));
  return testNamespaceName(next);
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

// `npm run build`: the workflow code bundled once (webpack), so a production worker starts without bundling.
// Usage: tsx scripts/build-workflow-bundle.ts [output path, default dist/workflow-bundle.js]
async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  const started = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
  console.log(`workflow bundle: ${out} (${Math.round(code.length / 1024)} KiB, ${Date.now() - started} ms)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

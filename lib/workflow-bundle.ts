import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './config';

/** Where `npm run build` writes the prebuilt workflow bundle (dist/workflow-bundle.js). */
export const BUILT_WORKFLOW_BUNDLE = resolve(__dirname, '..', 'workflow-bundle.js');

/**
 * The prebuilt workflow bundle the worker loads instead of bundling workflows/ with webpack at every start:
 * `WORKFLOW_BUNDLE_PATH` when set (it must exist), else dist/workflow-bundle.js next to the compiled code
 * (present in the Docker image), else none — the worker bundles at start (development, tsx).
 */
export function prebuiltWorkflowBundle(path: string | undefined, builtPath = BUILT_WORKFLOW_BUNDLE): { codePath: string } | undefined {
  if (path) {
    if (!existsSync(path)) throw new ConfigError(`WORKFLOW_BUNDLE_PATH: no file at ${path} (npm run build writes dist/workflow-bundle.js)`);
    return { codePath: resolve(path) };
  }
  return existsSync(builtPath) ? { codePath: builtPath } : undefined;
}

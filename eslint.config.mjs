import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import house from './lint/layers.mjs';

const ioModules = [
  'fs', 'fs/*', 'node:*', 'http', 'https', 'net', 'child_process', 'crypto', 'os', 'path',
  'undici', 'express', 'pino', 'pino-*', 'yaml', '@temporalio/client', '@temporalio/worker',
  '@temporalio/activity', '@temporalio/testing',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'test-artifacts/', 'coverage/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // Imports run one way (lint/layers.mjs); test/ may import anything.
    files: ['**/*.ts'],
    plugins: { house },
    rules: { 'house/layers': 'error' },
  },
  {
    // Workflow code must be deterministic: no I/O, no clocks or randomness of its own. It may import
    // @temporalio/workflow, @temporalio/common, the pure domain/ modules, and *types* of activities.
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ioModules.filter((m) => !m.includes('*')).map((name) => ({ name, message: 'workflow/domain code must not do I/O' })),
          patterns: [
            { group: ioModules.filter((m) => m.includes('*')), message: 'workflow/domain code must not do I/O' },
            { group: ['../activities/*', '../activities/**', '../../activities/**'], allowTypeImports: true, message: 'import only types of activities into workflow code' },
            { group: ['../lib/*', '../lib/**', '../api/**', '../workers/**', '../simulators/**'], message: 'workflow/domain code must not import I/O modules' },
          ],
        },
      ],
    },
  },
);

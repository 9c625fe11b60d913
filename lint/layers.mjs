// The house's layering, enforced by lint: each top-level folder imports only the folders below it.
// Doors → intake → workflows → activities → clients → domain/lib; the composition root (app/) sits on top.
import { dirname, relative, resolve, sep } from 'node:path';

/** Top-level folder → the folders its code may import (itself included). */
export const LAYERS = {
  domain: ['domain'],
  lib: ['domain', 'lib'],
  activities: ['domain', 'lib', 'activities'],
  workflows: ['domain', 'workflows'],
  intake: ['domain', 'lib', 'workflows', 'intake'],
  'cross-system': ['domain', 'lib', 'activities', 'workflows', 'intake', 'cross-system'],
  api: ['domain', 'lib', 'activities', 'workflows', 'intake', 'cross-system', 'api'],
  workers: ['domain', 'lib', 'activities', 'workflows', 'cross-system', 'workers'],
  simulators: ['domain', 'lib', 'simulators'],
  app: ['domain', 'lib', 'activities', 'workflows', 'intake', 'cross-system', 'api', 'workers', 'simulators', 'app'],
  scripts: ['domain', 'lib', 'activities', 'workflows', 'intake', 'cross-system', 'api', 'workers', 'simulators', 'app', 'scripts'],
  bench: ['domain', 'lib', 'activities', 'workflows', 'intake', 'cross-system', 'api', 'workers', 'simulators', 'app', 'bench'],
  test: ['domain', 'lib', 'activities', 'workflows', 'intake', 'cross-system', 'api', 'workers', 'simulators', 'app', 'scripts', 'bench', 'test'],
};

/** Type-only imports a layer may make beyond its own list: workflows know their activities' types (proxyActivities). */
export const TYPE_ONLY = {
  workflows: ['activities', 'cross-system'],
};

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const topOf = (file) => relative(root, file).split(sep)[0];
/** A process entry point (workers/main.ts, api/main.ts) composes like app/ does. */
const layerOf = (file) => (/[/\\]main\.ts$/.test(file) ? 'app' : topOf(file));

export const layersRule = {
  meta: { type: 'problem', schema: [], messages: { upward: '{{from}}/ may not import {{to}}/ (layers: lint/layers.mjs)' } },
  create(context) {
    const file = context.filename;
    const from = layerOf(file);
    const allowed = LAYERS[from];
    if (!allowed) return {};
    const check = (node, source, typeOnly) => {
      if (!source || !source.startsWith('.')) return;
      const to = topOf(resolve(dirname(file), source));
      if (!(to in LAYERS) || allowed.includes(to)) return;
      if (typeOnly && (TYPE_ONLY[from] ?? []).includes(to)) return;
      context.report({ node, messageId: 'upward', data: { from, to } });
    };
    const isTypeOnly = (node) => node.importKind === 'type' || node.exportKind === 'type' || (node.specifiers?.length > 0 && node.specifiers.every((s) => s.importKind === 'type'));
    return {
      ImportDeclaration: (node) => check(node, node.source.value, isTypeOnly(node)),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value, isTypeOnly(node)),
      ExportAllDeclaration: (node) => check(node, node.source.value, node.exportKind === 'type'),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value, false),
    };
  },
};

export default { rules: { layers: layersRule } };

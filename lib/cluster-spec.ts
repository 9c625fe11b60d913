import spec from '../deploy/temporal.json';
import { ALL_SEARCH_ATTRIBUTES } from '../domain/search-attributes';

/** The Temporal cluster's shape (deploy/temporal.json), with the search attributes the workflows write. */
export const CLUSTER_SPEC = {
  ...spec,
  retentionSeconds: spec.retentionDays * 86_400,
  /** Names and Temporal CLI type names (Keyword, Datetime, Int), from the list the workflows use. */
  searchAttributes: ALL_SEARCH_ATTRIBUTES.map((a) => ({ name: a.name, type: cliTypeName(a.type) })),
};

function cliTypeName(type: string): string {
  return type.charAt(0) + type.slice(1).toLowerCase();
}

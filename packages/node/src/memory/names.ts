/**
 * Names in shared memory. Document and member names are URL path segments and parts of mesh
 * Document names, so they keep to a small alphabet: letters, digits, `.`, `_`, `:` and `-`,
 * starting with a letter or digit.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export const MAX_DOCUMENT_NAME = 64;
export const MAX_MEMBER_NAME = 128;

/** The rule as users read it in errors and docs. */
export const NAME_RULE = 'letters, digits, ".", "_", ":" or "-", starting with a letter or digit';

export function isMemoryName(name: unknown, max: number): name is string {
  return typeof name === 'string' && name.length <= max && NAME.test(name);
}

/** The catalogue: the mesh Document listing every shared-memory document. */
export const CATALOGUE_DOCUMENT = 'meshwork/memory';

/** The mesh Document (sync topic, SQLite log key) holding shared-memory document `name`. */
export function meshDocumentName(name: string): string {
  return `${CATALOGUE_DOCUMENT}/${name}`;
}

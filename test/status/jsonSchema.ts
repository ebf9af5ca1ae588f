import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/roots.js';

/**
 * A small JSON Schema (2020-12) validator for the keywords our shipped schemas use: type,
 * const, enum, properties, required, additionalProperties, items, $ref to #/$defs, oneOf,
 * minimum, if/then, format date-time. Unknown keywords fail loudly so the schemas cannot
 * grow a keyword this validator silently ignores.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema',
  '$id',
  'title',
  'description',
  '$defs',
  'type',
  'const',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'items',
  '$ref',
  'oneOf',
  'minimum',
  'if',
  'then',
  'format',
]);

const typeOf = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
};

const matchesType = (value: unknown, type: string): boolean =>
  typeOf(value) === type || (type === 'number' && typeOf(value) === 'integer');

export function validate(
  schema: Schema,
  value: unknown,
  root: Schema = schema,
  path = '$',
): string[] {
  const errors: string[] = [];
  for (const keyword of Object.keys(schema)) {
    if (!KNOWN.has(keyword))
      throw new Error(
        `schema keyword ${keyword} at ${path} is not supported by the test validator`,
      );
  }
  if (typeof schema['$ref'] === 'string') {
    const name = /^#\/\$defs\/(.+)$/.exec(schema['$ref'])?.[1];
    const target = name ? (root['$defs'] as Record<string, Schema> | undefined)?.[name] : undefined;
    if (!target) return [`${path}: unresolvable $ref ${schema['$ref']}`];
    errors.push(...validate(target, value, root, path));
  }
  if (schema['type'] !== undefined) {
    const types = ([] as string[]).concat(schema['type'] as string | string[]);
    if (!types.some((t) => matchesType(value, t)))
      return [...errors, `${path}: expected ${types.join('|')}, got ${typeOf(value)}`];
  }
  if ('const' in schema && JSON.stringify(schema['const']) !== JSON.stringify(value)) {
    errors.push(`${path}: expected ${JSON.stringify(schema['const'])}`);
  }
  if (
    Array.isArray(schema['enum']) &&
    !schema['enum'].some((v) => JSON.stringify(v) === JSON.stringify(value))
  ) {
    errors.push(
      `${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema['enum'])}`,
    );
  }
  if (
    typeof schema['minimum'] === 'number' &&
    typeof value === 'number' &&
    value < schema['minimum']
  ) {
    errors.push(`${path}: ${value} < ${schema['minimum']}`);
  }
  if (
    schema['format'] === 'date-time' &&
    typeof value === 'string' &&
    Number.isNaN(Date.parse(value))
  ) {
    errors.push(`${path}: not a date-time`);
  }
  if (Array.isArray(schema['oneOf'])) {
    const passing = (schema['oneOf'] as Schema[]).filter(
      (s) => validate(s, value, root, path).length === 0,
    ).length;
    if (passing !== 1) errors.push(`${path}: matches ${passing} of oneOf`);
  }
  if (
    schema['if'] &&
    validate(schema['if'] as Schema, value, root, path).length === 0 &&
    schema['then']
  ) {
    errors.push(...validate(schema['then'] as Schema, value, root, path));
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
    for (const name of (schema['required'] ?? []) as string[]) {
      if (!(name in object)) errors.push(`${path}: missing ${name}`);
    }
    for (const [name, child] of Object.entries(object)) {
      if (properties[name])
        errors.push(...validate(properties[name], child, root, `${path}.${name}`));
      else if (schema['additionalProperties'] === false)
        errors.push(`${path}: unexpected property ${name}`);
    }
  }
  if (Array.isArray(value) && schema['items']) {
    value.forEach((item, i) =>
      errors.push(...validate(schema['items'] as Schema, item, root, `${path}[${i}]`)),
    );
  }
  return errors;
}

export const loadSchema = (name: string): Schema =>
  JSON.parse(readFileSync(join(repoRoot, 'docs', name), 'utf8')) as Schema;

import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** A DynamoDB item as the SDK's low-level client sends and returns it. */
export type Item = Record<string, AttributeValue>;

/** The plain values our items hold. `undefined` fields are left out of the item. */
export type Plain = string | number | boolean | readonly Plain[] | { readonly [key: string]: Plain | undefined };

/** Plain values to attribute values; a small marshaller for the few shapes our items use. */
export function toAttribute(value: Plain): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('only finite numbers can be stored');
    return { N: String(value) };
  }
  if (typeof value === 'boolean') return { BOOL: value };
  if (Array.isArray(value)) return { L: value.map((element: Plain) => toAttribute(element)) };
  return { M: toItem(value as { readonly [key: string]: Plain | undefined }) };
}

export function toItem(record: { readonly [key: string]: Plain | undefined }): Item {
  const item: Item = {};
  for (const [name, value] of Object.entries(record)) {
    if (value !== undefined) item[name] = toAttribute(value);
  }
  return item;
}

/**
 * Attribute values to plain values, leniently (string and number sets become arrays, NULL becomes undefined): the
 * shape is checked afterwards by the item schemas, which is where a malformed item is caught and reported.
 */
export function fromAttribute(attribute: AttributeValue): unknown {
  if (attribute.S !== undefined) return attribute.S;
  if (attribute.N !== undefined) return Number(attribute.N);
  if (attribute.BOOL !== undefined) return attribute.BOOL;
  if (attribute.L !== undefined) return attribute.L.map(fromAttribute);
  if (attribute.M !== undefined) return fromItem(attribute.M);
  if (attribute.SS !== undefined) return [...attribute.SS];
  if (attribute.NS !== undefined) return attribute.NS.map(Number);
  if (attribute.B !== undefined) return attribute.B;
  return undefined;
}

export function fromItem(item: Item): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [name, attribute] of Object.entries(item)) {
    const value = fromAttribute(attribute);
    if (value !== undefined) record[name] = value;
  }
  return record;
}

import { ErrorCodes, type Position, type Range, ResponseError } from 'vscode-languageserver/node';

/**
 * The parts of request parameters the providers read, checked before they are read: a
 * request with a missing document, a position that is not two whole numbers or a new name
 * that is not a string is answered with InvalidParams, never with an edit or an exception.
 */

function invalid(message: string): ResponseError<void> {
  return new ResponseError(ErrorCodes.InvalidParams, message);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** `params.textDocument.uri`. */
export function documentUri(params: unknown): string {
  const doc = isObject(params) ? params['textDocument'] : undefined;
  const uri = isObject(doc) ? doc['uri'] : undefined;
  if (typeof uri !== 'string' || uri === '') throw invalid('textDocument.uri must be a non-empty string');
  return uri;
}

function asPosition(value: unknown, what: string): Position {
  if (!isObject(value) || !isCount(value['line']) || !isCount(value['character'])) {
    throw invalid(`${what} must be { line, character } with whole numbers from 0`);
  }
  return { line: value['line'], character: value['character'] };
}

/** `params.position`. */
export function position(params: unknown): Position {
  return asPosition(isObject(params) ? params['position'] : undefined, 'position');
}

/** `params.range`. */
export function range(params: unknown): Range {
  const r = isObject(params) ? params['range'] : undefined;
  if (!isObject(r)) throw invalid('range must be { start, end }');
  return { start: asPosition(r['start'], 'range.start'), end: asPosition(r['end'], 'range.end') };
}

/** `params.newName` of a rename. */
export function newName(params: unknown): string {
  const name = isObject(params) ? params['newName'] : undefined;
  if (typeof name !== 'string') throw invalid('newName must be a string');
  return name;
}

/** An optional string field (the `model` of `resnet/graph`). */
export function optionalString(params: unknown, key: string): string | undefined {
  const value = isObject(params) ? params[key] : undefined;
  if (value !== undefined && typeof value !== 'string') throw invalid(`${key} must be a string`);
  return value;
}

/** A required string field (the `uri` of `resnet/graph`). */
export function requiredString(params: unknown, key: string): string {
  const value = optionalString(params, key);
  if (value === undefined || value === '') throw invalid(`${key} must be a non-empty string`);
  return value;
}

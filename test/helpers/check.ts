import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSource } from '../../src/check/check-source.js';
import type { CheckedFile } from '../../src/check/workspace.js';
import type { CheckedModel } from '../../src/model/types.js';

export const specsDir = join(import.meta.dirname, '..', '..', 'specs');

/** Checks text as a file in specs/, so `import "resnet50.resnet"` finds the zoo. */
export function check(text: string): CheckedFile {
  return checkSource(text, join(specsDir, '__test__.resnet'));
}

/** The one model the text declares; fails the test when it has errors. */
export function model(text: string, name?: string): CheckedModel {
  const file = check(text);
  const errors = file.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(`unexpected errors: ${errors.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  const found = name ? file.models.find((m) => m.name === name) : file.models[0];
  if (!found) throw new Error('no model');
  return found;
}

/** The codes the text's diagnostics carry, in order. */
export function codesOf(text: string): string[] {
  return check(text).diagnostics.map((d) => d.code);
}

/** A fresh folder with the given files in it, for import tests. */
export function tempFiles(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'resnetc-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

import { createHash } from 'node:crypto';
import type { CheckedModel, Layer } from './types.js';
import { walkLayers } from './walk.js';

/**
 * Everything about a checked model that changes the function it computes or the training
 * that updates it, as plain JSON: the input, classes, norm settings, every block's kind,
 * stride, shortcut (option, kind, and whether it takes the preactivated input) and
 * drop-path rate, the outputs (names, sources, shapes), and every layer in execution order
 * with all its attributes (kernel, stride, dilation, padding, groups, bias, pool modes,
 * activation and slope, norm kind and groups, dropout rate, eps, momentum, shapes) — nothing about where it was
 * written (origins) or how it was counted. Two models with equal descriptions compute the
 * same function from the same weights.
 *
 * Layers and blocks are keyed by name (so a difference reads as a layer's name); each
 * layer's `at` keeps its position in execution order.
 */
export interface ModelDescription {
  name: string;
  input: [number, number, number];
  classes: number | null;
  activation: string;
  norm: { kind: string; eps: number; momentum: number; groups: number };
  /** `drop_path` as written (each block's own rate is in `blocks`). */
  dropPath: number;
  /** What the model returns, in order: each output's name, source and shape (C, H, W). */
  outputs: { name: string; source: string; stage: number | null; shape: [number, number, number] }[];
  blocks: Record<string, { kind: string; stride: number; shortcut: string; dropPath: number }>;
  layers: Record<string, Record<string, unknown>>;
}

export function describeModel(model: CheckedModel): ModelDescription {
  const blocks: ModelDescription['blocks'] = {};
  for (const stage of model.stages) {
    for (const b of stage.blocks) {
      blocks[b.name] = { kind: b.kind, stride: b.stride, shortcut: `${b.shortcut.option} ${b.shortcut.kind} from ${b.shortcut.source}`, dropPath: b.dropPath };
    }
  }
  const layers: ModelDescription['layers'] = {};
  let at = 0;
  for (const { layer } of walkLayers(model)) layers[layer.name] = { at: at++, ...layerFields(layer) };
  return {
    name: model.name,
    input: [model.input.c, model.input.h, model.input.w],
    classes: model.classes ?? null,
    activation: model.activation.fn,
    norm: { ...model.norm },
    dropPath: model.dropPath,
    outputs: model.outputs.map((o) => ({ name: o.name, source: o.source, stage: o.stage ?? null, shape: [o.shape.c, o.shape.h, o.shape.w] })),
    blocks,
    layers,
  };
}

const counts = new Set(['name', 'params', 'buffers', 'macs']);

/** A layer's attributes, SE's inner layers included, without its name and counts. */
function layerFields(layer: Layer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(layer)) {
    if (counts.has(key)) continue;
    out[key] = value !== null && typeof value === 'object' && 'op' in value ? layerFields(value as Layer) : value;
  }
  return out;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/** SHA-256 of a value's canonical JSON, hex. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/**
 * Where two JSON values differ, as readable lines (`layers.s1.block0.conv1.stride: 2, now
 * 1`), at most `limit` of them; `before` is the recorded value, `after` the current one.
 */
export function differences(before: unknown, after: unknown, limit = 5, path = ''): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, p: string): void => {
    if (out.length >= limit) return;
    const objects = a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b);
    if (objects && !Array.isArray(a)) {
      const ra = a as Record<string, unknown>;
      const rb = b as Record<string, unknown>;
      for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) walk(ra[k], rb[k], p ? `${p}.${k}` : k);
      return;
    }
    if (canonicalJson(a) === canonicalJson(b)) return;
    out.push(`${p || 'value'}: ${show(a)} in the checkpoint, ${show(b)} now`);
  };
  walk(before, after, path);
  return out;
}

function show(v: unknown): string {
  if (v === undefined) return 'absent';
  // Checksums: their start tells them apart.
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? `${v.slice(0, 12)}…` : JSON.stringify(v);
}

import type { Block, CheckedModel, Layer } from './types.js';

/**
 * A layer's place in the network, independent of names and of any file's ordering:
 * what weight import matches on.
 */
export interface LayerPlace {
  part: 'stem' | 'stage' | 'final' | 'head';
  stage?: number;
  block?: number;
  path?: 'preactivation' | 'branch' | 'shortcut' | 'after';
  /** Position within the part (or within the block's path). */
  position: number;
}

export interface PlacedLayer {
  layer: Layer;
  place: LayerPlace;
}

export function blockPaths(block: Block): [NonNullable<LayerPlace['path']>, Layer[]][] {
  return [
    ['preactivation', block.preactivation],
    ['branch', block.branch],
    ['shortcut', block.shortcut.layers],
    ['after', block.after],
  ];
}

/** Every layer of a model in execution order, with its place. */
export function* walkLayers(model: CheckedModel): Generator<PlacedLayer> {
  for (const [position, layer] of model.stem.entries()) yield { layer, place: { part: 'stem', position } };
  for (const stage of model.stages) {
    for (const block of stage.blocks) {
      for (const [path, layers] of blockPaths(block)) {
        for (const [position, layer] of layers.entries()) {
          yield { layer, place: { part: 'stage', stage: stage.index, block: block.index, path, position } };
        }
      }
    }
  }
  for (const [position, layer] of model.final.entries()) yield { layer, place: { part: 'final', position } };
  for (const [position, layer] of (model.head?.layers ?? []).entries()) yield { layer, place: { part: 'head', position } };
}

import { CodedError } from '../diagnostics/coded-error.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { layerTensors } from '../model/tensors.js';
import type { CheckedModel } from '../model/types.js';
import { walkLayers, type LayerPlace } from '../model/walk.js';

/**
 * `train --freeze PARTS`: the parts of a model whose parameters training leaves as they are,
 * named as the spec and `resnetc summary` name them: `stem`, a stage's name (`conv2`),
 * `final` (a pre-activation model's closing norm) and `head` (also `fc`, torchvision's name
 * for it). A frozen parameter is what `requires_grad = False` makes in PyTorch: no gradient,
 * so neither the step nor momentum nor weight decay moves it. Norms in frozen parts still
 * update their running statistics in training, as PyTorch's do; `--freeze-norms` fixes those.
 */

/** A training option that names something the model lacks or leaves nothing to train. */
export class FreezeError extends CodedError {
  override readonly name = 'FreezeError';
}

/** Other names a part may be given, and the part they name. */
const aliases: Record<string, string> = { fc: 'head' };

function partOf(model: CheckedModel, place: LayerPlace): string {
  return place.part === 'stage' ? model.stages[place.stage!]!.name : place.part;
}

/** The names --freeze accepts for the model, in the model's order: `stem`, the stages', `final` and `head` where present. */
export function freezableParts(model: CheckedModel): string[] {
  const parts: string[] = [];
  for (const { layer, place } of walkLayers(model)) {
    const part = partOf(model, place);
    if (layerTensors(layer).length > 0 && !parts.includes(part)) parts.push(part);
  }
  return parts;
}

/** The parts named, each once, as the model names them (aliases resolved), in the model's order. Throws FreezeError R0613 for a name the model lacks. */
export function freezeParts(model: CheckedModel, names: readonly string[]): string[] {
  const parts = freezableParts(model);
  const wanted = new Set<string>();
  for (const raw of names) {
    const name = aliases[raw] ?? raw;
    if (!parts.includes(name)) {
      const near = didYouMean(raw, [...parts, ...Object.keys(aliases).filter((a) => parts.includes(aliases[a]!))]);
      throw new FreezeError('R0613', `--freeze names '${raw}', which is not a part of ${model.name} with parameters${near ? `; did you mean '${near}'?` : ''}`, `its parts are ${parts.join(', ')}`, 2);
    }
    wanted.add(name);
  }
  return parts.filter((p) => wanted.has(p));
}

/**
 * The tensors (resnetc's names) of the frozen parts. Throws FreezeError: R0613 for a part the
 * model lacks, R0614 when nothing trainable would be left.
 */
export function frozenTensors(model: CheckedModel, names: readonly string[]): Set<string> {
  const parts = new Set(freezeParts(model, names));
  const frozen = new Set<string>();
  let trainable = 0;
  for (const { layer, place } of walkLayers(model)) {
    for (const t of layerTensors(layer)) {
      if (!t.trainable) continue;
      if (parts.has(partOf(model, place))) frozen.add(t.name);
      else trainable++;
    }
  }
  if (trainable === 0 && frozen.size > 0) {
    throw new FreezeError('R0614', `--freeze ${[...parts].join(',')} freezes every parameter of ${model.name}: there is nothing left to train`, 'freeze fewer parts (e.g. leave the head trainable)', 2);
  }
  return frozen;
}

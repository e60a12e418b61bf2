import type { CheckedModel } from '../../model/types.js';
import { firstConv, type NetworkEnds, type WeightFile } from '../adapt.js';
import type { WeightFileFormat } from '../format.js';
import { readWeightsBytes } from '../read.js';
import { parseSafetensors, sniffWeightsFile, tensorAsFloat32, type SafetensorsFile } from '../safetensors.js';
import { matchStateDict } from '../state-dict.js';
import { torchStateDict } from '../torch-names.js';

/**
 * A safetensors file of a PyTorch state_dict under torchvision's or timm's names
 * (state-dict.ts, torch-names.ts): parsed and checked whole when read, each tensor converted
 * to float32 when asked for, so the file and one tensor are held, never the model twice.
 */
export const safetensorsFormat: WeightFileFormat = {
  format: 'safetensors',
  accepts: 'a safetensors state_dict (.safetensors)',
  sniff: (f) => f.kind === 'file' && sniffWeightsFile(f.head) === 'safetensors',
  suffix: '.safetensors',
  text: false,
  read: async (f) => {
    const label = `'${f.path}'`;
    const file = parseSafetensors(readWeightsBytes(f.path), label);
    return {
      ends: (model) => stateDictEnds(file, model),
      match: (model) => {
        const matched = matchStateDict(file, model, label);
        return (name) => {
          const at = matched.get(name);
          return at && tensorAsFloat32(file, at.entry, label, at.layer);
        };
      },
    } satisfies WeightFile;
  },
};

/** The file's tensors at the keys of the model's first convolution and head: their input channels and rows. */
function stateDictEnds(file: SafetensorsFile, model: CheckedModel): NetworkEnds {
  const conv = firstConv(model);
  const fc = model.head?.layers.find((l) => l.op === 'dense');
  const shapeOf = (tensor: string | undefined): number[] | undefined => {
    const key = tensor && torchStateDict(model).find((e) => e.name === tensor)?.key;
    return key ? file.tensors.get(key)?.shape : undefined;
  };
  const convShape = shapeOf(conv && `${conv.name}.weight`);
  const fcShape = shapeOf(fc && `${fc.name}.weight`);
  return {
    ...(conv && convShape?.length === 4 ? { channels: convShape[1]! * conv.groups } : {}),
    ...(fcShape && fcShape.length >= 2 ? { classes: fcShape[0]! } : {}),
  };
}

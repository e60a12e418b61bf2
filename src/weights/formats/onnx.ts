import type { CheckedModel } from '../../model/types.js';
import { firstConv, type WeightFile } from '../adapt.js';
import type { WeightFileFormat } from '../format.js';
import { looksLikeOnnx } from '../sniff.js';

/**
 * An ONNX model of the same network (PyTorch's export, resnetc's own): its weights matched
 * to the spec's layers by place, by src/onnx/import.ts (the ONNX backend's knowledge, loaded
 * only when such a file is read), decoded tensor by tensor when asked for, those stored as
 * external data read from the files beside it that the model names.
 */
export const onnxFormat: WeightFileFormat = {
  format: 'onnx',
  accepts: 'an ONNX model (.onnx)',
  sniff: (f) => f.kind === 'file' && looksLikeOnnx(f.head, f.size),
  suffix: '.onnx',
  text: false,
  read: async (f) => {
    // The backend's reader of ONNX files (readOnnxWeightSource's), external data included.
    const { readOnnxWeightsFile } = await import('../../onnx/import.js');
    const file = readOnnxWeightsFile(f.path);
    return {
      // The graph's input and output, wherever the model's first convolution and head are.
      ends: (model: CheckedModel) => ({
        ...(file.channels !== undefined && firstConv(model) ? { channels: file.channels } : {}),
        ...(file.classes !== undefined && model.head ? { classes: file.classes } : {}),
      }),
      match: (model) => file.match(model),
    } satisfies WeightFile;
  },
};

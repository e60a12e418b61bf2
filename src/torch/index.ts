/**
 * PyTorch's formats, as a library entry ('resnetc/torch'): the naming table between
 * resnetc's layers and PyTorch's state_dict keys, safetensors in and out, and the PyTorch
 * target (a checked model as a Python module). See docs/pytorch.md.
 *
 *   torchStateDict(model): TorchTensor[]
 *     Every entry of the model's state_dict: key, shape in PyTorch, dtype, resnetc's tensor and layer.
 *   torchModulePaths(model): Map<layer name, module path>
 *   readSafetensorsWeights(path | bytes, model, label?): WeightSet
 *     A safetensors state_dict (torchvision's or timm's names) matched by the naming table,
 *     checked and converted to float32. Throws TorchWeightsError (R1000–R1007, R0101, R0902).
 *   stateDictBytes(model, weights, metadata?): Uint8Array
 *   writeStateDict(model, weights, metadata, sink): number
 *     The weights (a WeightLookup: a WeightSet, initialWeightSource, an ONNX import) as a
 *     safetensors file that torchvision's (or timm's) module loads with strict=True.
 *   parseSafetensors(bytes, name): SafetensorsFile; serializeSafetensors(tensors, metadata?)
 *     The format alone, validated (see src/weights/safetensors.ts).
 *   emitPython(model, { version }): string
 *     The PyTorch module's source.
 */
export { torchLayout, torchModulePaths, torchStateDict, type TorchLayout, type TorchTensor } from '../weights/torch-names.js';
export { readSafetensorsWeights, stateDictBytes, stateDictMetadata, stateDictTensors, writeStateDict } from '../weights/state-dict.js';
export { parseSafetensors, serializeSafetensors, sniffWeightsFile, tensorAsFloat32, TorchWeightsError, type SafetensorsFile, type TensorToWrite } from '../weights/safetensors.js';
export { emitPython, type PythonOptions } from './python.js';

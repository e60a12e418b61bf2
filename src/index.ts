/**
 * resnetc as a library: parse and check `.resnet` files, read the checked model, format.
 *
 *     import { Workspace } from 'resnetc';
 *     const file = new Workspace().check('specs/resnet50.resnet');
 *     const model = file?.models[0];            // shapes, counts, named layers
 *
 * The backends and services have entry points of their own, so that checking does not
 * load them: 'resnetc/onnx' (compile to ONNX, import ONNX weights), 'resnetc/tfjs'
 * (TensorFlow.js model, weights, backends, training), 'resnetc/graph' (SVG diagrams),
 * 'resnetc/lsp' (the language server).
 */
export { parse, type ParseResult } from './syntax/parse.js';
export type * as Syntax from './syntax/ast.js';
export { SourceText, type Span, type LineColumn } from './syntax/source.js';
export { Workspace, type CheckedFile, type ParsedFile } from './check/workspace.js';
export { diskHost, overlayHost, type FileHost } from './check/host.js';
export { checkSource } from './check/check-source.js';
export type * from './model/types.js';
export { walkLayers, blockPaths, type LayerPlace, type PlacedLayer } from './model/walk.js';
export { compactCount, describeCount, groupDigits, roundCount } from './model/count-format.js';
export { layerTensors, tensorSize, type TensorSpec, type TensorRole } from './model/tensors.js';
export { initialWeights, initialWeightSource, modelTensors, type WeightSet, type InitOptions } from './weights/init.js';
export { openWeightSource, acceptedFormats, type OpenOptions } from './weights/open.js';
export { WeightSourceError, type WeightSource, type WeightLookup, type WeightNote, type UniformScaling } from './weights/source.js';
export { codes, type Code, type CodeInfo } from './diagnostics/codes.js';
export { hasErrors, type Diagnostic, type Severity, type Fix, type RelatedLocation } from './diagnostics/diagnostic.js';
export { renderDiagnostic } from './diagnostics/render.js';
export { blockKinds, shortcutKinds, defaults } from './check/vocabulary.js';
export { formatText, sameTokens, type FormatResult } from './format/index.js';

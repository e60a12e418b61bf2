/**
 * resnetc's TensorFlow.js target and training, as a library (`import … from 'resnetc/tfjs'`).
 * Importing it registers the custom layers, so `tf.loadLayersModel` reads saved models.
 *
 *     const model = new Workspace().check('specs/cifar_resnet.resnet')!.models[0]!;
 *     await selectBackend('auto');
 *     const net = buildTfjsModel(model);          // a tf.LayersModel, NHWC, named like the ONNX export
 *     setWeights(net, model, initialWeights(model, { seed: 0 }));
 */
export { buildTfjsModel } from './build.js';
export { setWeights, getWeights, countTfjsWeights, weightTensors, WeightMismatch } from './weights.js';
export { saveModelDir, loadModelDir, fileLoadHandler, isTfjsModelPath } from './io.js';
export { compileTfjs, type TfjsCompileOptions } from './compile.js';
export { selectBackend, useBackend, backendChoices, BackendUnavailable, type BackendChoice, type ConcreteBackend } from './backend.js';
export { SubsamplePad, Pool2D, GroupedConv2D, BatchNorm2D } from './layers.js';
export { loadData, checkFits, syntheticData, DataError, type Dataset, type DataSplits, type LoadOptions } from '../train/data.js';
export { train, evaluate, trainStep, lossAndGradients, classificationLoss, openCheckpoint, type TrainOptions, type TrainHooks, type TrainResult } from '../train/train.js';
export { epochPlan, BatchError, type EpochPlan } from '../train/batches.js';
export { readCheckpoint, runRecord, checkpointFiles, CheckpointError, type CheckpointState, type RunRecord, type Progress } from '../train/checkpoint.js';

/**
 * The TensorFlow.js API resnetc uses, from the packages it depends on: the core (tensors,
 * ops, gradients, optimisers, model I/O) and the Layers API, with the pure-JS cpu backend
 * registered so that a tensor can be made before any backend is chosen.
 *
 * Every module imports TensorFlow.js from here (`import * as tf from './tf.js'`), never the
 * `@tensorflow/tfjs` umbrella: that also pulls the WebGL backend, the converter and
 * tfjs-data (about 190 MB installed) for nothing this project runs. The wasm backend is
 * loaded by `backend.ts` when asked for; native and GPU backends are optional packages
 * (`util/optional.ts`).
 */
import '@tensorflow/tfjs-backend-cpu';
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';

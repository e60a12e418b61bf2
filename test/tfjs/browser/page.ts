/// <reference lib="dom" />
// The page of the browser test: loads a model written by `resnetc compile --target tfjs`
// with tf.loadLayersModel, as a web application would (bundled with the custom layers),
// runs it on the input the test wrote beside it, and puts the outputs in the page.
import * as tf from '../../../src/tfjs/tf.js';
import '../../../src/tfjs/layers.js';

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const input = (await (await fetch('input.json')).json()) as { data: number[]; shape: [number, number, number, number] };
  const model = await tf.loadLayersModel('model/model.json');
  const y = model.predict(tf.tensor4d(input.data, input.shape)) as tf.Tensor;
  document.body.textContent = 'OUTPUT ' + JSON.stringify(Array.from(await y.data()));
}

main().catch((e: unknown) => {
  document.body.textContent = 'FAILED ' + String(e instanceof Error ? e.stack : e);
});

import { writeFileSync } from 'node:fs';
import { generatedKernelsModule, generatedModule, generatedPath, kernelsGeneratedPath } from './wasm-module.js';

/** `npm run wasm`: assembles src/weights/normal.wat and src/tfjs/kernels.wat into the TypeScript modules that carry them. */
writeFileSync(generatedPath, await generatedModule());
console.log(`wrote ${generatedPath}`);
writeFileSync(kernelsGeneratedPath, await generatedKernelsModule());
console.log(`wrote ${kernelsGeneratedPath}`);

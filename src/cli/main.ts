#!/usr/bin/env node
import { exitCodes } from './errors.js';
import { processOutput } from './output.js';
import { run } from './program.js';

const out = processOutput();
run(process.argv.slice(2), out).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // A bug in resnetc, not bad input: say so plainly, keep the trace for the bug report.
    process.stderr.write(`error[R0000]: internal error in resnetc, please report it: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env['RESNETC_DEBUG']) process.stderr.write(`${e instanceof Error ? e.stack : ''}\n`);
    process.exitCode = exitCodes.internal;
  },
);

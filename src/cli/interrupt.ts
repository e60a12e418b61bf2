/**
 * Holds Ctrl-C (SIGINT) and SIGTERM back while an output is written: the write, which goes
 * to a temporary file renamed into place, finishes (or fails and cleans up) and then the
 * command exits with 130. Without this, Node's default handler would end the process in the
 * middle of the write and leave the temporary file behind.
 */
export async function withInterruptsDeferred<T>(work: () => Promise<T>): Promise<T> {
  let received: NodeJS.Signals | undefined;
  const hold = (signal: NodeJS.Signals): void => {
    received = signal;
  };
  process.on('SIGINT', hold);
  process.on('SIGTERM', hold);
  try {
    return await work();
  } finally {
    // A signal that came during a synchronous write is delivered when the event loop next
    // polls; two turns of the loop make sure it has.
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    process.off('SIGINT', hold);
    process.off('SIGTERM', hold);
    if (received) {
      process.stderr.write(`interrupted (${received}): the output was finished first\n`);
      process.exit(130);
    }
  }
}

import { AbstractMessageReader, type DataCallback, type Disposable, type Message } from 'vscode-languageserver/node';

/** The largest message read, in bytes (a document of this size is far past any other limit). */
export const maxMessageBytes = 256 * 1024 * 1024;

/**
 * A header block from its `Content-Length` line: any other `Name: value` lines, and the
 * empty line. Raw line breaks cannot occur inside a JSON body (JSON escapes them in strings,
 * and no JSON token outside a string reads `Content-Length`), so finding one inside what a
 * header said was a body proves that header wrong. Sticky: tried only where
 * `Content-Length:` stands, so a search costs the length of the text.
 */
const headerAt = /Content-Length:[ \t]*(\d+)[ \t]*\r\n(?:[A-Za-z][A-Za-z0-9-]*:[^\r\n]*\r\n)*\r\n/iy;

/** The first header block in `text`, if any: where it starts, its length and the length it declares. */
function findHeader(text: string): { index: number; length: number; declared: string } | undefined {
  const lower = text.toLowerCase();
  for (let at = lower.indexOf('content-length:'); at >= 0; at = lower.indexOf('content-length:', at + 1)) {
    headerAt.lastIndex = at;
    const m = headerAt.exec(text);
    if (m) return { index: at, length: m[0].length, declared: m[1]! };
  }
  return undefined;
}

/** The most bytes a header block (with any junk before it) is looked for in at once. */
const headerWindow = 64 * 1024;

/** A byte queue that grows by doubling: appending chunk after chunk stays linear. */
class ByteQueue {
  private data = Buffer.alloc(64 * 1024);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  append(chunk: Buffer): void {
    if (this.end + chunk.length > this.data.length) {
      const needed = this.length + chunk.length;
      const next = needed * 2 > this.data.length ? Buffer.alloc(Math.max(needed * 2, this.data.length)) : this.data;
      this.data.copy(next, 0, this.start, this.end);
      this.data = next;
      this.end -= this.start;
      this.start = 0;
    }
    chunk.copy(this.data, this.end);
    this.end += chunk.length;
  }

  /** The bytes from `from` to `to` (relative to the front), without copying. */
  view(from = 0, to = this.length): Buffer {
    return this.data.subarray(this.start + from, this.start + Math.min(to, this.length));
  }

  drop(n: number): void {
    this.start = Math.min(this.end, this.start + n);
    if (this.start === this.end) this.start = this.end = 0;
  }
}

/**
 * The base protocol's framing (`Content-Length: N\r\n\r\n` and N bytes of JSON), read so
 * that no malformed input stops the server for good, unlike vscode-jsonrpc's own reader,
 * which waits forever after a header without a length or a length that overshoots:
 *
 * - a header block without a valid `Content-Length`, or bytes that are no header at all,
 *   are skipped up to the next header;
 * - a body that is not a JSON object is dropped;
 * - a length that overshoots (the next header turns up inside the body) ends the body where
 *   that header starts; one that falls short leaves bytes before the next header, skipped;
 * - a length over `maxMessageBytes` is skipped like a missing one.
 *
 * Every problem is reported through `problems` (the server logs it); reading goes on with
 * the next well-framed message. Linear in the bytes read.
 */
export class ResyncMessageReader extends AbstractMessageReader {
  private readonly queue = new ByteQueue();
  /** The declared length of the body being read; -1 while reading a header. */
  private bodyLength = -1;
  /** How far into the pending body a header has been looked for. */
  private scanned = 0;
  /** How far from the front the end of a header has been looked for. */
  private headerScanned = 0;
  private callback: DataCallback | undefined;
  /** Where problems go; the server points it at its log. */
  problems: (message: string) => void = () => undefined;

  constructor(private readonly readable: NodeJS.ReadableStream) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (chunk: Buffer | string): void => this.onData(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    const onError = (e: Error): void => this.fireError(e);
    const onClose = (): void => this.fireClose();
    this.readable.on('data', onData);
    this.readable.on('error', onError);
    this.readable.on('end', onClose);
    return {
      dispose: () => {
        this.readable.off('data', onData);
        this.readable.off('error', onError);
        this.readable.off('end', onClose);
      },
    };
  }

  /** Feeds bytes as they arrive (public for tests). */
  onData(chunk: Buffer): void {
    this.queue.append(chunk);
    for (;;) {
      if (this.bodyLength < 0 ? !this.readHeader() : !this.readBody()) return;
    }
  }

  /** Consumes one header block; false when more bytes are needed. */
  private readHeader(): boolean {
    // Only the front of the queue (it may hold many messages, or one large one, after this
    // header), and only the bytes not searched yet: chunk after chunk stays linear.
    const front = this.queue.view(0, headerWindow);
    const end = front.indexOf('\r\n\r\n', Math.max(0, this.headerScanned - 3), 'latin1');
    if (end < 0) {
      this.headerScanned = front.length;
      if (front.length < headerWindow) return false;
      // No header in a window's worth of bytes: junk, but for what may start a header.
      const from = front.toString('latin1').toLowerCase().lastIndexOf('content-length');
      this.skip(from > 0 ? from : front.length - 64, 'bytes that are not a message');
      return true;
    }
    const text = front.toString('latin1', 0, end + 4);
    const header = findHeader(text);
    if (!header) {
      this.skip(end + 4, `a header without a valid Content-Length (${JSON.stringify(text.slice(0, Math.min(end, 80)))})`);
      return true;
    }
    // Header lines before Content-Length (a Content-Type) are fine; anything else was junk.
    if (!/^(?:[A-Za-z][A-Za-z0-9-]*:[^\r\n]*\r\n)*$/.test(text.slice(0, header.index))) this.skip(header.index, 'bytes that are not a message');
    else this.drop(header.index);
    this.drop(header.length);
    const length = Number(header.declared);
    if (!Number.isSafeInteger(length) || length > maxMessageBytes) {
      this.problems(`resnetc: skipped a message of ${header.declared} bytes, over the limit of ${maxMessageBytes}`);
      return true; // its body is skipped as junk before the next header
    }
    this.bodyLength = length;
    this.scanned = 0;
    return true;
  }

  /** Consumes one body; false when more bytes are needed. */
  private readBody(): boolean {
    const available = Math.min(this.queue.length, this.bodyLength);
    // A header inside the body: the declared length overshoots, and the body ends there.
    const from = Math.max(0, this.scanned - 256);
    const next = findHeader(this.queue.view(from, available).toString('latin1'));
    this.scanned = available;
    if (next) {
      const cut = from + next.index;
      this.problems(`resnetc: a message was ${cut} bytes long, not the ${this.bodyLength} its header said`);
      this.deliver(this.queue.view(0, cut));
      this.drop(cut);
      this.bodyLength = -1;
      return true;
    }
    if (this.queue.length < this.bodyLength) return false;
    this.deliver(this.queue.view(0, this.bodyLength));
    this.drop(this.bodyLength);
    this.bodyLength = -1;
    return true;
  }

  private deliver(body: Buffer): void {
    let message: unknown;
    try {
      message = JSON.parse(body.toString('utf8'));
    } catch (e) {
      this.problems(`resnetc: dropped a message that is not JSON (${e instanceof Error ? e.message : String(e)})`);
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.problems('resnetc: dropped a message that is not a JSON object');
      return;
    }
    this.callback?.(message as Message);
  }

  private skip(bytes: number, what: string): void {
    if (bytes <= 0) return;
    this.problems(`resnetc: skipped ${bytes} bytes: ${what}`);
    this.drop(bytes);
  }

  private drop(bytes: number): void {
    this.queue.drop(bytes);
    this.headerScanned = 0;
  }
}

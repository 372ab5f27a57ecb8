// A bounded buffer of the most recent lines, for the screen; the run log on disk keeps them all.

export class LineRing {
  private readonly buf: string[];
  private start = 0;
  private size = 0;
  /** lines ever pushed (also the version the screen compares to decide whether to redraw) */
  total = 0;

  constructor(readonly capacity: number) {
    if (capacity < 1) throw new Error('capacity must be at least 1');
    this.buf = new Array<string>(capacity);
  }

  push(line: string): void {
    const at = (this.start + this.size) % this.capacity;
    this.buf[at] = line;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
    this.total++;
  }

  /** the kept lines, oldest first (the last `n` when given) */
  lines(n = this.size): string[] {
    const count = Math.min(n, this.size);
    const out: string[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = this.buf[(this.start + this.size - count + i) % this.capacity];
    return out;
  }

  get length(): number {
    return this.size;
  }
}

/** Splits a stream of chunks into lines; a partial last line waits for the next chunk. */
export class LineSplitter {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    let text = this.rest + chunk;
    let nl = text.indexOf('\n');
    let from = 0;
    while (nl >= 0) {
      const end = nl > from && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.onLine(text.slice(from, end));
      from = nl + 1;
      nl = text.indexOf('\n', from);
    }
    text = text.slice(from);
    this.rest = text;
  }

  end(): void {
    if (this.rest) this.onLine(this.rest);
    this.rest = '';
  }
}

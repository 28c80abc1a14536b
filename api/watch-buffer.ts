// The bytes the API holds for one watch client: what was produced for it and not yet taken by its
// connection. Bounded: a client that does not read lets it fill, and is then cut off (the caller ends
// its stream) rather than allowed to grow the API's memory. WatchStats adds every client's up, so the
// tests (and the curious) can see the buffers released.

export class WatchStats {
  /** Open watch streams. */
  clients = 0;
  /** Bytes held in every watch client's buffer. */
  bufferedBytes = 0;
  /** Clients cut off because they did not read fast enough. */
  slowClientsCutOff = 0;
}

export class BoundedBuffer {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  constructor(
    /** The most bytes held at once; one chunk is always accepted into an empty buffer, however large. */
    readonly limitBytes: number,
    private readonly stats: WatchStats = new WatchStats(),
  ) {}

  get bytes(): number {
    return this.size;
  }

  get empty(): boolean {
    return this.chunks.length === 0;
  }

  /** Adds a chunk; false (and nothing added) when it would pass the limit. */
  push(chunk: Uint8Array): boolean {
    if (this.chunks.length > 0 && this.size + chunk.byteLength > this.limitBytes) return false;
    this.chunks.push(chunk);
    this.add(chunk.byteLength);
    return true;
  }

  /** Adds a chunk whatever the limit (the last, small message of a stream that is being cut off). */
  force(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.add(chunk.byteLength);
  }

  shift(): Uint8Array | undefined {
    const chunk = this.chunks.shift();
    if (chunk) this.add(-chunk.byteLength);
    return chunk;
  }

  /** Drops everything held. */
  clear(): void {
    this.chunks.length = 0;
    this.add(-this.size);
  }

  private add(bytes: number): void {
    this.size += bytes;
    this.stats.bufferedBytes += bytes;
  }
}

// Reads server-sent events (text/event-stream) as they arrive, in chunks cut anywhere: each complete
// message comes out with its event name, id and data, as a browser's EventSource would dispatch it.
// Comments (the heartbeat) are reported as such, so a reader can tell a live stream from a dead one.

export interface SseEvent {
  /** 'message' when the message named none. */
  event: string;
  data: string;
  /** The message's id field, if it had one. */
  id?: string;
}

export type SseItem = { kind: 'message'; message: SseEvent } | { kind: 'comment'; text: string };

export class SseParser {
  private rest = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  /** The items completed by this chunk. */
  feed(chunk: string): SseItem[] {
    const items: SseItem[] = [];
    let text = this.rest + chunk;
    // A '\r' at the end may be the first half of '\r\n': it waits for the next chunk.
    const heldBack = text.endsWith('\r') ? '\r' : '';
    if (heldBack) text = text.slice(0, -1);
    const lines = text.split(/\r\n|\r|\n/);
    // The last piece is not a whole line yet.
    this.rest = (lines.pop() ?? '') + heldBack;
    for (const line of lines) this.line(line, items);
    return items;
  }

  private line(line: string, items: SseItem[]): void {
    if (line === '') {
      if (this.data.length > 0 || this.event !== '') {
        items.push({ kind: 'message', message: { event: this.event || 'message', data: this.data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) } });
      }
      this.event = '';
      this.data = [];
      this.id = undefined;
      return;
    }
    if (line.startsWith(':')) {
      items.push({ kind: 'comment', text: line.slice(1).trimStart() });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

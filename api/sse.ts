// Server-sent events on the wire (the WHATWG "text/event-stream" format): one message is optional
// `event:` and `id:` lines, one `data:` line per line of its data, and a blank line; a line starting
// with a colon is a comment (the watch stream's heartbeat). Pure, so the encoding is tested alone.

export interface SseMessage {
  event?: string;
  id?: number | string;
  /** The message's data; every line of it becomes one `data:` line. */
  data: string;
}

/** One message, ending with the blank line that dispatches it. */
export function encodeSse(message: SseMessage): string {
  let text = '';
  if (message.event !== undefined) text += `event: ${singleLine(message.event)}\n`;
  if (message.id !== undefined) text += `id: ${singleLine(String(message.id))}\n`;
  for (const line of message.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/** A comment line (clients ignore it; proxies see traffic). */
export function encodeSseComment(text: string): string {
  return `: ${singleLine(text)}\n\n`;
}

/** Field values of `event:` and `id:` cannot span lines (nor hold NUL in an id). */
function singleLine(value: string): string {
  return value.replace(/[\r\n\0]/g, ' ');
}

// Follows one set live: the watch stream (GET /v1/sets/{name}/watch, server-sent events) read with fetch()
// so the Authorization header can go with it (EventSource cannot send one), resumed after a drop with the
// last event's id (Last-Event-ID); when the API has no watch (404 for the route, 501 on Lambda) it polls
// the set and its events every 2 s instead. Either way the page gets the same callbacks.
import { authHeaders, errorFrom, request, setPath } from './api.js';

export const POLL_MS = 2000;
const RECONNECT_MS = [500, 1000, 2000, 5000];

/**
 * handlers: set(view), events(items, {reset}), mode('live' | 'polling' | 'reconnecting' | 'stopped'),
 * deleted(), error(err). Answers {stop()}.
 */
export function followSet(name, handlers) {
  const controller = new AbortController();
  const { signal } = controller;
  let lastSeq; // the resume token: the last event seq seen
  let eventsMissing = false; // the API has no events route (yet)

  const events = (items, options = {}) => {
    for (const item of items) lastSeq = Math.max(lastSeq ?? 0, item.seq);
    if (items.length > 0 || options.reset) handlers.events(items, options);
  };

  /** The events after lastSeq from GET .../events; all kept ones at first. A gap says some were lost. */
  const readEvents = async () => {
    if (eventsMissing) return;
    try {
      const query = lastSeq === undefined ? '' : `?since=${lastSeq}`;
      const { data } = await request('GET', `${setPath(name)}/events${query}`, { signal });
      const reset = lastSeq === undefined || (data.oldestSeq !== undefined && data.oldestSeq > lastSeq + 1);
      if (reset) lastSeq = undefined;
      events(data.items ?? [], { reset });
      if (data.latestSeq !== undefined) lastSeq = Math.max(lastSeq ?? 0, data.latestSeq);
    } catch (err) {
      if (err.status === 404 || err.status === 501) {
        // The set exists (its GET answered) but this API does not list events.
        eventsMissing = true;
        handlers.events([], { reset: true, unavailable: true });
      } else throw err;
    }
  };

  /** The set, then its events after lastSeq: what polling does each time, and the stream's start. */
  const refresh = async () => {
    const { data } = await request('GET', setPath(name), { signal });
    handlers.set(data);
    await readEvents();
  };

  const poll = async () => {
    handlers.mode('polling');
    while (!signal.aborted) {
      try {
        await refresh();
      } catch (err) {
        if (signal.aborted) return;
        if (err.status === 404) {
          handlers.deleted();
          return;
        }
        handlers.error(err);
        if (err.status === 401 || err.status === 403) return;
      }
      await sleep(POLL_MS, signal);
    }
  };

  /** Reads one stream to its end; answers 'fallback' when the API has no watch, 'stop' when done. */
  const stream = async () => {
    const headers = authHeaders({ accept: 'text/event-stream' });
    if (lastSeq !== undefined) headers['last-event-id'] = String(lastSeq);
    const res = await fetch(`${setPath(name)}/watch`, { headers, signal, cache: 'no-store', credentials: 'omit' });
    if (res.status === 404 || res.status === 501) {
      const error = await errorFrom(res);
      // 404 for a set that does not exist is said in the message; the route missing is 'no route for ...'.
      if (res.status === 404 && /does not exist/.test(error.message)) return 'deleted';
      return 'fallback';
    }
    if (!res.ok) throw await errorFrom(res);
    handlers.mode('live');
    let ended = 'reconnect';
    await readServerSentEvents(res.body, (message) => {
      if (message.event === 'set') handlers.set(JSON.parse(message.data));
      else if (message.event === 'event') events([JSON.parse(message.data)]);
      else if (message.event === 'gone') {
        // Some events were dropped before we could get them: start over from what is kept.
        lastSeq = undefined;
        ended = 'gone';
        return false;
      } else if (message.event === 'deleted') {
        ended = 'deleted';
        return false;
      } else if (message.event === 'error') {
        ended = 'reconnect';
        return false;
      }
      return true;
    });
    return ended;
  };

  const run = async () => {
    let attempt = 0;
    try {
      // The set and every kept event first; the stream then sends what follows.
      await refresh();
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 404) handlers.deleted();
      else handlers.error(err);
      return;
    }
    while (!signal.aborted) {
      let outcome;
      try {
        outcome = await stream();
        attempt = 0;
      } catch (err) {
        if (signal.aborted) return;
        handlers.error(err);
        if (err.status === 401 || err.status === 403) return;
        outcome = 'reconnect';
      }
      if (signal.aborted) return;
      if (outcome === 'fallback') return poll();
      if (outcome === 'deleted') return handlers.deleted();
      if (outcome === 'gone') await readEvents().catch(() => undefined);
      handlers.mode('reconnecting');
      await sleep(RECONNECT_MS[Math.min(attempt++, RECONNECT_MS.length - 1)], signal);
    }
  };

  run().catch((err) => {
    if (!signal.aborted) handlers.error(err);
  });
  return {
    stop() {
      controller.abort();
      handlers.mode('stopped');
    },
  };
}

/**
 * Parses a text/event-stream body (the WHATWG format: field lines, a blank line ends a message, ':'
 * starts a comment) and calls onMessage({event, data, id}) per message until it answers false.
 */
export async function readServerSentEvents(body, onMessage) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let message = { event: 'message', data: [], id: undefined };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === '') {
          if (message.data.length > 0) {
            const keepGoing = onMessage({ event: message.event, data: message.data.join('\n'), id: message.id });
            if (keepGoing === false) return;
          }
          message = { event: 'message', data: [], id: undefined };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') message.event = value;
        else if (field === 'data') message.data.push(value);
        else if (field === 'id') message.id = value;
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

// Histories as JSON files, in the form `temporal workflow show --output json` prints (proto3 JSON).
//
// The SDK's historyToJSON/historyFromJSON (@temporalio/common/lib/proto-utils) are used when they work.
// In an install where @temporalio/common and @temporalio/proto each get their own copy of protobufjs
// (as npm lays out this repository's node_modules), they throw "type must be a Type": protojson checks
// `instanceof Type` against its own copy. The fallback uses the protojson of the copy @temporalio/proto
// built its types with, so the files are the same either way.
import { createRequire } from 'node:module';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import * as protoUtils from '@temporalio/common/lib/proto-utils.js';

const require = createRequire(import.meta.url);

interface Converter {
  toJSON(history: History): unknown;
  fromJSON(json: unknown): History;
}

let fallback: Converter | undefined;
function protoConverter(): Converter {
  if (fallback) return fallback;
  const proto = require('@temporalio/proto');
  const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root');
  const fromProto = createRequire(require.resolve('@temporalio/proto'));
  const { fromJson, toJson } = fromProto('protobufjs/ext/protojson');
  const historyType = patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History');
  fallback = {
    toJSON: (history) => toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)),
    fromJSON: (json) => {
      const loaded = fromJson(historyType, json, { ignoreUnknownFields: true });
      if (!loaded) throw new TypeError('invalid history JSON');
      return loaded;
    },
  };
  return fallback;
}

function isProtobufCopyMismatch(error: unknown): boolean {
  return error instanceof TypeError && /must be a Type/.test(error.message);
}

/** A fetched history as pretty JSON text. */
export function historyToJsonText(history: History): string {
  try {
    return protoUtils.historyToJSON(history);
  } catch (error) {
    if (!isProtobufCopyMismatch(error)) throw error;
    return JSON.stringify(protoConverter().toJSON(history), null, 2);
  }
}

/** A parsed history file (proto3 JSON) as the History that Worker.runReplayHistories takes. */
export function historyFromJsonValue(json: unknown): History {
  try {
    return protoUtils.historyFromJSON(json);
  } catch (error) {
    if (!isProtobufCopyMismatch(error)) throw error;
    return protoConverter().fromJSON(json);
  }
}

// What the API's services (sets.ts, zones.ts) share in calling Temporal: one deadline over a group of
// calls, the visibility listing of running workflows, and the errors every service maps the same way.
import {
  Client,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type WorkflowExecutionInfo,
} from '@temporalio/client';

/** Every Temporal call made inside `fn` shares one deadline. */
export function withDeadline<T>(client: Client, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  return client.connection.withDeadline(Date.now() + timeoutMs, fn);
}

/** The running workflows of one type on one task queue, as visibility lists them. */
export async function runningWorkflows(client: Client, workflowType: string, taskQueue: string): Promise<WorkflowExecutionInfo[]> {
  const executions: WorkflowExecutionInfo[] = [];
  for await (const execution of client.workflow.list({
    query: `WorkflowType = '${workflowType}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`,
  })) {
    executions.push(execution);
  }
  return executions;
}

const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/**
 * Temporal (or the worker behind it) did not answer: our deadline passed (DEADLINE_EXCEEDED or, when it
 * cuts a call in flight, CANCELLED) or the server is unreachable (UNAVAILABLE). The gRPC status is on
 * the error, or on its cause when the client wrapped it (ServiceError).
 */
export function isNoAnswer(err: unknown): boolean {
  const code = (err as { code?: number } | undefined)?.code ?? (err as { cause?: { code?: number } } | undefined)?.cause?.code;
  return code === GRPC_DEADLINE_EXCEEDED || code === GRPC_UNAVAILABLE || code === GRPC_CANCELLED;
}

export interface CommonFailure {
  code: 'NotFound' | 'Unavailable';
  message: string;
}

/**
 * The Temporal errors every service answers alike, in its own words: the workflow is gone (never
 * started, or completed meanwhile) when `gone` is given, the worker did not take an Update in time
 * (`notTaken`), Temporal did not answer. Undefined for anything else.
 */
export function commonFailure(err: unknown, messages: { gone?: string; notTaken: string }): CommonFailure | undefined {
  const gone = err instanceof WorkflowNotFoundError || (err instanceof Error && /workflow execution already completed/i.test(err.message));
  if (gone && messages.gone !== undefined) return { code: 'NotFound', message: messages.gone };
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return { code: 'Unavailable', message: messages.notTaken };
  if (isNoAnswer(err)) return { code: 'Unavailable', message: 'Temporal or the Ordinal worker did not answer in time; is the worker running?' };
  return undefined;
}

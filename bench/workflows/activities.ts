// The floor's activity: does nothing, so its round trip is all Temporal (schedule, dispatch to the
// worker, complete, and the workflow task that schedules the next one).
export async function noop(): Promise<void> {}

export const floorActivities = { noop };

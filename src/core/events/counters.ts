/**
 * Counters for dashboards: sign-ins, failed sign-ins (by reason) and lockouts, one data point
 * each in Workers Analytics Engine when the ANALYTICS binding is configured. Writing a data point
 * is fire-and-forget (no await, no round trip on the request path).
 */
import type { EventInput } from "./events";

/** What the counters need of an Analytics Engine dataset binding. */
export interface DataPointWriter {
  writeDataPoint(point: { indexes?: string[]; blobs?: string[]; doubles?: number[] }): void;
}

const COUNTED = new Set<EventInput["type"]>(["sign_in.succeeded", "sign_in.failed", "account.locked"]);

/**
 * An event observer writing one data point per counted event: index and blob1 the event type,
 * blob2 the failure reason (or the sign-in's first method), double1 = 1 (sum it to count).
 */
export function analyticsCounters(dataset: DataPointWriter): (e: EventInput) => void {
  return (e) => {
    if (!COUNTED.has(e.type)) return;
    const detail =
      e.type === "sign_in.failed" ? e.reason : e.type === "sign_in.succeeded" ? (e.methods[0] ?? "") : "";
    dataset.writeDataPoint({ indexes: [e.type], blobs: [e.type, detail], doubles: [1] });
  };
}

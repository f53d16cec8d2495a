/**
 * Reports written without a connection: kept on the phone (localStorage) and sent when the
 * network is back (the `online` event, or the next visit). Each keeps a client id so that a
 * report is sent once even if the page is opened twice while it waits.
 */
import type { CaseCreate, IntakeRead } from "./api/client";

const KEY = "shancheng.outbox";

interface Queued {
  id: string;
  body: CaseCreate;
  at: string;
}

function read(): Queued[] {
  try {
    const parsed = JSON.parse(localStorage.getItem(KEY) ?? "[]") as unknown;
    return Array.isArray(parsed) ? (parsed as Queued[]) : [];
  } catch {
    return [];
  }
}

function write(items: Queued[]): void {
  localStorage.setItem(KEY, JSON.stringify(items));
}

/** Keep a report to send later. */
export function queueReport(body: CaseCreate): void {
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  write([...read(), { id, body, at: new Date().toISOString() }]);
}

/** How many reports wait. */
export function queued(): number {
  return read().length;
}

let flushing = false;

/**
 * Send every waiting report with `send`; return the references of those delivered. A report
 * the server refuses (4xx) is reported through `refused` and not retried; a network failure
 * stops the round with every unsent report kept.
 */
export async function flushQueue(send: (body: CaseCreate) => Promise<IntakeRead>, refused: (err: unknown) => void = () => undefined): Promise<string[]> {
  if (flushing || !navigator.onLine) return [];
  flushing = true;
  const sent: string[] = [];
  try {
    for (const item of read()) {
      try {
        const answer = await send(item.body);
        sent.push(answer.case.reference ?? String(answer.case.id));
      } catch (err) {
        if (err instanceof TypeError) break;
        refused(err); // said to the reporter, not kept to fail again
      }
      write(read().filter((x) => x.id !== item.id));
    }
  } finally {
    flushing = false;
  }
  return sent;
}

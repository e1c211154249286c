import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { AppError, type CallOptions } from "@sker/kit";
import type { SubmitTaskRequest, SubmitTaskResponse } from "@sker/contracts/broker/v1/broker";
import type { Clients } from "../clients.js";

const ATTEMPTS = 4;
/**
 * A submission's budget per attempt, longer than a read's: in a burst the broker admits
 * submissions in turn (its admission gate), and one that waits in line should answer 202 late
 * rather than 503 while its task is created anyway.
 */
const SUBMIT_DEADLINE_MS = 30_000;
/** The failures after which the task may or may not have been written (the answer was lost). */
const UNSURE = new Set(["UNAVAILABLE", "DEADLINE_EXCEEDED"]);

/**
 * SubmitTask such that an error means "not created" and a success "will run". A broker that
 * dies (or answers too late) after the store committed the task leaves the caller unsure; so
 * every submit carries an idempotency key (the client's, or one of the gateway's own when the
 * client sent none) and an unsure failure is asked again with the same key, which answers the
 * task if the first attempt created it. Only when every attempt is unsure does the caller get
 * the 503. A caller's own deadlineMs wins over SUBMIT_DEADLINE_MS.
 */
export async function submitTask(clients: Clients, req: SubmitTaskRequest, call: CallOptions, onKey: (key: string) => void = () => {}): Promise<SubmitTaskResponse> {
  const own = req.idempotencyKey === "";
  const keyed = own ? { ...req, idempotencyKey: `auto:${randomUUID()}` } : req;
  // The key goes back with every answer, the 503 included: a COMMIT whose answer the connection
  // lost (PostgreSQL gone at that instant) leaves the task's fate unknown even to the store, and
  // asking again with this key is how a client learns it without creating a second task.
  onKey(keyed.idempotencyKey);
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await clients.broker.submitTask(keyed, { ...call, deadlineMs: call.deadlineMs ?? SUBMIT_DEADLINE_MS });
      // Our own key can only have met our own earlier attempt: for the client it is created now.
      return own ? { ...res, created: true } : res;
    } catch (err) {
      // A client that went away is not asked again for: nobody would read the answer.
      if (attempt >= ATTEMPTS || !(err instanceof AppError && UNSURE.has(err.code)) || call.signal?.aborted) throw err;
      // Spaced out so that a broker just killed is no longer picked by the time we ask again.
      await sleep(250 * attempt);
    }
  }
}

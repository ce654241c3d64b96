/**
 * A worker thread answering requests one message each, for work that must stay off the event loop (payload
 * hashing, file facts). Started on first use and unreferenced while idle, so it never keeps the process alive;
 * answers are matched to requests by id. A worker that fails or exits rejects everything it was asked, and the
 * next request starts a new one.
 */
import { Worker } from 'node:worker_threads';

interface Answer {
  id: number;
  /** Set when the worker could not do the work: the request rejects with this message. */
  error?: string;
}

export class RequestWorker<Request extends object, Reply extends object> {
  readonly #script: URL;
  readonly #name: string;
  #worker: Worker | null = null;
  #next = 0;
  readonly #waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();

  /** `script` posts back `{ id, …reply }` (or `{ id, error }`) for every `{ id, …request }` it receives. */
  constructor(script: URL, name: string) {
    this.#script = script;
    this.#name = name;
  }

  run(request: Request, transfer: ArrayBuffer[] = []): Promise<Reply> {
    const worker = this.#start();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      if (this.#waiting.size === 1) worker.ref();
      worker.postMessage({ ...request, id }, transfer);
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(this.#script);
    worker.unref();
    worker.on('message', (answer: Answer & Reply) => {
      const waiter = this.#waiting.get(answer.id);
      this.#waiting.delete(answer.id);
      if (this.#waiting.size === 0) worker.unref();
      if (answer.error !== undefined) waiter?.reject(new Error(`${this.#name} failed: ${answer.error}`));
      else waiter?.resolve(answer);
    });
    const fail = (error: Error) => {
      for (const waiter of this.#waiting.values()) waiter.reject(error);
      this.#waiting.clear();
      this.#worker = null;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the ${this.#name} stopped (exit code ${code})`)));
    this.#worker = worker;
    return worker;
  }
}

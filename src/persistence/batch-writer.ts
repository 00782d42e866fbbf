/**
 * Group commit for the level store.
 *
 * Every change is a list of operations handed to `write()`. Nothing is written on the spot:
 * changes queue up and are written together as ONE `db.batch()`, started on `setImmediate` so
 * that everything that arrives in the same turn of the event loop (a burst of QoS 1 publishes
 * read from many sockets, say) shares one batch and, in sync mode, one fsync. Each caller's
 * promise resolves only once the batch holding its operations has been written.
 *
 * At most one batch is in flight. While it is, new changes pile up and become the next batch
 * as soon as it lands, so under load batches grow by themselves, and batches land in the order
 * their changes were made: LevelDB runs batches on a thread pool and two in flight at once may
 * be applied in either order, which would let a `removeQueued` overtake the enqueue it undoes.
 *
 * Each change may carry an `apply` callback, run in order once its batch has landed: that is
 * where the store updates its in-memory indexes, so they never show a change that failed to
 * be written.
 *
 * `exclusive()` runs a change that has to read before it knows what to write (deleting every
 * key of a client): its `prepare` runs only after all earlier changes have landed, and nothing
 * later is written until its own batch has, so what it reads cannot go stale under it.
 */

export type BatchOp =
  | { type: 'put'; key: string; value: Buffer }
  | { type: 'del'; key: string }

export interface Change {
  ops: BatchOp[]
  apply?: (() => void) | undefined
}

interface Pending {
  change: Change | undefined
  prepare: (() => Promise<Change>) | undefined
  resolve: () => void
  reject: (err: unknown) => void
}

export interface BatchWriterOptions {
  /** Writes one batch; the store passes `db.batch` with its sync option bound. */
  write: (ops: BatchOp[]) => Promise<void>
  /** Operations to add to every batch (the level store's seq high-water mark). */
  extraOps?: () => BatchOp[]
}

export class BatchWriter {
  readonly #write: (ops: BatchOp[]) => Promise<void>
  readonly #extraOps: () => BatchOp[]
  #queue: Pending[] = []
  #isRunning = false

  constructor(options: BatchWriterOptions) {
    this.#write = options.write
    this.#extraOps = options.extraOps ?? (() => [])
  }

  write(change: Change): Promise<void> {
    return this.#enqueue(change, undefined)
  }

  exclusive(prepare: () => Promise<Change>): Promise<void> {
    return this.#enqueue(undefined, prepare)
  }

  #enqueue(change: Change | undefined, prepare: (() => Promise<Change>) | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ change, prepare, resolve, reject })
      if (!this.#isRunning) {
        this.#isRunning = true
        setImmediate(this.#start)
      }
    })
  }

  readonly #start = (): void => {
    void this.#run()
  }

  async #run(): Promise<void> {
    try {
      await this.#drainQueue()
    } finally {
      // Everything in #drainQueue settles its own promises; this only keeps a bug there from
      // wedging the writer for good.
      this.#isRunning = false
      if (this.#queue.length > 0) {
        this.#isRunning = true
        setImmediate(this.#start)
      }
    }
  }

  async #drainQueue(): Promise<void> {
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as Pending
      let group: Pending[]
      if (head.prepare !== undefined) {
        group = this.#queue.splice(0, 1)
        try {
          head.change = await head.prepare()
        } catch (err) {
          head.reject(err)
          continue
        }
      } else {
        const end = this.#queue.findIndex((p) => p.prepare !== undefined)
        group = this.#queue.splice(0, end === -1 ? this.#queue.length : end)
      }
      await this.#commit(group)
    }
  }

  async #commit(group: Pending[]): Promise<void> {
    const ops: BatchOp[] = []
    for (const pending of group) {
      for (const op of pending.change?.ops ?? []) ops.push(op)
    }
    try {
      if (ops.length > 0) {
        for (const op of this.#extraOps()) ops.push(op)
        await this.#write(ops)
      }
    } catch (err) {
      for (const pending of group) pending.reject(err)
      return
    }
    for (const pending of group) {
      try {
        pending.change?.apply?.()
        pending.resolve()
      } catch (err) {
        pending.reject(err)
      }
    }
  }
}

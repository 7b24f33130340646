import { DurableObject } from "cloudflare:workers";
import { type Db, getDb } from "../db/client";
import { type Settings, getSettings } from "../env";

/**
 * What every actor of the gateway shares: one operation at a time through a promise chain, not
 * blockConcurrencyWhile, because network calls (query order, webhooks, uploads) must not stall the object while a
 * repeat waits to be answered.
 */
export abstract class SerialActor extends DurableObject<Env> {
  private tail: Promise<unknown> = Promise.resolve();

  protected serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  protected get db(): Db {
    return getDb(this.env);
  }

  protected get settings(): Settings {
    return getSettings(this.env);
  }

  protected get kv(): SyncKvStorage {
    return this.ctx.storage.kv;
  }
}

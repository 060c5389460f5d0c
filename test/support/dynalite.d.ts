// dynalite ships no types; this declares the part the tests use.
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** How long a new table stays CREATING. @default 500 */
    createTableMs?: number;
    /** How long a deleted table stays DELETING. @default 500 */
    deleteTableMs?: number;
    /** How long an updated table stays UPDATING. @default 500 */
    updateTableMs?: number;
    /** @default 400 */
    maxItemSizeKb?: number;
    /** LevelDB directory; in memory when absent. */
    path?: string;
  }

  /** An http.Server whose `close` also closes the store. */
  function dynalite(options?: DynaliteOptions): Server;
  export = dynalite;
}

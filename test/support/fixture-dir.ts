/** A temp directory for the fixtures of one test file, removed after its tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A directory under the system temp dir that holds a test file's fixtures. */
export interface FixtureDir {
  /** The directory's absolute path. */
  readonly path: string;
  /** Writes `content` to the file `name` in the directory, and returns the file's path. */
  readonly file: (name: string, content: string | Uint8Array) => string;
}

/**
 * Creates a fresh directory named `<prefix>XXXXXX` in the temp dir, and removes it with everything
 * in it after the tests of the suite that calls this (the file, when called at its top level).
 */
export function fixtureDir(prefix: string): FixtureDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => {
    rmSync(path, { recursive: true, force: true });
  });
  return {
    path,
    file: (name, content) => {
      const file = join(path, name);
      writeFileSync(file, content);
      return file;
    },
  };
}

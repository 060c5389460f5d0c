/**
 * The README, the CHANGELOG and docs/*.md as a reader follows them: every relative link opens a file
 * that exists, every `#anchor` names a heading of its page (as GitHub makes anchors), and every docs
 * page can be reached from the README.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DOCS = join(ROOT, 'docs');
const PAGES = [
  join(ROOT, 'README.md'),
  join(ROOT, 'CHANGELOG.md'),
  ...readdirSync(DOCS)
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(DOCS, name)),
];

interface Link {
  /** The page the link is on. */
  readonly page: string;
  readonly line: number;
  readonly target: string;
}

/** Lines outside fenced code blocks, with inline code removed: what Markdown renders as text and links. */
function proseLines(text: string): { line: number; text: string }[] {
  const lines: { line: number; text: string }[] = [];
  let fenced = false;
  text.split('\n').forEach((line, index) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return;
    }
    if (!fenced) lines.push({ line: index + 1, text: line.replace(/`[^`]*`/g, '') });
  });
  return lines;
}

function linksOf(page: string): Link[] {
  const links: Link[] = [];
  for (const { line, text } of proseLines(readFileSync(page, 'utf8'))) {
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1];
      if (target !== undefined) links.push({ page, line, target });
    }
  }
  return links;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(page: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = readFileSync(page, 'utf8');
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (heading?.[1] === undefined) continue;
    const base = heading[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

const where = (link: Link): string => `${relative(ROOT, link.page)}:${link.line} ${link.target}`;
const relativeLinks = PAGES.flatMap(linksOf).filter((link) => !isExternal(link.target));

describe('documentation links', () => {
  it('finds the relative links of the README and the docs pages', () => {
    expect(relativeLinks.length).toBeGreaterThan(30);
  });

  it('opens a file that exists for every relative link', () => {
    const broken = relativeLinks
      .filter((link) => !link.target.startsWith('#'))
      .filter((link) => !existsSync(resolve(dirname(link.page), decodeURI(link.target.split('#')[0] ?? ''))))
      .map(where);
    expect(broken).toEqual([]);
  });

  it('names a heading of the linked page for every #anchor', () => {
    const broken = relativeLinks
      .filter((link) => link.target.includes('#'))
      .filter((link) => {
        const [file = '', anchor = ''] = link.target.split('#');
        const page = file === '' ? link.page : resolve(dirname(link.page), file);
        return !page.endsWith('.md') || !existsSync(page) || !anchorsOf(page).has(anchor);
      })
      .map(where);
    expect(broken).toEqual([]);
  });

  it('links every docs page from the README', () => {
    const fromReadme = new Set(
      linksOf(join(ROOT, 'README.md')).map((link) => resolve(ROOT, link.target.split('#')[0] ?? '')),
    );
    const unlinked = PAGES.filter((page) => dirname(page) === DOCS && !fromReadme.has(page)).map((page) =>
      relative(ROOT, page),
    );
    expect(unlinked).toEqual([]);
  });
});

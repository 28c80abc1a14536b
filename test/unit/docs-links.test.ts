// The documentation's links: every relative link in README.md and docs/*.md must name a file of the
// repository, and every anchor (#...) a heading of its target page, slugged as GitHub slugs headings.
// Links are read with marked's lexer (so links in code blocks and code spans are not links), and each
// broken one is reported with its file and line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import GithubSlugger from 'github-slugger';
import { marked, type Token, type Tokens } from 'marked';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Link {
  href: string;
  line: number;
}

/** README.md and every docs/*.md page of `root`. */
function docFiles(root: string): string[] {
  const docs = path.join(root, 'docs');
  const pages = fs.existsSync(docs)
    ? fs
        .readdirSync(docs)
        .filter((f) => f.endsWith('.md'))
        .sort()
        .map((f) => path.join(docs, f))
    : [];
  return [path.join(root, 'README.md'), ...pages];
}

/** Every token below `token` (table cells, list items and inline tokens included), depth first, in order. */
function* walk(token: Token): Generator<Token> {
  yield token;
  const t = token as Token & { tokens?: Token[]; items?: Token[]; header?: Tokens.TableCell[]; rows?: Tokens.TableCell[][] };
  for (const child of t.tokens ?? []) yield* walk(child);
  for (const item of t.items ?? []) yield* walk(item);
  for (const cell of t.header ?? []) for (const child of cell.tokens) yield* walk(child);
  for (const row of t.rows ?? []) for (const cell of row) for (const child of cell.tokens) yield* walk(child);
}

/** The links of a Markdown text with their 1-based lines (reference links and their definitions too). */
function linksOf(text: string): Link[] {
  const links: Link[] = [];
  const lineAt = (offset: number) => text.slice(0, offset).split('\n').length;
  let offset = 0;
  for (const block of marked.lexer(text)) {
    // Top-level tokens' raw texts follow each other through the source.
    const start = text.indexOf(block.raw, offset);
    const blockStart = start === -1 ? offset : start;
    let cursor = 0;
    for (const token of walk(block)) {
      if (token.type !== 'link' && token.type !== 'def') continue;
      const href = (token as Tokens.Link | Tokens.Def).href;
      const at = block.raw.indexOf(token.raw, cursor);
      if (at !== -1) cursor = at + 1;
      links.push({ href, line: lineAt(blockStart + Math.max(at, 0)) });
    }
    offset = blockStart + block.raw.length;
  }
  return links;
}

/** The text GitHub slugs a heading from: what it renders, without Markdown syntax or HTML. */
function plainText(tokens: Token[]): string {
  return tokens
    .map((t) => {
      const inner = (t as { tokens?: Token[] }).tokens;
      if (inner) return plainText(inner);
      if (t.type === 'html') return '';
      return (t as { text?: string }).text ?? '';
    })
    .join('')
    .replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}

/** The anchors of a Markdown page's headings, as GitHub makes them (duplicates get -1, -2 ...). */
function anchorsOf(text: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  for (const block of marked.lexer(text)) {
    for (const token of walk(block)) {
      if (token.type === 'heading') anchors.add(slugger.slug(plainText((token as Tokens.Heading).tokens)));
    }
  }
  return anchors;
}

/** Every broken relative link of `files`, as "file:line: link: why" with the file relative to `root`. */
function brokenLinks(root: string, files: string[]): string[] {
  const anchorCache = new Map<string, Set<string>>();
  const anchors = (file: string) => {
    let found = anchorCache.get(file);
    if (!found) {
      found = anchorsOf(fs.readFileSync(file, 'utf8'));
      anchorCache.set(file, found);
    }
    return found;
  };
  const broken: string[] = [];
  for (const file of files) {
    const where = path.relative(root, file);
    for (const { href, line } of linksOf(fs.readFileSync(file, 'utf8'))) {
      // External (http:, https:, mailto: ...) and protocol-relative links are not ours to check.
      if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//')) continue;
      const report = (why: string) => broken.push(`${where}:${line}: ${href}: ${why}`);
      const hash = href.indexOf('#');
      const target = hash === -1 ? href : href.slice(0, hash);
      const anchor = hash === -1 ? undefined : href.slice(hash + 1);
      let targetFile = file;
      if (target !== '') {
        let decoded: string;
        try {
          decoded = decodeURIComponent(target);
        } catch {
          report('not a valid URL path');
          continue;
        }
        if (decoded.startsWith('/')) {
          report('an absolute path: write it relative to the page');
          continue;
        }
        targetFile = path.resolve(path.dirname(file), decoded);
        if (path.relative(root, targetFile).startsWith('..')) {
          report('points outside the repository');
          continue;
        }
        if (!fs.existsSync(targetFile)) {
          report(`no such file (${path.relative(root, targetFile)})`);
          continue;
        }
      }
      if (anchor === undefined) continue;
      if (anchor === '') {
        report('an empty anchor');
      } else if (!targetFile.endsWith('.md')) {
        // GitHub's line anchors are the only ones a source file has.
        if (!/^L\d+(-L\d+)?$/.test(anchor)) report(`${path.relative(root, targetFile)} is not a Markdown page: no heading anchors`);
      } else if (!anchors(targetFile).has(decodeURIComponent(anchor))) {
        report(`no heading with the anchor #${anchor} in ${path.relative(root, targetFile)}`);
      }
    }
  }
  return broken;
}

describe('docs links', () => {
  it('README.md and docs/ exist and have links to check', () => {
    const files = docFiles(REPO);
    expect(files.length).toBeGreaterThan(1);
    expect(files.every((f) => fs.existsSync(f))).toBe(true);
    expect(files.flatMap((f) => linksOf(fs.readFileSync(f, 'utf8'))).length).toBeGreaterThan(10);
  });

  it('every relative link resolves to a file, and every anchor to a heading of its page', () => {
    const broken = brokenLinks(REPO, docFiles(REPO));
    expect(broken, `broken links:\n${broken.join('\n')}`).toEqual([]);
  });

  it('README.md links to every docs/ page', () => {
    const readme = path.join(REPO, 'README.md');
    const linked = new Set(
      linksOf(fs.readFileSync(readme, 'utf8'))
        .map((l) => l.href.split('#')[0]!)
        .filter((href) => href !== '')
        .map((href) => path.resolve(REPO, decodeURIComponent(href))),
    );
    const unlinked = docFiles(REPO)
      .slice(1)
      .filter((page) => !linked.has(page))
      .map((page) => path.relative(REPO, page));
    expect(unlinked).toEqual([]);
  });
});

describe('docs links: the checker itself', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-docs-links-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'docs'));
  fs.mkdirSync(path.join(root, 'src'));
  fs.writeFileSync(path.join(root, 'src', 'main.ts'), '');
  fs.writeFileSync(
    path.join(root, 'README.md'),
    [
      '# Project', // 1
      '', // 2
      'See [the guide](docs/guide.md) and [its setup](docs/guide.md#set-up-ecsfargate).', // 3
      '', // 4
      '| page | what |', // 5
      '| --- | --- |', // 6
      '| [missing](docs/missing.md) | gone |', // 7
      '', // 8
      '- [bad anchor](docs/guide.md#no-such-heading)', // 9
      '- [code](src/main.ts) and [a line](src/main.ts#L3) and [not a line](src/main.ts#top)', // 10
      '', // 11
      '```sh', // 12
      'echo [not a link](nowhere.md)', // 13
      '```', // 14
      '', // 15
      '[external](https://example.com/x.md) and `[code span](nowhere.md)`', // 16
      '', // 17
      'Here: [self](#project), [twice](#twice-1), [wrong self](#projects), [escape](../outside.md).', // 18
      '', // 19
      '## Twice', // 20
      '## Twice', // 21
      '', // 22
    ].join('\n'),
  );
  fs.writeFileSync(path.join(root, 'docs', 'guide.md'), '# Guide\n\n## Set up `ECS/Fargate`\n\nBack to [the README](../README.md#project).\n');

  it('finds each broken link, with its file and line, and nothing else', () => {
    expect(brokenLinks(root, docFiles(root))).toEqual([
      'README.md:7: docs/missing.md: no such file (docs/missing.md)',
      'README.md:9: docs/guide.md#no-such-heading: no heading with the anchor #no-such-heading in docs/guide.md',
      'README.md:10: src/main.ts#top: src/main.ts is not a Markdown page: no heading anchors',
      'README.md:18: #projects: no heading with the anchor #projects in README.md',
      'README.md:18: ../outside.md: points outside the repository',
    ]);
  });

  it('slugs headings as GitHub does', () => {
    expect([...anchorsOf('# Set up `ECS/Fargate`\n## How a set behaves\n## How a set behaves\n### Dependencies, and why\n')]).toEqual([
      'set-up-ecsfargate',
      'how-a-set-behaves',
      'how-a-set-behaves-1',
      'dependencies-and-why',
    ]);
  });
});

// The shape of src/: no import cycles among its files (type-only imports count: they tie the files together for
// whoever reads or moves them), and no file over MAX_LINES lines. Issue 12.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');
const MAX_LINES = 400;

type Graph = Map<string, string[]>;

/** Every .ts file under `dir`, as paths relative to the repository. */
function tsFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return tsFiles(path);
      return name.endsWith('.ts') ? [relative(ROOT, path)] : [];
    });
}

/** The specifiers a file imports or re-exports from (`import type` and `export … from` included). */
function specifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** The import graph among the files of src/: each file to the files of src/ it imports. */
function importGraph(): Graph {
  const files = tsFiles(SRC);
  const known = new Set(files);
  const graph: Graph = new Map();
  for (const file of files) {
    const targets = specifiers(readFileSync(join(ROOT, file), 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((s) => {
        const base = relative(ROOT, resolve(ROOT, dirname(file), s));
        const found = [base, `${base}.ts`, join(base, 'index.ts')].find((c) => known.has(c));
        if (!found) throw new Error(`${file}: cannot resolve '${s}' to a file of src/`);
        return found;
      });
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

interface Cycle {
  /** The files caught in it (one strongly connected component), sorted. */
  files: string[];
  /**
   * Chains of imports through them, each from a file back to it (`a.ts -> b.ts -> a.ts`): for each file the
   * shortest, so that every file of the tangle shows in one.
   */
  chains: string[];
}

/**
 * The import cycles of `graph`: a depth-first search (Tarjan's) finds its strongly connected components, and
 * each component of more than one file, or a file importing itself, is a cycle. A tangle of several cycles
 * over the same files is one entry, so a new import cannot hide behind a known cycle: it changes the entry.
 */
function findCycles(graph: Graph): Cycle[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components
    .map((files) => ({ files, chains: [...new Set(files.map((f) => chainThrough(graph, files, f)))] }))
    .sort((a, b) => a.files.join().localeCompare(b.files.join()));
}

/** A shortest chain of imports from `start` back to it, staying among `files`, written from its first file. */
function chainThrough(graph: Graph, files: string[], start: string): string {
  const inside = new Set(files);
  const from = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of (graph.get(v) ?? []).filter((x) => inside.has(x)).sort()) {
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(from.get(path[0]!)!);
        // The same cycle found from another of its files is written alike: from its first file.
        const first = path.indexOf([...path].sort()[0]!);
        const rotated = [...path.slice(first), ...path.slice(0, first)];
        return [...rotated, rotated[0]].join(' -> ');
      }
      if (!from.has(w) && w !== start) {
        from.set(w, v);
        queue.push(w);
      }
    }
  }
  throw new Error(`no cycle through ${files.join(', ')}`);
}

const sameFiles = (cycle: Cycle, chain: string) => {
  const files = [...new Set(chain.split(' -> '))].sort();
  return files.join() === cycle.files.join();
};

function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

describe('findCycles', () => {
  const graph = (edges: Record<string, string[]>): Graph => new Map(Object.entries(edges));

  it('finds none in a graph without cycles, shared imports included', () => {
    expect(findCycles(graph({ a: ['b', 'c'], b: ['c'], c: [] }))).toEqual([]);
  });

  it('reports each cycle as a chain of files, back to where it starts', () => {
    const cycles = findCycles(graph({ a: ['b'], b: ['c'], c: ['a'], d: ['e'], e: ['d'], f: ['a'] }));
    expect(cycles).toEqual([
      { files: ['a', 'b', 'c'], chains: ['a -> b -> c -> a'] },
      { files: ['d', 'e'], chains: ['d -> e -> d'] },
    ]);
  });

  it('finds a file importing itself', () => {
    expect(findCycles(graph({ a: ['a', 'b'], b: [] }))).toEqual([{ files: ['a'], chains: ['a -> a'] }]);
  });

  it('shows every file of a tangle of cycles in a chain', () => {
    const cycles = findCycles(graph({ hub: ['a', 'b'], a: ['hub'], b: ['hub'] }));
    expect(cycles).toEqual([{ files: ['a', 'b', 'hub'], chains: ['a -> hub -> a', 'b -> hub -> b'] }]);
  });

  it('takes a new cycle through the files of a known one as a different tangle', () => {
    const known = findCycles(graph({ main: ['shell'], shell: ['main'] }));
    const grown = findCycles(graph({ main: ['shell'], shell: ['main', 'x'], x: ['main'] }));
    expect(known.map((c) => c.files)).toEqual([['main', 'shell']]);
    expect(grown.map((c) => c.files)).toEqual([['main', 'shell', 'x']]);
    expect(sameFiles(grown[0]!, known[0]!.chains[0]!)).toBe(false);
  });
});

describe('specifiers', () => {
  it('reads imports, type-only imports and re-exports, over several lines', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      'import {',
      '  c,',
      '  type D,',
      "} from './c.ts';",
      "export { e } from './e.ts';",
      "export type { F } from './f.ts';",
      "import * as g from 'node:fs';",
      "// import { h } from './commented-out.ts';",
      'const s = "import { i } from \'./in-a-string.ts\'";',
    ].join('\n');
    expect(specifiers(text)).toEqual(['./a.ts', '../b.ts', './c.ts', './e.ts', './f.ts', 'node:fs']);
  });
});

describe('src/', () => {
  const graph = importGraph();

  it('has no import cycles', () => {
    expect(findCycles(graph).flatMap((c) => c.chains)).toEqual([]);
  });

  it('keeps src/errors.ts free of imports, types included, so that any file may import it', () => {
    expect(specifiers(readFileSync(join(SRC, 'errors.ts'), 'utf8'))).toEqual([]);
  });

  it('has no file over 400 lines', () => {
    const long = [...graph.keys()]
      .map((file) => ({ file, lines: lineCount(readFileSync(join(ROOT, file), 'utf8')) }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });
});

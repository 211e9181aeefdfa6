// The runnable examples of the documentation: fenced blocks whose info string has the word `test`
// (```sh test, ```js test, ```html test), with words after it of the form NAME=value giving the
// server that example needs (```sh test HERALD_API_KEY=my-secret).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface DocBlock {
  /** file:line, for the failure message. */
  where: string;
  lang: string;
  env: Record<string, string>;
  code: string;
}

export function docBlocks(): DocBlock[] {
  const files = [
    'README.md',
    ...readdirSync(`${root}docs`)
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const blocks: DocBlock[] = [];
  for (const file of files.sort()) {
    const lines = readFileSync(`${root}${file}`, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\w+)\s+test\b(.*)$/.exec(lines[i]);
      if (!open) continue;
      const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
      if (end < 0) throw new Error(`${file}:${i + 1}: the example block is not closed`);
      const env: Record<string, string> = {};
      for (const word of open[2].trim().split(/\s+/).filter(Boolean)) {
        const eq = word.indexOf('=');
        if (eq < 1) throw new Error(`${file}:${i + 1}: "${word}" is not NAME=value`);
        env[word.slice(0, eq)] = word.slice(eq + 1);
      }
      blocks.push({
        where: `${file}:${i + 1}`,
        lang: open[1],
        env,
        code: lines.slice(i + 1, end).join('\n'),
      });
      i = end;
    }
  }
  return blocks;
}

export interface ShellStep {
  command: string;
  /** The JSON of the `# {...}` comment under the command: the answer's shape. */
  expected?: unknown;
}

/** A shell block as commands (backslash continuations joined), each with its documented answer. */
export function shellSteps(code: string): ShellStep[] {
  const steps: ShellStep[] = [];
  let pending = '';
  for (const line of code.split('\n')) {
    if (pending !== '') {
      pending += `\n${line}`;
      if (!line.trimEnd().endsWith('\\')) {
        steps.push({ command: pending });
        pending = '';
      }
      continue;
    }
    const comment = /^#\s?(.*)$/.exec(line.trim());
    if (comment) {
      const last = steps[steps.length - 1];
      const text = comment[1].trim();
      if (last !== undefined && last.expected === undefined && /^[[{]/.test(text)) {
        try {
          last.expected = JSON.parse(text);
        } catch {
          // prose, or an abridged answer ("eyJj..."): not a shape to check
        }
      }
      continue;
    }
    if (line.trim() === '') continue;
    if (line.trimEnd().endsWith('\\')) pending = line;
    else steps.push({ command: line });
  }
  return steps;
}

/**
 * Where `actual` differs from `expected` in shape: the same keys at every level, the same kinds of
 * values; the values themselves (offsets, epochs) are the server's, and so is all of `data`.
 */
export function shapeProblems(expected: unknown, actual: unknown, path = '$'): string[] {
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(expected) !== kind(actual)) return [`${path}: documented ${kind(expected)}, got ${kind(actual)}`];
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length === 0 || actual.length === 0) return [];
    return shapeProblems(expected[0], actual[0], `${path}[0]`);
  }
  if (kind(expected) !== 'object') return [];
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(e)) {
    if (!(k in a)) problems.push(`${path}.${k}: documented, missing`);
    // A publication's data is whatever was published: any value is its shape.
    else if (k !== 'data') problems.push(...shapeProblems(e[k], a[k], `${path}.${k}`));
  }
  for (const k of Object.keys(a)) if (!(k in e)) problems.push(`${path}.${k}: not documented`);
  return problems;
}

// "Did you mean ...?" for names a person typed: the known name fewest edits away, when it is close
// enough to be a typo rather than a different word.

/** Levenshtein distance, with a swap of two neighbours counted as one edit ("histroy"). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** Case, dashes and underscores do not tell options apart: "history-size" is historySize. */
const folded = (s: string) => s.toLowerCase().replace(/[-_]/g, '');

/** The known name closest to `given`, or undefined when none is within a third of its length. */
export function closest(given: string, known: Iterable<string>): string | undefined {
  const g = folded(given);
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(g.length / 3)) + 1;
  for (const name of known) {
    const d = distance(g, folded(name));
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** "; did you mean X?" or nothing. */
export function didYouMean(given: string, known: Iterable<string>): string {
  const match = closest(given, known);
  return match === undefined ? '' : `; did you mean ${match}?`;
}

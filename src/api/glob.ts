// Channel-name patterns for the server API's `channels` method: `*` matches any run of characters
// (including none); every other character, `?` and `[` included, stands for itself. Pure.
//
// Not a RegExp: `.*` groups make a backtracking engine try every way of splitting the name among
// the stars, which is exponential in their number ("*a*a*a...b" against a long run of "a").
// Here a mismatch only moves back to the most recent star, and that star only ever advances, so
// the work is at most pattern length x name length.

/** Whether `name` matches `pattern` as a whole. Compares UTF-16 code units, which is exact with `*` as the only wildcard. */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  /** Index of the last star seen in the pattern, -1 before any. */
  let star = -1;
  /** Where in the name the characters that star covers end, so far. */
  let starEnd = 0;
  while (n < name.length) {
    if (p < pattern.length && pattern.charCodeAt(p) === STAR) {
      star = p++;
      starEnd = n;
    } else if (p < pattern.length && pattern.charCodeAt(p) === name.charCodeAt(n)) {
      p++;
      n++;
    } else if (star !== -1) {
      // Let the last star swallow one more character and retry what follows it. Earlier stars
      // never need revisiting: whatever they could have covered, the last one can cover instead.
      p = star + 1;
      n = ++starEnd;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

const STAR = 0x2a;

// Payloads are checked once, where they enter the hub, whatever door they came by. Deep nesting is
// the one shape that JSON.parse accepts but JSON.stringify (every door's encoder, and the Redis
// engine's) cannot give back: it recurses and overflows the stack. So depth is bounded here, before
// the engine stores anything, and a publication that could not be encoded is never accepted.

/** Returns a reason `data` nests deeper than `maxDepth` arrays/objects, or undefined. Iterative. */
export function payloadDepthProblem(data: unknown, maxDepth: number): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  // Explicit stack of (value, depth): the check itself must not recurse on hostile input.
  const values: unknown[] = [data];
  const depths: number[] = [1];
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop() as number;
    if (depth > maxDepth) return `data nests deeper than ${maxDepth} levels`;
    const children = Array.isArray(value) ? value : Object.values(value as object);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return undefined;
}

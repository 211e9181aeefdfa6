// Which "address" a per-address limit counts. IPv4 (also IPv4-mapped IPv6) by the whole address;
// IPv6 by its /64, because one subscriber line usually gets a whole /64 and could otherwise open
// connections from 2^64 addresses.

export function addressKey(remote: string | undefined): string {
  if (!remote) return 'unknown';
  if (!remote.includes(':')) return remote;
  const lower = remote.toLowerCase();
  if (lower.startsWith('::ffff:') && lower.includes('.')) return lower.slice(7);
  const [head, tail] = lower.split('::', 2) as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

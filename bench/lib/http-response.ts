// The load side's minimal HTTP/1.1 response reader: the status line and content-length of the
// first whole response in a buffer, the body skipped. Enough for the server API's answers.

/** The first complete response in `buf`: its status and what follows it; undefined if incomplete. */
export function takeResponse(buf: Buffer): { status: number; rest: Buffer } | undefined {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const head = buf.toString('latin1', 0, headEnd);
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const total = headEnd + 4 + (m ? Number(m[1]) : 0);
  if (buf.length < total) return undefined;
  return { status: Number(head.slice(9, 12)), rest: buf.subarray(total) };
}

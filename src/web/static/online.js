// "Who is online" for the room: each page announces its name on a channel every few seconds and
// when it leaves; names not heard from for a while drop off. Live publications only, no history.

const BEAT_MS = 10_000;
const FORGET_MS = 25_000;

export function startOnline(client, channel, nameInput, list, count) {
  if (!client) {
    list.textContent = 'unavailable (SDK not loaded)';
    return;
  }
  const me = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const seen = new Map(); // id -> { name, at }
  let lastBeat = 0;
  const sub = client.newSubscription(channel);

  const render = () => {
    const now = Date.now();
    for (const [id, p] of seen) if (now - p.at > FORGET_MS) seen.delete(id);
    const items = [...seen.entries()].sort((a, b) => a[1].name.localeCompare(b[1].name));
    list.replaceChildren(
      ...items.map(([id, p]) => {
        const li = document.createElement('li');
        li.textContent = id === me ? `${p.name} (you)` : p.name;
        return li;
      }),
    );
    count.textContent = `(${items.length})`;
  };
  const announce = (kind) => {
    lastBeat = Date.now();
    sub.publish({ id: me, name: nameInput.value.trim() || 'anonymous', kind }).catch(() => {});
  };

  sub.on('subscribed', () => announce('hello'));
  sub.on('error', (ctx) => {
    list.textContent = `unavailable: ${ctx.error?.message ?? 'subscription refused'}`;
  });
  sub.on('publication', (ctx) => {
    const { id, name, kind } = ctx.data ?? {};
    if (typeof id !== 'string' || typeof name !== 'string') return;
    if (kind === 'bye') seen.delete(id);
    else {
      const isNew = !seen.has(id);
      seen.set(id, { name: name.slice(0, 32), at: Date.now() });
      // A newcomer learns who is here at once, not at the next beat.
      if (kind === 'hello' && id !== me && isNew && Date.now() - lastBeat > 1000) announce('here');
    }
    render();
  });
  sub.subscribe();
  nameInput.addEventListener('change', () => announce('here'));
  setInterval(() => {
    announce('here');
    render();
  }, BEAT_MS);
  addEventListener('pagehide', () => announce('bye'));
}

// The channel explorer: watch any channel (an EventSource, which carries each publication's offset
// and epoch) and publish to it (a client publish over the channel protocol connection).

export function startExplorer(client, initial, textOf) {
  const $ = (id) => document.getElementById(id);
  const channelInput = $('explorer-channel');
  const state = $('explorer-state');
  const body = $('explorer-log');
  channelInput.value = initial;
  let es;

  const setState = (kind, text) => {
    state.className = `state ${kind}`;
    state.textContent = text ?? kind;
  };
  const row = (cells) => {
    const tr = document.createElement('tr');
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.append(td);
    }
    body.prepend(tr);
    while (body.children.length > 200) body.lastElementChild.remove();
  };

  $('explorer-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const channel = channelInput.value.trim();
    if (!channel) return;
    es?.close();
    body.replaceChildren();
    setState('connecting');
    es = new EventSource(`/sse?channel=${encodeURIComponent(channel)}`);
    es.onopen = () => setState('live', `live on ${channel}`);
    es.onerror = () => setState(es.readyState === EventSource.CLOSED ? 'failed' : 'reconnecting');
    es.onmessage = (m) => {
      const pub = JSON.parse(m.data);
      row([pub.channel, String(pub.offset), pub.epoch, textOf(pub.data)]);
    };
    es.addEventListener('gap', () => row([channel, '', '', '(gap: publications were lost)']));
  });

  $('explorer-publish').addEventListener('submit', async (e) => {
    e.preventDefault();
    const result = $('explorer-result');
    const raw = $('explorer-data').value;
    const channel = channelInput.value.trim();
    if (!raw || !channel || !client) return;
    let data = raw;
    try {
      data = JSON.parse(raw);
    } catch {
      // not JSON: published as text
    }
    try {
      await client.publish(channel, data);
      result.textContent = `published to ${channel}`;
    } catch (err) {
      result.textContent = `refused: ${err.message ?? err.code}`;
    }
  });
}

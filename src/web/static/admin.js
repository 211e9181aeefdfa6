// The admin dashboard: figures from /admin/api/stats every second, rates from the difference of two
// readings, small charts of the last five minutes, and a channel inspector.

const $ = (id) => document.getElementById(id);
const HISTORY = 300; // one point a second
const series = { connections: [], pubs: [], out: [], subs: [], memory: [], loop: [] };
let previous;

const sum = (doors, key) => Object.values(doors).reduce((n, d) => n + d[key], 0);
const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;
const cell = (text) => {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
};
const rows = (tbody, data) =>
  tbody.replaceChildren(
    ...data.map((cells) => {
      const tr = document.createElement('tr');
      tr.append(...cells.map((c) => cell(String(c))));
      return tr;
    }),
  );

function chart(svg, points) {
  const w = svg.clientWidth || 200;
  const h = svg.clientHeight || 40;
  const max = Math.max(1, ...points);
  const step = w / (HISTORY - 1);
  const offset = HISTORY - points.length;
  const coords = points.map(
    (v, i) => `${((offset + i) * step).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`,
  );
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', coords.join(' '));
  svg.replaceChildren(line);
}

function push(name, value) {
  const s = series[name];
  s.push(value);
  if (s.length > HISTORY) s.shift();
  chart($(`chart-${name}`), s);
}

async function refresh() {
  const res = await fetch('/admin/api/stats');
  if (res.status === 401) return location.reload();
  const s = await res.json();
  const seconds = previous ? (s.time - previous.time) / 1000 : 0;
  const rate = (now, before) => (seconds > 0 ? Math.max(0, (now - before) / seconds) : 0);
  const out = sum(s.doors, 'messagesOut');
  const pubsRate = previous ? rate(s.publications, previous.publications) : 0;
  const outRate = previous ? rate(out, sum(previous.doors, 'messagesOut')) : 0;

  $('node').textContent = `${s.node.name} · engine ${s.engine} · up ${s.node.uptime} s`;
  $('fig-connections').textContent = String(s.node.numClients);
  $('fig-pubs').textContent = pubsRate.toFixed(1);
  $('fig-out').textContent = outRate.toFixed(1);
  $('fig-channels').textContent = `${s.channels} · ${s.node.numSubscriptions}`;
  $('fig-memory').textContent = mb(s.memory.rss);
  $('fig-loop').textContent = `${s.eventLoopDelayMs.p99.toFixed(1)} ms p99`;
  push('connections', s.node.numClients);
  push('pubs', pubsRate);
  push('out', outRate);
  push('subs', s.node.numSubscriptions);
  push('memory', s.memory.rss);
  push('loop', s.eventLoopDelayMs.p99);

  rows(
    $('doors'),
    Object.entries(s.doors).map(([door, d]) => [
      door,
      d.connections,
      d.subscriptions,
      previous ? rate(d.messagesIn, previous.doors[door].messagesIn).toFixed(1) : '0.0',
      previous ? rate(d.messagesOut, previous.doors[door].messagesOut).toFixed(1) : '0.0',
    ]),
  );
  rows(
    $('nodes'),
    s.nodes.map((n) => [n.name, n.numClients, n.numSubscriptions, n.numChannels, `${n.uptime} s`]),
  );
  rows(
    $('busiest'),
    s.busiest.map((c) => [c.name, c.subscribers]),
  );
  for (const tr of $('busiest').children) {
    tr.style.cursor = 'pointer';
    tr.onclick = () => inspect(tr.firstElementChild.textContent);
  }
  previous = s;
}

async function inspect(channel) {
  $('inspect-channel').value = channel;
  const res = await fetch(`/admin/api/channel?name=${encodeURIComponent(channel)}`);
  const c = await res.json();
  if (!res.ok) {
    $('inspect-summary').textContent = c.error?.message ?? `HTTP ${res.status}`;
    return;
  }
  $('inspect-summary').textContent =
    `${c.channel}: top offset ${c.offset}, epoch ${c.epoch}, ${c.subscribersHere} subscriber(s) on this node`;
  rows(
    $('inspect-history'),
    c.history.map((p) => [p.offset, typeof p.data === 'string' ? p.data : JSON.stringify(p.data)]),
  );
  $('inspect-presence').replaceChildren(
    ...c.presence.map((p) => {
      const tr = document.createElement('tr');
      const button = document.createElement('button');
      button.textContent = 'Disconnect';
      button.onclick = async () => {
        await post('/admin/api/disconnect', { client: p.client });
        inspect(channel);
      };
      const td = document.createElement('td');
      td.append(button);
      tr.append(cell(p.client), cell(p.user || '(anonymous)'), td);
      return tr;
    }),
  );
}

const post = (url, body) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

$('inspect-form').addEventListener('submit', (e) => {
  e.preventDefault();
  inspect($('inspect-channel').value.trim());
});
$('inspect-publish').addEventListener('submit', async (e) => {
  e.preventDefault();
  const channel = $('inspect-channel').value.trim();
  let data = $('inspect-data').value;
  try {
    data = JSON.parse(data);
  } catch {
    // text
  }
  const res = await post('/admin/api/publish', { channel, data });
  const body = await res.json();
  $('inspect-result').textContent = res.ok ? `published at offset ${body.offset}` : body.error?.message;
  inspect(channel);
});
$('logout').addEventListener('click', async () => {
  await fetch('/admin/logout', { method: 'POST' });
  location.reload();
});

refresh();
setInterval(() => refresh().catch(() => {}), 1000);
inspect('chat');

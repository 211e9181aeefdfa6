// The demo page: the room, one pane per push mechanism, and the channel explorer.
import { Arrivals } from './arrivals.js';
import { startExplorer } from './explorer.js';
import { startOnline } from './online.js';
import { mechanisms, textOf } from './panes.js';

const $ = (id) => document.getElementById(id);
const MAX_LINES = 200;

function addLine(log, parts, className) {
  const li = document.createElement('li');
  if (className) li.className = className;
  for (const [cls, text] of parts) {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = text;
    li.append(span);
  }
  log.append(li);
  while (log.children.length > MAX_LINES) log.firstElementChild.remove();
  log.scrollTop = log.scrollHeight;
  return li;
}

function mountPane(mechanism, arrivals) {
  const node = $('pane-template').content.firstElementChild.cloneNode(true);
  node.id = `pane-${mechanism.id}`;
  node.dataset.mechanism = mechanism.id;
  node.querySelector('.name').textContent = mechanism.name;
  node.querySelector('.how').textContent = mechanism.how;
  const stateEl = node.querySelector('.state');
  const log = node.querySelector('.log');
  const pane = {
    kind: 'off',
    extra: node.querySelector('.extra'),
    state(kind, text) {
      pane.kind = kind;
      stateEl.className = `state ${kind}`;
      stateEl.textContent = text ?? kind;
    },
    add(key, serverTime, prefix = '') {
      const li = addLine(log, [
        ['text', prefix ? `${prefix} ${key}` : key],
        ['delay', ''],
      ]);
      arrivals.seen(key, li.lastElementChild, serverTime);
    },
    note(text) {
      addLine(log, [['text', text]], 'note');
    },
  };
  $('panes').append(node);
  let stop = mechanism.start(pane);
  node.querySelector('.on').addEventListener('change', (e) => {
    if (e.target.checked) stop = mechanism.start(pane);
    else {
      stop();
      pane.state('off');
    }
  });
}

function startRoom(arrivals, nameInput) {
  const log = $('room-log');
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/chat`;
  let ws;
  let tries = 0;
  const connect = () => {
    ws = new WebSocket(wsUrl);
    ws.onopen = () => {
      tries = 0;
    };
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      if (e.data.startsWith('Broadcast: ')) addLine(log, [['text', e.data.slice('Broadcast: '.length)]]);
      else addLine(log, [['text', e.data]], 'note');
    };
    ws.onclose = () => {
      addLine(log, [['text', 'disconnected; reconnecting']], 'note');
      setTimeout(connect, Math.min(5000, 250 * 2 ** Math.min(++tries, 5)));
    };
  };
  connect();
  $('room-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('room-input');
    const name = nameInput.value.trim() || 'anonymous';
    if (!input.value || ws.readyState !== WebSocket.OPEN) return;
    const text = `${name}: ${input.value}`;
    arrivals.sent(text);
    ws.send(text);
    // The room never sends a message back to its sender, so the page shows it itself.
    addLine(log, [['text', `${text}`]], 'mine');
    input.value = '';
  });
}

async function main() {
  const config = await (await fetch('/demo/config.json')).json();
  const arrivals = new Arrivals();
  const nameInput = $('room-name');
  nameInput.value = localStorage.getItem('herald-demo-name') ?? `guest-${Math.floor(Math.random() * 1000)}`;
  nameInput.addEventListener('change', () =>
    localStorage.setItem('herald-demo-name', nameInput.value.trim()),
  );
  startRoom(arrivals, nameInput);
  for (const m of mechanisms(config.room)) mountPane(m, arrivals);
  // A second channel-protocol connection for the page's tools, so switching the pane off keeps them.
  const tools = window.Centrifuge
    ? new window.Centrifuge(`${location.origin.replace(/^http/, 'ws')}/connection/websocket`)
    : undefined;
  startOnline(tools, config.onlineChannel, nameInput, $('online'), $('online-count'));
  startExplorer(tools, config.explorerChannel, textOf);
  tools?.connect();
}

main();

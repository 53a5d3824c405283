// The board's compliance panel: the policy at work, beside the floor (board.js).
// - the feed: each refused dial and each case the queue sets aside, as the board's stream tells them
//   (board.js hands every stream event over as a `board:event` DOM event), newest first;
// - cap pressure and the calling windows closing soon: GET /v1/board/compliance, read on sign-in
//   and every minute (they change with time, not only with events).
// Chinese by default, English on the board's switch (`board:lang`).

const WORDS = {
  zh: {
    title: '合规动态', feed_title: '拒绝拨打与暂缓案件', feed_empty: '暂无', pressure_title: '接近上限',
    pressure_empty: '暂无接近上限的对象', closing_title: '30分钟内关闭的拨打时段', closing_empty: '暂无',
    refusal: '{time} 拒绝拨打 案件{case}（{role}）：{rules}{next}', set_aside: '{time} 暂缓 案件{case}：{rules}{next}',
    next: '，{at}后可拨', at_cap: '已达上限', one_away: '差一次达上限', paused: '暂停中',
    pressure: '{account}（{client}，{role}）{rule}：{state}{used}{until}', used: '（{used}/{limit}）',
    until: '，{at}恢复', closing: '{zone} {at}关闭：{clients}，{cases}个案件',
    debtor: '债务人', third_party: '第三方',
  },
  en: {
    title: 'Compliance at work', feed_title: 'Refused dials and cases set aside', feed_empty: 'None yet',
    pressure_title: 'Near a cap', pressure_empty: 'Nobody near a cap', closing_title: 'Calling windows closing within 30 min',
    closing_empty: 'None', refusal: '{time} refused: case {case} ({role}): {rules}{next}',
    set_aside: '{time} set aside: case {case}: {rules}{next}', next: '; allowed again {at}', at_cap: 'at the cap',
    one_away: 'one attempt from the cap', paused: 'paused', pressure: '{account} ({client}, {role}) {rule}: {state}{used}{until}',
    used: ' ({used}/{limit})', until: '; resets {at}', closing: '{zone} closes {at}: {clients}, {cases} cases',
    debtor: 'debtor', third_party: 'third party',
  },
};
const FEED_KEPT = 30;
const READ_EVERY_MS = 60_000;

let lang = localStorage.getItem('board.lang') === 'en' ? 'en' : 'zh';
let token = null;
let timer = null;
const feed = []; // {name, data}, newest first
let now = null; // the last read: {pressure, closing}

const t = (key) => WORDS[lang][key] ?? key;
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ''));
const tid = (id) => document.querySelector(`[data-testid="${id}"]`);
const clock = (iso) => (iso ? new Date(iso).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB',
  { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }) : '');

function item(text, attrs = {}) {
  const li = document.createElement('li');
  li.textContent = text;
  for (const [name, value] of Object.entries(attrs)) li.setAttribute(name, value);
  return li;
}

function drawFeed() {
  tid('feed-empty').hidden = feed.length > 0;
  tid('feed').replaceChildren(...feed.map(({ name, data }) => item(fill(t(name), {
    time: clock(data.at), case: data.case_id, role: t(data.party_role) || '', rules: (data.rules || []).join(', '),
    next: (data.next_allowed_at || data.until) ? fill(t('next'), { at: clock(data.next_allowed_at || data.until) }) : '',
  }), { 'data-kind': name })));
}

function drawNow() {
  const pressure = now?.pressure ?? [];
  const closing = now?.closing ?? [];
  tid('pressure-empty').hidden = pressure.length > 0;
  tid('pressure').replaceChildren(...pressure.map((p) => item(fill(t('pressure'), {
    account: p.account_ref, client: p.client_code, role: t(p.role), rule: p.rule,
    state: p.used === null ? t('paused') : t(p.at_cap ? 'at_cap' : 'one_away'),
    used: p.used === null ? '' : fill(t('used'), p), until: p.until ? fill(t('until'), { at: clock(p.until) }) : '',
  }), { 'data-party': String(p.party_id), 'data-rule': p.rule, 'data-at-cap': String(p.at_cap) })));
  tid('closing-empty').hidden = closing.length > 0;
  tid('closing').replaceChildren(...closing.map((c) => item(fill(t('closing'), {
    zone: c.zone, at: clock(c.closes_at), clients: c.clients.join(', '), cases: c.cases,
  }), { 'data-zone': c.zone })));
}

function reword() {
  for (const el of document.querySelectorAll('[data-c]')) el.textContent = t(el.dataset.c);
  drawFeed();
  drawNow();
}

async function readNow() {
  if (!token) return;
  try {
    const res = await fetch('/v1/board/compliance', { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
    if (res.ok) now = await res.json();
  } catch { /* the next minute tries again; the floor shows whether the service is reachable */ }
  drawNow();
}

document.addEventListener('board:entered', (event) => {
  token = event.detail.token;
  clearInterval(timer);
  timer = setInterval(readNow, READ_EVERY_MS);
  readNow();
});
document.addEventListener('board:left', () => {
  token = null;
  clearInterval(timer);
  feed.length = 0;
  now = null;
  reword();
});
document.addEventListener('board:lang', (event) => { lang = event.detail.lang; reword(); });
document.addEventListener('board:event', (event) => {
  const { name, data } = event.detail;
  if (name !== 'refusal' && name !== 'set_aside') return;
  feed.unshift({ name, data });
  feed.length = Math.min(feed.length, FEED_KEPT);
  drawFeed();
  if (name === 'refusal') readNow(); // a refusal often means a cap was reached
});
reword();

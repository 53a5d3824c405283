// The board's statistics page (催收记录统计表): one module, no build step, nothing loaded from elsewhere
// (ECharts is served by the app, /board/echarts.min.js, as the global `echarts`).
// It reads GET /v1/reports/daily for a day or a range (from, to) with the bearer token the board keeps in
// sessionStorage, shows the totals, the table per agent and team and three charts, and downloads the same
// report as CSV or XLSX (fetched with the token, saved from a Blob).

/* global echarts */

// --- texts (Chinese by default, English on the switch; the language is the board's) -------------------

const TEXT = {
  zh: {
    title: '催收记录统计表', to_board: '实时看板', logout: '退出', login_title: '主管登录', username: '用户名',
    password: '密码', login: '登录', filters_title: '查询条件', from: '开始日期', to: '结束日期',
    quick_title: '快速选择', today: '今天', yesterday: '昨天', last_7: '近7天', this_month: '本月', team: '组别',
    agent: '坐席', all_teams: '全部组别', all_agents: '全部坐席', apply: '查询', download_csv: '导出 CSV',
    download_xlsx: '导出 Excel', summary_title: '汇总', chart_rates: '各坐席接通率与承诺率',
    chart_days: '每日拨打量与接通量', chart_amounts: '各坐席承诺金额与回款金额', table_title: '催收记录统计表',
    no_rows: '该时段没有坐席数据', refused: '统计报表仅供主管和管理员使用，坐席账号无权访问。',
    login_failed: '用户名或密码错误', session_expired: '登录已过期，请重新登录', network_error: '网络错误，请重试',
    required: '请输入用户名和密码', request_failed: '操作未完成（{code}）', invalid_input: '查询条件有误：{detail}',
    dates_required: '请选择开始日期和结束日期', range_backwards: '结束日期不能早于开始日期',
    range_too_long: '查询区间最长 {max} 天（当前 {days} 天）', downloaded: '已下载 {name}',
    period_range: '{from} 至 {to}（共 {days} 天）', subtotal: '{team} 小计', total: '合计', no_team: '未分组',
    role_supervisor: '主管', role_admin: '管理员', loading: '加载中…', refusals_by_rule: '按规则：{rules}',
  },
  en: {
    title: 'Collection statistics', to_board: 'Live board', logout: 'Sign out', login_title: 'Supervisor sign-in',
    username: 'Username', password: 'Password', login: 'Sign in', filters_title: 'Filters', from: 'From', to: 'To',
    quick_title: 'Quick ranges', today: 'Today', yesterday: 'Yesterday', last_7: 'Last 7 days',
    this_month: 'This month', team: 'Team', agent: 'Agent', all_teams: 'All teams', all_agents: 'All agents',
    apply: 'Show', download_csv: 'Download CSV', download_xlsx: 'Download Excel', summary_title: 'Totals',
    chart_rates: 'Connect rate and PTP rate by agent', chart_days: 'Calls and connects by day',
    chart_amounts: 'Promised and collected by agent', table_title: 'Collection statistics',
    no_rows: 'No agent figures for this period',
    refused: 'The statistics are for supervisors and admins; an agent account cannot open them.',
    login_failed: 'Wrong username or password', session_expired: 'Your session expired; sign in again',
    network_error: 'Network error, please retry', required: 'Enter your username and password',
    request_failed: 'The request did not go through ({code})', invalid_input: 'Please check the filters: {detail}',
    dates_required: 'Choose the first and the last day', range_backwards: 'The last day is before the first',
    range_too_long: 'A range spans at most {max} days (this one: {days})', downloaded: 'Downloaded {name}',
    period_range: '{from} to {to} ({days} days)', subtotal: '{team} subtotal', total: 'Total', no_team: 'No team',
    role_supervisor: 'Supervisor', role_admin: 'Admin', loading: 'Loading…', refusals_by_rule: 'By rule: {rules}',
  },
};

// The table's columns: key, Chinese and English headings, how a value is shown.
const COLUMNS = [
  ['calls', '拨打量', 'Calls', 'int'], ['connects', '接通量', 'Connects', 'int'],
  ['connect_rate', '接通率', 'Connect rate', 'pct'], ['talk_seconds', '通话时长', 'Talk time', 'duration'],
  ['cases_called', '拨打案件数', 'Cases called', 'int'], ['assigned_cases', '在催案件数', 'Cases held', 'int'],
  ['penetration', '渗透率', 'Penetration', 'pct'], ['promises', '承诺还款数', 'Promises', 'int'],
  ['promised_amount', '承诺金额', 'Promised', 'money'], ['ptp_rate', '承诺率', 'PTP rate', 'pct'],
  ['kept', '履约数', 'Kept', 'int'], ['broken', '违约数', 'Broken', 'int'], ['kept_rate', '履约率', 'Kept rate', 'pct'],
  ['payments', '还款笔数', 'Payments', 'int'], ['collected', '回款金额', 'Collected', 'money'],
  ['average_payment', '平均还款额', 'Average payment', 'money'],
  ['logged_in_seconds', '在线时长', 'Logged in', 'duration'],
  ['collected_per_hour', '每小时回款', 'Collected per hour', 'money'],
  ['kept_per_hour', '每小时履约数', 'Kept per hour', 'decimal'], ['refusals', '合规拒拨数', 'Refused dials', 'refusals'],
];
const KPIS = new Set(['connect_rate', 'ptp_rate', 'kept_rate', 'penetration', 'average_payment', 'collected_per_hour',
  'kept_per_hour']);
const SUMMARY = ['calls', 'connects', 'connect_rate', 'promises', 'ptp_rate', 'kept_rate', 'collected', 'refusals'];

// The service's errors in Chinese, by their stable code (English shows the service's own text).
const ERRORS_ZH = {
  forbidden: '您无权进行此操作', unauthenticated: '登录已过期，请重新登录', internal_error: '系统错误，请联系管理员',
  validation_error: '查询条件有误', unavailable: '服务暂不可用，请稍后再试',
};
const MAX_DAYS = 92; // the service's bound (scheduling/stats.py MAX_DAYS); it refuses a longer range anyway

let lang = localStorage.getItem('board.lang') === 'en' ? 'en' : 'zh';
const t = (key) => TEXT[lang][key] ?? key;
const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ''));
const words = (key, values = {}) => () => fill(t(key), values);

// Words on screen kept as how to word them (a function), so the language switch rewords them.
const WORDED = new Map();
function say(el, word) {
  if (typeof word === 'function') {
    WORDED.set(el, word);
    el.textContent = word();
  } else {
    WORDED.delete(el);
    el.textContent = word ?? '';
  }
}
function reword() {
  for (const [el, word] of WORDED) el.textContent = word();
}

// --- DOM helpers ----------------------------------------------------------------------------------------

const tid = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);
const byId = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'testid') el.dataset.testid = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// --- state ----------------------------------------------------------------------------------------------

const S = {
  token: sessionStorage.getItem('board.token'), // the board's: signing in on one page signs in on both
  me: null,
  report: null, // the last GET /v1/reports/daily
  query: {}, // what the report shown was asked with: {from, to, team}
  today: null, // the service's today (its zone), from the first report
  teams: new Set(), // every team an admin has seen in a report
  agent: '', // the agent filter (the page's own: the report holds every agent of the team)
  charts: new Map(), // element id → ECharts instance
};

// --- formats --------------------------------------------------------------------------------------------

const money = (value) => new Intl.NumberFormat(lang === 'zh' ? 'zh-CN' : 'en-US',
  { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(Number(value));
function duration(total) {
  const hh = Math.floor(total / 3600);
  const mm = String(Math.floor((total % 3600) / 60)).padStart(2, '0');
  const ss = String(total % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}`;
}
const refusalsOf = (row) => Object.values(row.refusals).reduce((sum, n) => sum + n, 0);
const valueOf = (row, key) => (key === 'refusals' ? refusalsOf(row) : KPIS.has(key) ? row.kpis[key] : row[key]);
function shown(value, kind) {
  if (value === null || value === undefined) return '—'; // a rate with nothing to divide by
  switch (kind) {
    case 'pct': return `${(value * 100).toFixed(1)}%`;
    case 'money': return money(value);
    case 'duration': return duration(value);
    case 'decimal': return Number(value).toFixed(2);
    default: return String(value);
  }
}
const heading = ([, zh, en]) => (lang === 'zh' ? zh : en);
const percent = (rate) => (rate === null || rate === undefined ? '-' : Math.round(rate * 1000) / 10);

// Days as YYYY-MM-DD strings, counted in UTC so no local clock change shifts them.
const dayMs = 86_400_000;
const toDate = (day) => Date.parse(`${day}T00:00:00Z`);
const toDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const addDays = (day, n) => toDay(toDate(day) + n * dayMs);
const daysIn = (from, to) => Math.round((toDate(to) - toDate(from)) / dayMs) + 1;

// --- the API --------------------------------------------------------------------------------------------

async function api(path, { raw = false } = {}) {
  let res;
  try {
    res = await fetch(path, { headers: { Authorization: `Bearer ${S.token}`, Accept: raw ? '*/*' : 'application/json' } });
  } catch {
    return { ok: false, status: 0, data: { error: 'network' } };
  }
  if (res.status === 401) { signOut(words('session_expired')); return { ok: false, status: 401, data: null }; }
  if (raw && res.ok) return { ok: true, status: res.status, res };
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) console.warn(`GET ${path} → ${res.status}`, data);
  return { ok: res.ok, status: res.status, data };
}

async function signIn(username, password) {
  try {
    const res = await fetch('/v1/auth/token', {
      method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    return { ok: res.ok, status: res.status, data: await res.json().catch(() => null) };
  } catch {
    return { ok: false, status: 0, data: { error: 'network' } };
  }
}

function messageOf(body) {
  if (!body || body.error === 'network') return t('network_error');
  if (body.error === 'invalid_input' || body.error === 'validation_error') {
    const detail = Array.isArray(body.fields) ? body.fields.map((f) => `${f.field} (${f.message})`).join('; ') : body.detail;
    return fill(t('invalid_input'), { detail });
  }
  const failed = fill(t('request_failed'), { code: body.error || '?' });
  return lang === 'zh' ? ERRORS_ZH[body.error] || failed : body.detail || failed;
}

function flash(text, kind = 'info') {
  const el = tid('flash');
  say(el, text);
  el.dataset.kind = kind;
  el.hidden = !text;
  clearTimeout(flash.timer);
  if (text && kind !== 'error') flash.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

function params(extra = {}) {
  const { from, to, team } = { ...S.query, ...extra };
  const out = new URLSearchParams();
  if (from && from === to) out.set('day', from);
  else {
    if (from) out.set('from', from);
    if (to) out.set('to', to);
  }
  if (team) out.set('team', team);
  for (const [key, value] of Object.entries(extra)) if (!['from', 'to', 'team'].includes(key)) out.set(key, value);
  return out.toString();
}

// --- signing in and out ---------------------------------------------------------------------------------

function showView(name) {
  byId('login-view').hidden = name !== 'login';
  byId('stats-view').hidden = name !== 'stats';
  byId('logout').hidden = name !== 'stats';
  if (name === 'login') tid('login-username').focus();
}

async function onLogin(event) {
  event.preventDefault();
  const form = event.target;
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  const error = tid('login-error');
  say(error, '');
  if (!username || !password) { say(error, words('required')); return; }
  const r = await signIn(username, password);
  if (!r.ok) { say(error, r.status === 401 ? words('login_failed') : () => messageOf(r.data)); return; }
  S.token = r.data.access_token;
  sessionStorage.setItem('board.token', S.token);
  form.elements.password.value = '';
  await enter();
}

async function enter() {
  const r = await api(`/v1/reports/daily?${params()}`);
  if (r.status === 403) { signOut(words('refused')); return; } // an agent, or any role the report is not for
  if (!r.ok) { if (S.token) say(tid('login-error'), () => messageOf(r.data)); return; }
  const me = await api('/v1/auth/me');
  if (!S.token) return;
  S.me = me.ok ? me.data : null;
  S.today = S.today ?? r.data.to;
  showWho();
  showView('stats');
  applyReport(r.data);
}

function signOut(message) {
  Object.assign(S, { token: null, me: null, report: null, query: {}, agent: '' });
  sessionStorage.removeItem('board.token');
  for (const chart of S.charts.values()) chart.dispose();
  S.charts.clear();
  tid('who').textContent = '';
  byId('table-rows').replaceChildren();
  showView('login');
  if (message) say(tid('login-error'), message);
}

function showWho() {
  const me = S.me;
  tid('who').textContent = me ? `${me.display_name} · ${t(`role_${me.role}`)}${me.team ? ` · ${me.team}` : ''}` : '';
}

// --- the report -----------------------------------------------------------------------------------------

async function load(query) {
  const main = byId('stats-view');
  main.setAttribute('aria-busy', 'true');
  const r = await api(`/v1/reports/daily?${params(query)}`);
  main.setAttribute('aria-busy', 'false');
  if (!S.token) return;
  if (r.status === 403) { signOut(words('refused')); return; }
  if (!r.ok) { say(tid('filters-error'), () => messageOf(r.data)); return; }
  say(tid('filters-error'), '');
  S.query = { ...query };
  applyReport(r.data);
}

function applyReport(report) {
  S.report = report;
  S.query = { from: report.from, to: report.to, team: S.query.team || '' };
  if (!S.query.team) for (const row of report.rows) if (row.scope === 'team' && row.team) S.teams.add(row.team);
  byId('from').value = report.from;
  byId('to').value = report.to;
  const agents = report.rows.filter((row) => row.scope === 'agent');
  if (S.agent && !agents.some((row) => String(row.agent_id) === S.agent)) S.agent = '';
  render();
}

function render() {
  const report = S.report;
  if (!report) return;
  renderFilters();
  const period = report.from === report.to ? report.from
    : fill(t('period_range'), { from: report.from, to: report.to, days: daysIn(report.from, report.to) });
  tid('period').textContent = period;
  const total = report.rows.find((row) => row.scope === 'total');
  renderSummary(total);
  renderTable();
  renderCharts();
}

function shownRows() {
  const rows = S.report.rows;
  if (!S.agent) return rows;
  const agent = rows.find((row) => row.scope === 'agent' && String(row.agent_id) === S.agent);
  return rows.filter((row) => row === agent || (row.scope === 'team' && row.team === agent?.team) || row.scope === 'total');
}

function renderFilters() {
  const admin = S.me?.role === 'admin';
  byId('team-label').hidden = !admin; // a supervisor's report is their team's
  if (admin) {
    const select = byId('team');
    const teams = [...S.teams].sort();
    select.replaceChildren(h('option', { value: '', text: t('all_teams') }),
      ...teams.map((team) => h('option', { value: team, text: team })));
    select.value = S.query.team || '';
  }
  const agents = S.report.rows.filter((row) => row.scope === 'agent');
  const select = byId('agent');
  select.replaceChildren(h('option', { value: '', text: t('all_agents') }),
    ...agents.map((row) => h('option', { value: String(row.agent_id), text: row.team ? `${row.agent}（${row.team}）` : row.agent })));
  select.value = S.agent;
}

function renderSummary(total) {
  tid('summary').replaceChildren(...SUMMARY.map((key) => {
    const column = COLUMNS.find(([name]) => name === key);
    return h('li', { testid: `summary-${key}` },
      h('span', { class: 'label', text: heading(column) }),
      h('strong', { text: shown(valueOf(total, key), column[3]) }));
  }));
}

function nameOf(row) {
  if (row.scope === 'agent') return row.agent;
  if (row.scope === 'team') return fill(t('subtotal'), { team: row.team ?? t('no_team') });
  return t('total');
}

function renderTable() {
  byId('table-head').replaceChildren(
    h('th', { scope: 'col', text: t('agent') }), h('th', { scope: 'col', text: t('team') }),
    ...COLUMNS.map((column) => h('th', { scope: 'col', class: 'num', text: heading(column) })));
  const rows = shownRows();
  byId('table-rows').replaceChildren(...rows.map((row) => {
    const testid = row.scope === 'agent' ? `row-agent-${row.agent_id}` : row.scope === 'team' ? `row-team-${row.team ?? ''}` : 'row-total';
    return h('tr', { testid, 'data-scope': row.scope },
      h('th', { scope: 'row', testid: 'cell-name', text: nameOf(row) }),
      h('td', { testid: 'cell-team', text: row.team ?? '' }),
      ...COLUMNS.map(([key, , , kind]) => {
        const rules = key === 'refusals' && refusalsOf(row)
          ? fill(t('refusals_by_rule'), { rules: Object.entries(row.refusals).map(([rule, n]) => `${rule} ${n}`).join(', ') }) : null;
        return h('td', { class: 'num', testid: `cell-${key}`, title: rules, text: shown(valueOf(row, key), kind) });
      }));
  }));
  tid('table-empty').hidden = S.report.rows.some((row) => row.scope === 'agent');
}

// --- the charts (ECharts, served locally) ----------------------------------------------------------------

function chart(id) {
  let instance = S.charts.get(id);
  if (!instance) {
    instance = echarts.init(byId(id), null, { renderer: 'canvas', locale: lang === 'zh' ? 'ZH' : 'EN' });
    S.charts.set(id, instance);
  }
  return instance;
}

const BASE = {
  aria: { enabled: true }, // ECharts describes the chart to a screen reader
  grid: { left: 48, right: 48, top: 40, bottom: 56 },
  legend: { top: 0 },
  tooltip: { trigger: 'axis' },
};

function renderCharts() {
  const agents = shownRows().filter((row) => row.scope === 'agent');
  const names = agents.map((row) => row.agent);
  const named = (key) => heading(COLUMNS.find(([name]) => name === key));
  const labelled = { interval: 0, rotate: names.length > 6 ? 30 : 0 };

  chart('chart-rates').setOption({
    ...BASE,
    tooltip: { trigger: 'axis', valueFormatter: (v) => (v === '-' || v == null ? '—' : `${v}%`) },
    xAxis: { type: 'category', data: names, axisLabel: labelled },
    yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
    series: [
      { name: named('connect_rate'), type: 'bar', data: agents.map((row) => percent(row.kpis.connect_rate)) },
      { name: named('ptp_rate'), type: 'bar', data: agents.map((row) => percent(row.kpis.ptp_rate)) },
    ],
  }, true);

  const days = S.report.days;
  chart('chart-days').setOption({
    ...BASE,
    xAxis: { type: 'category', data: days.map((day) => day.day), boundaryGap: days.length < 2 },
    yAxis: [{ type: 'value', minInterval: 1 }, { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } }],
    series: [
      { name: named('calls'), type: 'line', symbolSize: 8, data: days.map((day) => day.calls) },
      { name: named('connects'), type: 'line', symbolSize: 8, data: days.map((day) => day.connects) },
      { name: named('connect_rate'), type: 'line', yAxisIndex: 1, lineStyle: { type: 'dashed' },
        tooltip: { valueFormatter: (v) => (v === '-' || v == null ? '—' : `${v}%`) },
        data: days.map((day) => percent(day.kpis.connect_rate)) },
    ],
  }, true);

  chart('chart-amounts').setOption({
    ...BASE,
    tooltip: { trigger: 'axis', valueFormatter: (v) => money(v) },
    xAxis: { type: 'category', data: names, axisLabel: labelled },
    yAxis: { type: 'value' },
    series: [
      { name: named('promised_amount'), type: 'bar', data: agents.map((row) => Number(row.promised_amount)) },
      { name: named('collected'), type: 'bar', data: agents.map((row) => Number(row.collected)) },
    ],
  }, true);
}

function resetCharts() { // ECharts' own words (the aria description, the tooltips) follow the locale given at init
  for (const instance of S.charts.values()) instance.dispose();
  S.charts.clear();
}

// --- filters and downloads ------------------------------------------------------------------------------

function wanted() {
  const from = byId('from').value;
  const to = byId('to').value;
  const error = tid('filters-error');
  if (!from || !to) { say(error, words('dates_required')); return null; }
  if (to < from) { say(error, words('range_backwards')); return null; }
  const days = daysIn(from, to);
  if (days > MAX_DAYS) { say(error, words('range_too_long', { max: MAX_DAYS, days })); return null; }
  const admin = S.me?.role === 'admin';
  return { from, to, team: admin ? byId('team').value : '' };
}

function onApply(event) {
  event.preventDefault();
  const query = wanted();
  if (query) load(query);
}

function onQuick(event) {
  const button = event.target.closest('[data-quick]');
  if (!button || !S.today) return;
  const today = S.today;
  const ranges = {
    today: [today, today], yesterday: [addDays(today, -1), addDays(today, -1)],
    week: [addDays(today, -6), today], month: [`${today.slice(0, 8)}01`, today],
  };
  const [from, to] = ranges[button.dataset.quick];
  byId('from').value = from;
  byId('to').value = to;
  const query = wanted();
  if (query) load(query);
}

function filenameOf(disposition) {
  const match = /filename="?([^";]+)"?/.exec(disposition || '');
  return match ? match[1] : null;
}

async function download(kind) {
  const button = byId(`download-${kind}`);
  button.disabled = true;
  try {
    const r = await api(`/v1/reports/daily.${kind}?${params({ language: lang })}`, { raw: true });
    if (!r.ok) { if (S.token) flash(() => messageOf(r.data), 'error'); return; }
    const name = filenameOf(r.res.headers.get('Content-Disposition')) || `daily.${kind}`;
    const url = URL.createObjectURL(await r.res.blob());
    const link = h('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
    flash(words('downloaded', { name }));
  } finally {
    button.disabled = false;
    button.focus();
  }
}

// --- language -------------------------------------------------------------------------------------------

function applyI18n() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  byId('lang-toggle').textContent = lang === 'zh' ? 'English' : '中文';
  showWho();
  reword();
  resetCharts();
  render();
}

// --- start ----------------------------------------------------------------------------------------------

function bind() {
  byId('login-form').addEventListener('submit', onLogin);
  byId('logout').addEventListener('click', () => signOut());
  byId('filters').addEventListener('submit', onApply);
  document.querySelector('.quick').addEventListener('click', onQuick);
  byId('team').addEventListener('change', () => { const query = wanted(); if (query) load(query); });
  byId('agent').addEventListener('change', (event) => { S.agent = event.target.value; renderTable(); renderCharts(); });
  byId('download-csv').addEventListener('click', () => download('csv'));
  byId('download-xlsx').addEventListener('click', () => download('xlsx'));
  byId('lang-toggle').addEventListener('click', () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('board.lang', lang);
    applyI18n();
  });
  window.addEventListener('resize', () => { for (const instance of S.charts.values()) instance.resize(); });
}

bind();
applyI18n();
if (S.token) enter();
else showView('login');

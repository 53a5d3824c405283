// The supervisor board: one module, no build step, nothing loaded from elsewhere.
// It reads the floor (GET /v1/board/floor) with the supervisor's bearer token (kept in sessionStorage),
// follows GET /v1/board/events (Server-Sent Events read with fetch, so the token can be sent; resumed
// after the last event id seen), ticks the times in state and the alerts every second, and drives
// monitor / whisper / barge (POST, PATCH /v1/calls/{id}/supervisors) and the campaigns' status.

// --- texts (Chinese by default, English on the switch) -----------------------------------------

const TEXT = {
  zh: {
    title: '催收主管看板', logout: '退出', login_title: '主管登录', username: '用户名', password: '密码', login: '登录',
    live_hint: '实时连接', counts_title: '各状态人数', total: '在线', team: '团队', all_teams: '全部团队',
    my_seat: '我的坐席（监听/密语/强插用）', choose_seat: '请选择…', alerts_title: '告警', no_alerts: '暂无告警',
    campaigns_title: '外呼活动', no_campaigns: '暂无外呼活动', floor_title: '实时坐席', no_agents: '当前没有签入的坐席人员',
    col_agent: '坐席人员', col_team: '团队', col_seat: '坐席', col_state: '状态', col_since: '状态时长', col_mode: '模式',
    col_call: '当前通话', col_supervise: '监听', long_call: '通话过长', long_wrap_up: '话后处理过长',
    long_not_ready: '未就绪过长', idle_with_work: '有案件待拨却空闲', campaign_work: '待拨{queue} · 暂缓{set_aside} · 每分钟{dials_last_minute}通 · 通话中{live_calls}', limit: '上限', start: '开始', pause: '暂停', stop: '停止', all_teams_campaign: '所有团队',
    supervising: '您正在{mode}', joined: '已加入通话：{mode}', switched: '已切换为{mode}',
    refused: '主管看板仅供主管和管理员使用，坐席账号无权访问。', login_failed: '用户名或密码错误',
    session_expired: '登录已过期，请重新登录', network_error: '网络错误，请重试', required: '请输入用户名和密码',
    pick_seat: '请先在上方“我的坐席”中选择您自己的坐席，再加入通话', request_failed: '操作未完成（{code}）',
    fix_fields: '请更正：{fields}', inbound: '呼入', outbound: '呼出', leave: '离开通话', left: '已离开通话', nav_calls: '通话记录', nav_stats: '统计', others: '{names}正在此通话',
    campaign_set: '“{name}”已{status}', role_supervisor: '主管', role_admin: '管理员',
  },
  en: {
    title: 'Supervisor board', logout: 'Sign out', login_title: 'Supervisor sign-in', username: 'Username',
    password: 'Password', login: 'Sign in', live_hint: 'Live connection', counts_title: 'Agents by state',
    total: 'Logged in', team: 'Team', all_teams: 'All teams', my_seat: 'My seat (to monitor, whisper, barge)',
    choose_seat: 'Choose…', alerts_title: 'Alerts', no_alerts: 'No alerts', campaigns_title: 'Campaigns',
    no_campaigns: 'No campaigns', floor_title: 'Live floor', no_agents: 'No agent is logged in',
    col_agent: 'Agent', col_team: 'Team', col_seat: 'Seat', col_state: 'State', col_since: 'Time in state',
    col_mode: 'Mode', col_call: 'Current call', col_supervise: 'Supervise', long_call: 'Long call',
    long_wrap_up: 'Long wrap-up', long_not_ready: 'Long not ready', idle_with_work: 'Idle while there is work', campaign_work: '{queue} to call · {set_aside} set aside · {dials_last_minute}/min · {live_calls} live', limit: 'limit', start: 'Start', pause: 'Pause',
    stop: 'Stop', all_teams_campaign: 'every team', supervising: 'You are on this call: {mode}',
    joined: 'Joined the call: {mode}', switched: 'Switched to {mode}',
    refused: 'The supervisor board is for supervisors and admins; an agent account cannot open it.',
    login_failed: 'Wrong username or password', session_expired: 'Your session expired; sign in again',
    network_error: 'Network error, please retry', required: 'Enter your username and password',
    pick_seat: 'Choose your own seat under "My seat" first, then join the call',
    request_failed: 'The request did not go through ({code})', fix_fields: 'Please correct: {fields}',
    inbound: 'inbound', outbound: 'outbound', leave: 'Leave', left: 'Left the call', nav_calls: 'Calls', nav_stats: 'Statistics', others: 'Also on it: {names}',
    campaign_set: '"{name}" is now {status}', role_supervisor: 'Supervisor', role_admin: 'Admin',
  },
};

const ENUMS = {
  zh: {
    state: { offline: '离线', ready: '就绪', not_ready: '未就绪', reserved: '已分配案件', dialing: '拨号中', on_call: '通话中', wrap_up: '话后处理' },
    call: { requested: '呼叫坐席中', blocked: '已拦截', dialing: '呼叫对方中', ringing: '振铃中', answered: '已接听', bridged: '已接通',
      completed: '已结束', no_answer: '无人接听', busy: '占线', rejected: '拒接', failed: '失败', canceled: '已取消', missed: '未接' },
    reason: { break: '休息', lunch: '午餐', training: '培训', meeting: '会议', coaching: '辅导', admin: '行政事务',
      technical: '技术问题', personal: '个人事务', end_of_shift: '下班', seat_unreachable: '坐席电话未接听',
      call_not_placed: '呼叫未发出', queue_empty: '暂无可拨案件', skipped: '已跳过' },
    role: { debtor: '债务人', third_party: '第三方' },
    relation: { self: '本人', spouse: '配偶', parent: '父母', sibling: '兄弟姐妹', child: '子女', colleague: '同事',
      friend: '朋友', other: '其他' },
    mode: { preview: '预览式', progressive: '渐进式' },
    sup: { monitor: '监听', whisper: '密语', barge: '强插' },
    campaign: { running: '运行中', paused: '已暂停', stopped: '已停止' },
  },
  en: {
    state: { offline: 'Offline', ready: 'Ready', not_ready: 'Not ready', reserved: 'Case reserved', dialing: 'Dialing',
      on_call: 'On a call', wrap_up: 'Wrap-up' },
    call: { requested: 'Ringing the seat', blocked: 'Blocked', dialing: 'Dialing the party', ringing: 'Ringing',
      answered: 'Answered', bridged: 'Connected', completed: 'Ended', no_answer: 'No answer', busy: 'Busy',
      rejected: 'Rejected', failed: 'Failed', canceled: 'Canceled', missed: 'Missed' },
    reason: { break: 'Break', lunch: 'Lunch', training: 'Training', meeting: 'Meeting', coaching: 'Coaching',
      admin: 'Admin', technical: 'Technical problem', personal: 'Personal', end_of_shift: 'End of shift',
      seat_unreachable: 'seat did not answer', call_not_placed: 'call not placed', queue_empty: 'nothing to call',
      skipped: 'skipped' },
    role: { debtor: 'Debtor', third_party: 'Third party' },
    relation: { self: 'Self', spouse: 'Spouse', parent: 'Parent', sibling: 'Sibling', child: 'Child',
      colleague: 'Colleague', friend: 'Friend', other: 'Other' },
    mode: { preview: 'Preview', progressive: 'Progressive' },
    sup: { monitor: 'Monitor', whisper: 'Whisper', barge: 'Barge' },
    campaign: { running: 'Running', paused: 'Paused', stopped: 'Stopped' },
  },
};

// The service's errors in Chinese, by their stable code (English shows the service's own text).
const ERRORS_ZH = {
  call_not_live: '该通话已结束或尚未接通，无法加入', forbidden: '您无权进行此操作（仅限本团队的通话）',
  not_found: '未找到该通话（可能已结束，或不属于您的团队）', unavailable: '线路暂不可用，请稍后再试',
  carrier_unavailable: '线路暂时不可用，请稍后再试', carrier_rate_limited: '线路繁忙，请稍后再试',
  carrier_rejected: '线路拒绝了该呼叫', carrier_error: '线路故障，请稍后再试', conflict: '操作与当前状态冲突，请稍后重试',
  invalid_input: '输入有误', validation_error: '输入有误', internal_error: '系统错误，请联系管理员',
  unauthenticated: '登录已过期，请重新登录',
};
const SEAT_ERROR_ZH = '所选坐席不可用（已停用或不存在），请重新选择您的坐席';

const ALERT_OF = { on_call: ['long_call', 'long_call_s'], wrap_up: ['long_wrap_up', 'long_wrap_up_s'],
  not_ready: ['long_not_ready', 'long_not_ready_s'] };
const COUNTED = ['ready', 'not_ready', 'reserved', 'dialing', 'on_call', 'wrap_up'];
const MODES = ['monitor', 'whisper', 'barge'];
const CAMPAIGN_ACTIONS = [['running', 'start'], ['paused', 'pause'], ['stopped', 'stop']];
const RELOAD_MS = 250; // a burst of call events: the floor read once
const RECONNECT_MS = 1500;
const CAMPAIGNS_EVERY_MS = 30_000; // campaigns have no events: read again this often
const RECENT = 200; // agent events kept, to apply again over a floor read that began before them

let lang = localStorage.getItem('board.lang') === 'en' ? 'en' : 'zh';
const t = (key) => TEXT[lang][key] ?? key;
const label = (group, code) => (code == null ? '' : ENUMS[lang][group]?.[code] ?? code);
const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ''));
const words = (key, values = {}) => () => fill(t(key), values);

// Words on screen are kept as how to word them (a function), so the language switch rewords them all.
const WORDED = new Map();
function say(el, word) {
  if (!el) return;
  if (typeof word === 'function') {
    WORDED.set(el, word);
    el.textContent = word();
  } else {
    WORDED.delete(el);
    el.textContent = word ?? '';
  }
}
function reword() {
  for (const [el, word] of WORDED) {
    if (el.isConnected) el.textContent = word();
    else WORDED.delete(el);
  }
}

// --- DOM helpers --------------------------------------------------------------------------------

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

// Rebuild a part of the page without losing the keyboard's place: the focused button, found again by
// its testid in the new content (or the first enabled button there).
function rebuild(container, ...children) {
  const focused = container.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
  container.replaceChildren(...children);
  if (focused) {
    const again = tid(focused, container);
    (again && !again.disabled ? again : container.querySelector('button:not(:disabled)'))?.focus();
  }
}

// --- state --------------------------------------------------------------------------------------

const S = {
  token: sessionStorage.getItem('board.token'),
  me: null, // GET /v1/auth/me
  thresholds: null,
  agents: new Map(), // agent id → the floor's agent, kept up to date by the events
  order: [], // agent ids in the floor's order
  skew: 0, // the service's clock minus the browser's, ms
  lastId: null, // the last event id seen: the stream resumes after it
  recent: [], // the last agent events: {id, data}
  loading: false, reloadAgain: false, reloadTimer: null,
  stream: null, ticker: null, campaignTimer: null,
  seatId: sessionStorage.getItem('board.seat') || '',
  supervising: new Map(JSON.parse(sessionStorage.getItem('board.supervising') || '[]')), // call id → {participant, mode}
  busy: new Set(), // call ids with a request under way
  campaigns: [], campaignBusy: new Set(),
  team: '', // an admin's team filter ('' : every team)
};

const now = () => Date.now() + S.skew;
const seconds = (iso) => (iso ? Math.max(0, Math.floor((now() - Date.parse(iso)) / 1000)) : 0);
function duration(total) {
  const hh = Math.floor(total / 3600);
  const mm = String(Math.floor((total % 3600) / 60)).padStart(2, '0');
  const ss = String(total % 60).padStart(2, '0');
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

// --- the API ------------------------------------------------------------------------------------

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (S.token) headers.Authorization = `Bearer ${S.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    return { ok: false, status: 0, data: { error: 'network' } };
  }
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (res.status === 401 && path !== '/v1/auth/token') signOut(words('session_expired'));
  if (!res.ok) console.warn(`${method} ${path} → ${res.status}`, data);
  return { ok: res.ok, status: res.status, data };
}

// A refusal in the page's language: Chinese by its stable code, English as the service wrote it.
function messageOf(body) {
  if (!body || body.error === 'network') return t('network_error');
  if (body.field === 'seat_id') return lang === 'zh' ? SEAT_ERROR_ZH : body.detail;
  if (body.error === 'validation_error' && Array.isArray(body.fields)) {
    return fill(t('fix_fields'), { fields: body.fields.map((f) => `${f.field} (${f.message})`).join('; ') });
  }
  const failed = fill(t('request_failed'), { code: body.error || '?' });
  if (lang === 'zh') return ERRORS_ZH[body.error] || failed;
  return body.detail || failed;
}

function flash(text, kind = 'info') {
  const el = tid('flash');
  say(el, text);
  el.dataset.kind = kind;
  el.hidden = !text;
  clearTimeout(flash.timer);
  if (text && kind !== 'error') flash.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

// --- signing in and out -------------------------------------------------------------------------

function showView(name) {
  byId('login-view').hidden = name !== 'login';
  byId('board-view').hidden = name !== 'board';
  byId('logout').hidden = name !== 'board';
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
  const r = await api('POST', '/v1/auth/token', { username, password });
  if (!r.ok) { say(error, r.status === 401 ? words('login_failed') : () => messageOf(r.data)); return; }
  S.token = r.data.access_token;
  sessionStorage.setItem('board.token', S.token);
  form.elements.password.value = '';
  await enter();
}

async function enter() {
  const r = await api('GET', '/v1/board/floor');
  if (r.status === 403) { signOut(words('refused')); return; } // an agent (or any role the board is not for)
  if (!r.ok) { if (S.token) say(tid('login-error'), () => messageOf(r.data)); return; }
  const me = await api('GET', '/v1/auth/me');
  if (!S.token) return;
  S.me = me.ok ? me.data : null;
  showWho();
  showView('board');
  applyFloor(r.data);
  loadSeats();
  loadCampaigns();
  startStream();
  document.dispatchEvent(new CustomEvent('board:entered', { detail: { token: S.token } }));
  S.ticker = setInterval(tick, 1000);
  S.campaignTimer = setInterval(loadCampaigns, CAMPAIGNS_EVERY_MS);
}

function signOut(message) {
  if (S.stream) S.stream.abort();
  S.stream = null;
  setLive(false);
  clearInterval(S.ticker);
  clearInterval(S.campaignTimer);
  clearTimeout(S.reloadTimer);
  Object.assign(S, { token: null, me: null, agents: new Map(), order: [], lastId: null, recent: [] });
  S.supervising.clear();
  sessionStorage.removeItem('board.token');
  sessionStorage.removeItem('board.supervising');
  document.dispatchEvent(new CustomEvent('board:left'));
  tid('who').textContent = '';
  byId('floor-rows').replaceChildren();
  showView('login');
  if (message) say(tid('login-error'), message);
}

function showWho() {
  const me = S.me;
  tid('who').textContent = me ? `${me.display_name} · ${t(`role_${me.role}`)}${me.team ? ` · ${me.team}` : ''}` : '';
}

// --- the floor ----------------------------------------------------------------------------------

function applyFloor(floor) {
  S.thresholds = floor.thresholds;
  S.skew = Date.parse(floor.now) - Date.now();
  S.agents = new Map(floor.agents.map((agent) => [agent.agent_id, agent]));
  S.order = floor.agents.map((agent) => agent.agent_id);
  if (S.lastId === null) S.lastId = floor.last_event_id;
  for (const event of S.recent) if (event.id > floor.last_event_id) applyAgentEvent(event.data);
  // Which calls I am on, and in which mode, as the service keeps them (any tab, any replica).
  S.supervising.clear();
  for (const agent of S.agents.values()) {
    for (const sup of agent.call?.supervisors ?? []) {
      if (sup.supervisor_id === S.me?.id) S.supervising.set(agent.call.id, { participant: sup.participant_call_id, mode: sup.mode });
    }
  }
  keepSupervising();
  renderFloor();
}

async function loadFloor() {
  if (S.loading) { S.reloadAgain = true; return; }
  S.loading = true;
  try {
    do {
      S.reloadAgain = false;
      const r = await api('GET', '/v1/board/floor');
      if (!S.token) return;
      if (r.ok) applyFloor(r.data);
      else if (r.status) flash(() => messageOf(r.data), 'error'); // no answer at all: the live dot says so
    } while (S.reloadAgain);
  } finally {
    S.loading = false;
  }
}

function reloadSoon(ms = RELOAD_MS) {
  clearTimeout(S.reloadTimer);
  S.reloadTimer = setTimeout(loadFloor, ms);
}

// An agent event applied to its row: true when the row says all there is to say, false when the floor
// must be read (an agent not on the board, a new session, a call that came or went).
function applyAgentEvent(e) {
  const agent = S.agents.get(e.agent_id);
  if (e.to === 'offline') {
    if (agent && agent.session_id === e.session_id) {
      S.agents.delete(e.agent_id);
      S.order = S.order.filter((id) => id !== e.agent_id);
    }
    return true;
  }
  if (!agent || agent.session_id !== e.session_id) return false;
  Object.assign(agent, { state: e.to, state_reason: e.reason ?? null, state_since: e.since });
  if (e.mode) agent.mode = e.mode;
  return !('call_id' in e) || (e.call_id ?? null) === (agent.call?.id ?? null);
}

function applyCallEvent(e) {
  for (const agent of S.agents.values()) {
    if (agent.call?.id !== e.call_id) continue;
    agent.call.state = e.state;
    if (e.state !== 'bridged') agent.call.supervisable = false; // only a bridged call can be joined
  }
}

function onEvent(name, id, data) {
  if (id) S.lastId = Number(id);
  document.dispatchEvent(new CustomEvent('board:event', { detail: { name, id, data } })); // compliance.js
  if (name === 'agent') {
    S.recent.push({ id: Number(id), data });
    if (S.recent.length > RECENT) S.recent.shift();
    if (!applyAgentEvent(data)) reloadSoon();
    renderFloor();
  } else if (name === 'call') {
    applyCallEvent(data);
    renderFloor();
    reloadSoon(); // the call's party, times and whether it can be joined: from the floor
  } else if (name === 'supervision') {
    reloadSoon(); // who is on which call, in which mode: from the floor
  } else if (name === 'resync') {
    reloadSoon(0);
  }
}

// --- the event stream ---------------------------------------------------------------------------

function startStream() {
  if (S.stream) return;
  const control = new AbortController();
  S.stream = control;
  (async () => {
    let again = false;
    while (!control.signal.aborted && S.token) {
      if (again) await loadFloor(); // reconnecting: the floor afresh, then the events after the last one seen
      again = true;
      try {
        const after = S.lastId === null ? '' : `?after=${S.lastId}`;
        const headers = { Authorization: `Bearer ${S.token}`, Accept: 'text/event-stream' };
        if (S.lastId !== null) headers['Last-Event-ID'] = String(S.lastId);
        const res = await fetch(`/v1/board/events${after}`, { headers, signal: control.signal, cache: 'no-store' });
        if (res.status === 401) { signOut(words('session_expired')); return; }
        if (res.status === 403) { signOut(words('refused')); return; }
        if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
        setLive(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n/g, '\n');
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            readBlock(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch {
        if (control.signal.aborted) return;
      }
      setLive(false);
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  })();
}

function readBlock(block) {
  let name = 'message';
  let id = null;
  const data = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue; // keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    else if (field === 'id') id = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return;
  try {
    onEvent(name, id, JSON.parse(data.join('\n')));
  } catch (error) {
    console.warn('board event', name, error);
  }
}

function setLive(on) { tid('live').dataset.live = String(on); }

// --- drawing the floor --------------------------------------------------------------------------

const visible = (agent) => !S.team || agent.team === S.team;

function renderFloor() {
  const body = byId('floor-rows');
  const shown = S.order.map((id) => S.agents.get(id)).filter((agent) => agent && visible(agent));
  const rows = new Map([...body.children].map((tr) => [Number(tr.dataset.agentId), tr]));
  for (const [id, tr] of rows) if (!shown.some((agent) => agent.agent_id === id)) tr.remove();
  let before = body.firstElementChild;
  for (const agent of shown) {
    const tr = rows.get(agent.agent_id) ?? makeRow(agent.agent_id);
    if (tr !== before) body.insertBefore(tr, before); // moved only when out of place (a move drops focus)
    else before = before.nextElementSibling;
    fillRow(tr, agent);
  }
  tid('floor-empty').hidden = shown.length > 0;
  tid('floor').hidden = shown.length === 0;
  renderCounts(shown);
  renderTeams();
  tick();
}

function makeRow(agentId) {
  const cell = (testid) => h('td', { testid });
  return h('tr', { testid: `agent-${agentId}`, 'data-agent-id': agentId },
    cell('name'), cell('team'), cell('seat'),
    h('td', {}, h('span', { class: 'badge', testid: 'state' }), ' ', h('span', { class: 'muted', testid: 'reason' })),
    h('td', {}, h('span', { testid: 'since', class: 'timer' }), ' ', h('span', { class: 'flag', testid: 'alert-flag', hidden: true })),
    cell('mode'), cell('call'),
    h('td', { class: 'supervise' }, h('div', { class: 'buttons', testid: 'supervise' }),
      h('p', { class: 'error', testid: 'row-error', role: 'alert' })));
}

function fillRow(tr, agent) {
  tid('name', tr).replaceChildren(h('strong', { text: agent.display_name }), h('span', { class: 'muted', text: ` ${agent.username}` }));
  tid('team', tr).textContent = agent.team ?? '';
  tid('seat', tr).textContent = agent.seat.code;
  const state = tid('state', tr);
  state.dataset.state = agent.state;
  state.textContent = label('state', agent.state);
  tid('reason', tr).textContent = agent.state_reason ? label('reason', agent.state_reason) : '';
  tid('mode', tr).textContent = label('mode', agent.mode);
  fillCall(tid('call', tr), agent.call);
  fillSupervise(tr, agent);
}

function fillCall(td, call) {
  td.dataset.callId = call?.id ?? '';
  if (!call) { td.replaceChildren(); return; }
  const relation = call.relation ? label('relation', call.relation) : '';
  const party = label('role', call.party_role) + (relation && (lang === 'zh' ? `（${relation}）` : ` (${relation})`));
  td.replaceChildren(
    h('span', { testid: 'call-party', text: party || '—' }),
    call.client_code ? h('span', { class: 'muted', testid: 'call-client', text: ` · ${call.client_code}` }) : null,
    h('span', { class: 'muted', text: ` · ${t(call.direction)} ` }),
    h('span', { class: 'badge', testid: 'call-state', 'data-state': call.state, text: label('call', call.state) }),
    ' ', h('span', { class: 'timer', testid: 'call-duration' }));
}

// The supervise buttons of a row whose call can be joined, the mode the supervisor is in, and the
// row's last error (kept where it is: only the buttons are drawn again, and only when they change).
function fillSupervise(tr, agent) {
  const call = agent.call;
  const joined = call ? S.supervising.get(call.id) : null;
  const can = Boolean(call?.supervisable);
  const others = (call?.supervisors ?? []).filter((sup) => sup.supervisor_id !== S.me?.id);
  const othersText = others.map((sup) => `${sup.display_name} (${label('sup', sup.mode)})`).join(', ');
  const key = [call?.id, can, joined?.mode, call && S.busy.has(call.id), othersText, lang].join('|');
  const box = tid('supervise', tr);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  tr.dataset.supervising = joined?.mode ?? '';
  if (!can) { rebuild(box); return; }
  const busy = S.busy.has(call.id);
  const buttons = MODES.map((mode) => h('button', {
    type: 'button', testid: mode, class: 'mode', 'aria-pressed': String(joined?.mode === mode),
    disabled: busy || joined?.mode === mode, text: label('sup', mode),
    title: `${agent.display_name}: ${label('sup', mode)}`,
    onclick: () => supervise(agent.agent_id, mode),
  }));
  const current = joined ? h('span', { class: 'sup-mode', testid: 'supervising', 'data-mode': joined.mode,
    text: fill(t('supervising'), { mode: label('sup', joined.mode) }) }) : null;
  const leave = joined ? h('button', { type: 'button', testid: 'leave', class: 'leave', disabled: busy,
    text: t('leave'), onclick: () => leaveCall(agent.agent_id) }) : null;
  const also = others.length ? h('span', { class: 'sup-others', testid: 'others',
    text: fill(t('others'), { names: othersText }) }) : null;
  rebuild(box, current, ...buttons, leave, also);
}

function renderCounts(shown) {
  const count = (state) => shown.filter((agent) => agent.state === state).length;
  tid('counts').replaceChildren(
    h('li', { testid: 'count-total' }, h('span', { text: t('total') }), ' ', h('strong', { text: shown.length })),
    ...COUNTED.map((state) => h('li', { testid: `count-${state}` },
      h('span', { class: 'badge', 'data-state': state, text: label('state', state) }), ' ',
      h('strong', { text: count(state) }))));
}

function renderTeams() { // an admin sees every team: a filter; a supervisor sees their own
  const show = S.me?.role === 'admin';
  byId('team-filter-label').hidden = !show;
  if (!show) return;
  const select = byId('team-filter');
  const teams = [...new Set([...S.agents.values()].map((agent) => agent.team).filter(Boolean))].sort();
  if (S.team && !teams.includes(S.team)) teams.push(S.team);
  const wanted = ['', ...teams].join('\n') + lang;
  if (select.dataset.teams === wanted) return;
  select.dataset.teams = wanted;
  select.replaceChildren(h('option', { value: '', text: t('all_teams') }), ...teams.map((team) => h('option', { value: team, text: team })));
  select.value = S.team;
}

// Every second: the times in state and on the call, and the alerts against the floor's thresholds.
function tick() {
  const alerts = [];
  for (const tr of byId('floor-rows').children) {
    const agent = S.agents.get(Number(tr.dataset.agentId));
    if (!agent) continue;
    const inState = seconds(agent.state_since);
    tid('since', tr).textContent = duration(inState);
    const call = agent.call;
    const timer = tid('call-duration', tr);
    if (call && timer) timer.textContent = duration(seconds(call.bridged_at ?? call.answered_at ?? call.requested_at));
    const [kind, limitKey] = agent.state === 'ready' && hasWork(agent) ? ['idle_with_work', 'long_idle_s']
      : ALERT_OF[agent.state] ?? [];
    const over = Boolean(kind && S.thresholds && inState > S.thresholds[limitKey]);
    tr.dataset.alert = over ? kind : '';
    tr.classList.toggle('alerting', over);
    const flag = tid('alert-flag', tr);
    flag.hidden = !over;
    flag.textContent = over ? t(kind) : '';
    if (over) alerts.push({ agent, kind, inState, limit: S.thresholds[limitKey] });
  }
  alerts.sort((a, b) => b.inState - a.inState);
  tid('alerts').replaceChildren(...alerts.map(({ agent, kind, inState, limit }) => h('li', {
    testid: `alert-${agent.agent_id}`, 'data-kind': kind,
  }, h('strong', { text: t(kind) }), ` · ${agent.display_name} (${agent.seat.code}) · ${label('state', agent.state)} `,
  h('span', { class: 'timer', text: duration(inState) }), h('span', { class: 'muted', text: ` / ${t('limit')} ${duration(limit)}` }))));
  tid('alerts-count').textContent = String(alerts.length);
  tid('alerts-count').dataset.count = String(alerts.length);
  tid('alerts-panel').dataset.count = String(alerts.length);
  tid('alerts-empty').hidden = alerts.length > 0;
}

// --- monitor / whisper / barge ------------------------------------------------------------------

function keepSupervising() {
  sessionStorage.setItem('board.supervising', JSON.stringify([...S.supervising]));
}

async function supervise(agentId, mode) {
  const agent = S.agents.get(agentId);
  const call = agent?.call;
  const tr = tid(`agent-${agentId}`);
  if (!call || !tr || S.busy.has(call.id)) return;
  const error = tid('row-error', tr);
  const joined = S.supervising.get(call.id);
  say(error, '');
  S.busy.add(call.id);
  fillSupervise(tr, agent);
  // Without a seat chosen, the service uses the seat the supervisor is logged in at (or says which is missing).
  const r = joined
    ? await api('PATCH', `/v1/calls/${call.id}/supervisors/${encodeURIComponent(joined.participant)}`, { mode })
    : await api('POST', `/v1/calls/${call.id}/supervisors`, S.seatId ? { mode, seat_id: Number(S.seatId) } : { mode });
  S.busy.delete(call.id);
  if (r.ok) {
    S.supervising.set(call.id, { participant: r.data.participant_call_id, mode: r.data.mode });
    keepSupervising();
    flash(words(joined ? 'switched' : 'joined', { mode: label('sup', r.data.mode) }));
  } else {
    const body = r.data;
    const noSeat = !joined && !S.seatId && body?.field === 'seat_id';
    say(error, noSeat ? words('pick_seat') : () => messageOf(body));
    if (noSeat) byId('my-seat').focus();
    if (body?.error === 'call_not_live') reloadSoon(0);
  }
  const after = S.agents.get(agentId);
  if (after && tr.isConnected) fillSupervise(tr, after);
}

async function leaveCall(agentId) {
  const call = S.agents.get(agentId)?.call;
  const joined = call ? S.supervising.get(call.id) : null;
  const tr = tid(`agent-${agentId}`);
  if (!joined || !tr || S.busy.has(call.id)) return;
  say(tid('row-error', tr), '');
  S.busy.add(call.id);
  const r = await api('DELETE', `/v1/calls/${call.id}/supervisors/${encodeURIComponent(joined.participant)}`);
  S.busy.delete(call.id);
  if (r.ok || r.status === 404) { // 404: the supervision had ended already (the call, or my phone)
    S.supervising.delete(call.id);
    keepSupervising();
    flash(t('left'));
    reloadSoon(0);
  } else {
    say(tid('row-error', tr), () => messageOf(r.data));
  }
  const after = S.agents.get(agentId);
  if (after && tr.isConnected) fillSupervise(tr, after);
}

async function loadSeats() {
  const r = await api('GET', '/v1/seats?active=true&limit=500');
  const select = byId('my-seat');
  if (!r.ok) { flash(() => messageOf(r.data), 'error'); return; }
  select.replaceChildren(h('option', { value: '', 'data-i18n': 'choose_seat', text: t('choose_seat') }),
    ...r.data.items.map((seat) => h('option', { value: seat.id,
      text: `${seat.code}${seat.location ? ` · ${seat.location}` : ''}${seat.team ? ` (${seat.team})` : ''}` })));
  if (S.seatId && !r.data.items.some((seat) => String(seat.id) === S.seatId)) S.seatId = '';
  select.value = S.seatId;
}

function onSeat(event) {
  S.seatId = event.target.value;
  if (S.seatId) sessionStorage.setItem('board.seat', S.seatId);
  else sessionStorage.removeItem('board.seat');
  for (const error of document.querySelectorAll('[data-testid="row-error"]')) say(error, '');
}

// --- campaigns ----------------------------------------------------------------------------------

async function loadCampaigns() {
  const r = await api('GET', '/v1/board/campaigns'); // a supervisor's team's and the shared ones, with their work
  if (!r.ok) return;
  S.campaigns = r.data;
  renderCampaigns();
}

// A ready agent the engine should have dialed for: a running campaign of their team has cases to call.
function hasWork(agent) {
  return S.campaigns.some((c) => c.status === 'running' && c.queue > 0 && (!c.team || c.team === agent.team));
}

function renderCampaigns() {
  const list = tid('campaigns');
  tid('campaigns-empty').hidden = S.campaigns.length > 0;
  const items = S.campaigns.map((c) => {
    const busy = S.campaignBusy.has(c.id);
    const li = h('li', { testid: `campaign-${c.id}`, 'data-status': c.status },
      h('strong', { text: c.name }),
      h('span', { class: 'muted', text: ` ${label('mode', c.mode)} · ${c.team ?? t('all_teams_campaign')} ` }),
      h('span', { class: 'badge', testid: 'campaign-status', 'data-state': c.status, text: label('campaign', c.status) }),
      h('span', { class: 'muted', testid: 'campaign-work', 'data-queue': String(c.queue ?? ''),
        text: c.queue === undefined ? '' : ` ${fill(t('campaign_work'), c)} ` }),
      ...CAMPAIGN_ACTIONS.map(([status, action]) => h('button', {
        type: 'button', testid: `campaign-${action}`, disabled: busy || c.status === status, text: t(action),
        title: `${c.name}: ${t(action)}`, onclick: () => setCampaign(c.id, status),
      })));
    return li;
  });
  rebuild(list, ...items);
}

async function setCampaign(id, status) {
  S.campaignBusy.add(id);
  renderCampaigns();
  const r = await api('POST', `/v1/campaigns/${id}/status`, { status });
  S.campaignBusy.delete(id);
  if (r.ok) {
    S.campaigns = S.campaigns.map((c) => (c.id === id ? { ...c, ...r.data } : c));
    flash(words('campaign_set', { name: r.data.name, status: label('campaign', r.data.status) }));
  } else {
    flash(() => messageOf(r.data), 'error');
  }
  renderCampaigns();
}

// --- language -----------------------------------------------------------------------------------

function applyI18n() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of document.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  byId('lang-toggle').textContent = lang === 'zh' ? 'English' : '中文';
  showWho();
  reword();
  if (S.token && S.thresholds) {
    renderFloor();
    renderCampaigns();
  }
}

// --- start --------------------------------------------------------------------------------------

function bind() {
  byId('login-form').addEventListener('submit', onLogin);
  byId('logout').addEventListener('click', () => signOut());
  byId('my-seat').addEventListener('change', onSeat);
  byId('team-filter').addEventListener('change', (event) => { S.team = event.target.value; renderFloor(); });
  byId('lang-toggle').addEventListener('click', () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('board.lang', lang);
    document.dispatchEvent(new CustomEvent('board:lang', { detail: { lang } }));
    applyI18n();
  });
}

bind();
applyI18n();
if (S.token) enter();
else showView('login');

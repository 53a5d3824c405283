// The board's calls page: the call history (GET /v1/calls, filtered, newest first, "more" pages on)
// and a call's page (GET /v1/calls/{id}/timeline) with its recording played here. One module, no build
// step, nothing loaded from elsewhere. The token is the board's (sessionStorage 'board.token'): signed in
// on /board, signed in here. The recording is fetched with that token (an <audio> element cannot send it)
// into a Blob, so seeking is local; every fetch is audited by the recordings API itself.

// --- texts (Chinese by default, English on the switch) -----------------------------------------

const TEXT = {
  zh: {
    title: '通话记录与录音', nav_board: '实时看板', logout: '退出', login_title: '主管登录', username: '用户名',
    password: '密码', login: '登录', role_supervisor: '主管', role_admin: '管理员', role_auditor: '审计',
    refused: '通话记录仅供主管、管理员和审计人员使用，坐席账号无权访问。', login_failed: '用户名或密码错误',
    session_expired: '登录已过期，请重新登录', network_error: '网络错误，请重试', required: '请输入用户名和密码',
    request_failed: '操作未完成（{code}）', fix_fields: '请更正：{fields}',
    f_from: '开始日期', f_to: '结束日期', f_agent: '坐席人员', f_team: '团队', f_client: '委托方', f_direction: '方向',
    f_outcome: '结果', f_party: '联系对象', any: '全部', apply: '查询', reset: '清空', bad_range: '结束日期不能早于开始日期',
    list_title: '通话列表', shown: '共 {n} 条', shown_more: '已显示 {n} 条，还有更多', no_calls: '没有符合条件的通话',
    col_time: '开始时间', col_agent: '坐席人员', col_party: '联系对象', col_client: '委托方', col_direction: '方向',
    col_outcome: '结果', col_duration: '时长', col_note: '小结', col_recording: '录音', more: '更多', loading: '加载中…',
    open_call: '打开通话 {id}', close: '关闭', call_title: '通话 #{id}', inbound: '呼入', outbound: '呼出',
    has_recording: '有录音', recording_missing: '录音缺失', no_agent: '（无人接听）',
    k_state: '状态', k_agent: '坐席人员', k_seat: '坐席', k_party: '联系对象', k_case: '案件', k_client: '委托方',
    k_campaign: '外呼活动', k_started: '开始', k_answered: '接听', k_ended: '结束', k_duration: '时长', k_talk: '通话时长',
    k_hangup: '挂断方', k_error: '错误', k_numbers: '号码',
    recordings_title: '录音', no_recordings: '本通话没有录音', listen: '收听', listening: '正在收听',
    rec_line: '录音 #{id} · {status} · {channels} 声道 · {duration}', back: '后退 5 秒', forward: '前进 5 秒',
    channels: '声道', ch_both: '双方', ch_agent: '仅坐席', ch_party: '仅对方', fetching: '正在获取录音…',
    ready_to_play: '录音 #{id} 已载入（每次收听均记入审计日志）', mono: '单声道录音：只有对方一侧',
    decision_title: '合规决定', no_decision: '没有合规决定（呼入通话不经合规检查）', allowed: '允许拨打', refused_dial: '拒绝拨打',
    policy_version: '政策版本 {v}', dry_run: '试算', decided_at: '决定时间', rule: '规则', result: '结果',
    violations: '违规项', next_allowed: '最早可拨时间',
    whisper_title: '耳语提示', no_whisper: '没有耳语提示', note_title: '催收小结', no_note: '尚未填写小结',
    promises_title: '承诺还款', no_promises: '没有承诺还款', timeline_title: '时间线',
    n_contact_name: '联系人', n_contact_status: '联系状态', n_arrears_reason: '欠款原因', n_result: '结果',
    n_assessment: '评估', n_equipment_status: '设备状态', n_recovery_likelihood: '回收可能性', n_next_action: '下一步',
    n_next_follow_up_date: '下次跟进日期', n_special_notes: '特别说明', n_disposition: '处理结果',
    p_amount: '金额', p_reduction: '减免', p_due: '承诺日期', p_status: '状态', p_paid: '已还', p_created: '记录时间',
  },
  en: {
    title: 'Calls and recordings', nav_board: 'Live board', logout: 'Sign out', login_title: 'Supervisor sign-in',
    username: 'Username', password: 'Password', login: 'Sign in', role_supervisor: 'Supervisor', role_admin: 'Admin', role_auditor: 'Auditor',
    refused: 'The call history is for supervisors, admins and auditors; an agent account cannot open it.',
    login_failed: 'Wrong username or password', session_expired: 'Your session expired; sign in again',
    network_error: 'Network error, please retry', required: 'Enter your username and password',
    request_failed: 'The request did not go through ({code})', fix_fields: 'Please correct: {fields}',
    f_from: 'From', f_to: 'To', f_agent: 'Agent', f_team: 'Team', f_client: 'Client', f_direction: 'Direction',
    f_outcome: 'Outcome', f_party: 'Party', any: 'Any', apply: 'Search', reset: 'Clear',
    bad_range: 'The end date cannot be before the start date',
    list_title: 'Calls', shown: '{n} calls', shown_more: '{n} shown, more to come', no_calls: 'No call matches',
    col_time: 'Started', col_agent: 'Agent', col_party: 'Party', col_client: 'Client', col_direction: 'Direction',
    col_outcome: 'Outcome', col_duration: 'Duration', col_note: 'Note', col_recording: 'Recording', more: 'More',
    loading: 'Loading…', open_call: 'Open call {id}', close: 'Close', call_title: 'Call #{id}', inbound: 'inbound',
    outbound: 'outbound', has_recording: 'recorded', recording_missing: 'recording missing', no_agent: '(nobody took it)',
    k_state: 'State', k_agent: 'Agent', k_seat: 'Seat', k_party: 'Party', k_case: 'Case', k_client: 'Client',
    k_campaign: 'Campaign', k_started: 'Started', k_answered: 'Answered', k_ended: 'Ended', k_duration: 'Duration',
    k_talk: 'Talk time', k_hangup: 'Hung up by', k_error: 'Error', k_numbers: 'Numbers',
    recordings_title: 'Recordings', no_recordings: 'This call has no recording', listen: 'Listen', listening: 'Listening',
    rec_line: 'Recording #{id} · {status} · {channels} ch · {duration}', back: 'Back 5 s', forward: 'Forward 5 s',
    channels: 'Channels', ch_both: 'Both', ch_agent: 'Agent only', ch_party: 'Party only', fetching: 'Fetching the recording…',
    ready_to_play: 'Recording #{id} loaded (every listen is in the audit log)', mono: 'One channel: the party only',
    decision_title: 'Compliance decision', no_decision: 'No decision (inbound calls are not checked)',
    allowed: 'Allowed', refused_dial: 'Refused', policy_version: 'policy version {v}', dry_run: 'dry run',
    decided_at: 'Decided at', rule: 'Rule', result: 'Result', violations: 'Violations', next_allowed: 'Next allowed at',
    whisper_title: 'Whisper', no_whisper: 'No whisper', note_title: 'Wrap-up note', no_note: 'No note yet',
    promises_title: 'Promises to pay', no_promises: 'No promise', timeline_title: 'Timeline',
    n_contact_name: 'Contact name', n_contact_status: 'Contact status', n_arrears_reason: 'Reason for arrears',
    n_result: 'Result', n_assessment: 'Assessment', n_equipment_status: 'Equipment status',
    n_recovery_likelihood: 'Recovery likelihood', n_next_action: 'Next action', n_next_follow_up_date: 'Next follow-up',
    n_special_notes: 'Special notes', n_disposition: 'Disposition',
    p_amount: 'Amount', p_reduction: 'Reduction', p_due: 'Due', p_status: 'Status', p_paid: 'Paid', p_created: 'Recorded',
  },
};

// The policy's rule names (dialer/policy/document.py RULES; tests/board/test_calls_page.py holds this copy to it).
const RULE_NAMES = {
  seat_only: ['专席专线外呼', 'Registered seats only'],
  manual_only: ['人工外呼（禁止预测式外呼）', 'Agent-attended calls only'],
  sms_blocked: ['禁止发送短信', 'SMS blocked'],
  record_everything: ['全程录音留痕', 'Record every call'],
  calling_window: ['拨打时段', 'Calling window'],
  calling_window_no_overlap: ['各可能时区的拨打时段不重叠', 'Calling windows of the plausible zones never overlap'],
  third_party_daily_cap: ['第三方每日拨打上限', 'Third-party daily cap'],
  third_party_hourly_cap: ['第三方每小时拨打上限', 'Third-party hourly cap'],
  debtor_number_daily_cap: ['债务人单号码每日拨打上限', 'Debtor number daily cap'],
  debtor_conversation_daily_cap: ['债务人每日有效通话上限', 'Debtor conversation daily cap'],
  stop_contact: ['停止联系（停催名单）', 'Stop-contact list'],
  invalid_number: ['无效号码禁拨', 'Invalid numbers'],
  wrap_up_first: ['先填写催收记录再拨打', 'Notes before the next dial'],
  no_unauthorised_waiver: ['未经委托方书面授权不得减免', 'No unauthorised waiver'],
  third_party_after_debtor_unreachable: ['债务人失联后方可联系第三方', 'Third parties only after the debtor is unreachable'],
  us_7_in_7: ['七日内最多七次', '7 attempts in 7 days'],
  us_pause_after_conversation: ['通话后暂停联系', 'Pause after a conversation'],
  us_third_party_once: ['第三方仅通话一次', 'Third party spoken to once'],
};

const ENUMS = {
  zh: {
    state: { requested: '呼叫坐席中', blocked: '已拦截', dialing: '呼叫对方中', ringing: '振铃中', answered: '已接听',
      bridged: '已接通', completed: '已结束', no_answer: '无人接听', busy: '占线', rejected: '拒接', failed: '失败',
      canceled: '已取消', missed: '未接' },
    outcome: { answered: '已接通', no_answer: '无人接听', busy: '占线', rejected: '拒接', failed: '失败',
      voicemail: '语音信箱', canceled: '已取消', missed: '未接' },
    direction: { outbound: '呼出', inbound: '呼入' },
    role: { debtor: '债务人', third_party: '第三方' },
    relation: { self: '本人', spouse: '配偶', parent: '父母', sibling: '兄弟姐妹', child: '子女', colleague: '同事',
      friend: '朋友', other: '其他' },
    disposition: { promise_to_pay: '承诺还款', paid: '已还款', refused: '拒绝还款', wrong_number: '错号',
      no_contact: '未联系上', third_party_message: '第三方转告', third_party_stop: '第三方要求停止联系', hostile: '强烈反感',
      callback_requested: '要求回电' },
    promise: { pending: '待履行', kept: '已履行', broken: '已违约', cancelled: '已取消' },
    recording: { pending: '待获取', stored: '已存储', failed: '失败', purged: '已清除', missing: '缺失' },
    rule_result: { pass: '通过', fail: '未通过', off: '未启用' },
    side: { agent: '坐席', party: '对方' },
    sup: { monitor: '监听', whisper: '密语', barge: '强插' },
    source: { state: '状态', compliance: '合规', carrier: '线路回调', supervisor: '主管', recording: '录音',
      note: '小结', promise: '承诺', audit: '审计' },
    kind: { requested: '发起呼叫', dialing: '呼叫对方', ringing: '振铃', answered: '接听', bridged: '接通',
      refused_move: '拒绝的状态变更', allowed: '合规允许拨打', refused: '合规拒绝拨打', call_status: '通话状态',
      conference_status: '会议状态', recording_status: '录音状态', joined: '加入通话', mode_switched: '切换模式',
      left: '离开通话', noted: '录音已登记', stored: '录音已存储', archived: '录音已归档', purged: '录音已清除',
      wrap_up: '填写小结', promise_made: '承诺还款', 'call.hang_up': '挂断', 'call.supervise_leave': '主管离开',
      'call.carrier_action_failed': '线路操作失败' },
  },
  en: {
    state: { requested: 'Ringing the seat', blocked: 'Blocked', dialing: 'Dialing the party', ringing: 'Ringing',
      answered: 'Answered', bridged: 'Connected', completed: 'Ended', no_answer: 'No answer', busy: 'Busy',
      rejected: 'Rejected', failed: 'Failed', canceled: 'Canceled', missed: 'Missed' },
    outcome: { answered: 'Answered', no_answer: 'No answer', busy: 'Busy', rejected: 'Rejected', failed: 'Failed',
      voicemail: 'Voicemail', canceled: 'Canceled', missed: 'Missed' },
    direction: { outbound: 'Outbound', inbound: 'Inbound' },
    role: { debtor: 'Debtor', third_party: 'Third party' },
    relation: { self: 'Self', spouse: 'Spouse', parent: 'Parent', sibling: 'Sibling', child: 'Child',
      colleague: 'Colleague', friend: 'Friend', other: 'Other' },
    disposition: { promise_to_pay: 'Promise to pay', paid: 'Paid', refused: 'Refused to pay', wrong_number: 'Wrong number',
      no_contact: 'No contact', third_party_message: 'Message left with a third party',
      third_party_stop: 'Third party asked not to be called', hostile: 'Hostile', callback_requested: 'Callback requested' },
    promise: { pending: 'Pending', kept: 'Kept', broken: 'Broken', cancelled: 'Cancelled' },
    recording: { pending: 'Pending', stored: 'Stored', failed: 'Failed', purged: 'Purged', missing: 'Missing' },
    rule_result: { pass: 'Pass', fail: 'Fail', off: 'Off' },
    side: { agent: 'Agent', party: 'Party' },
    sup: { monitor: 'Monitor', whisper: 'Whisper', barge: 'Barge' },
    source: { state: 'State', compliance: 'Compliance', carrier: 'Carrier', supervisor: 'Supervisor',
      recording: 'Recording', note: 'Note', promise: 'Promise', audit: 'Audit' },
    kind: { requested: 'Call requested', dialing: 'Dialing the party', ringing: 'Ringing', answered: 'Answered',
      bridged: 'Connected', refused_move: 'Refused state change', allowed: 'Allowed by the policy',
      refused: 'Refused by the policy', call_status: 'Call status', conference_status: 'Conference status',
      recording_status: 'Recording status', joined: 'Joined the call', mode_switched: 'Switched mode', left: 'Left the call',
      noted: 'Recording noted', stored: 'Recording stored', archived: 'Recording archived', purged: 'Recording purged',
      wrap_up: 'Wrap-up note', promise_made: 'Promise to pay', 'call.hang_up': 'Hung up',
      'call.supervise_leave': 'Supervisor left', 'call.carrier_action_failed': 'Carrier action failed' },
  },
};

const ERRORS_ZH = {
  forbidden: '您无权进行此操作', not_found: '未找到该通话（可能不属于您的团队）',
  recording_not_found: '未找到该录音', recording_not_stored: '录音尚未存储，请稍后再试',
  recording_gone: '录音文件已不存在（已过保存期限或丢失）', validation_error: '输入有误', invalid_input: '输入有误',
  internal_error: '系统错误，请联系管理员', unauthenticated: '登录已过期，请重新登录',
};

const ROLES = ['supervisor', 'admin', 'auditor']; // who this page is for (an auditor reads calls and listens, audited)
const PAGE = 50; // calls a request
const NOTE_FIELDS = ['contact_name', 'contact_status', 'arrears_reason', 'result', 'assessment', 'equipment_status',
  'recovery_likelihood', 'next_action', 'next_follow_up_date', 'special_notes'];
const SKIP = 5; // seconds, back and forward

let lang = localStorage.getItem('board.lang') === 'en' ? 'en' : 'zh';
const t = (key) => TEXT[lang][key] ?? key;
const label = (group, code) => (code == null ? '' : ENUMS[lang][group]?.[code] ?? code);
const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ''));
const ruleName = (rule) => RULE_NAMES[rule]?.[lang === 'zh' ? 0 : 1] ?? rule;

// --- DOM helpers (as the board's) ---------------------------------------------------------------

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

const locale = () => (lang === 'zh' ? 'zh-CN' : 'en-GB');
const when = (iso) => (iso ? new Date(iso).toLocaleString(locale(), { year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }) : '');
const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString(locale(), { hour12: false }) : '');
function duration(total) {
  if (total == null) return '';
  const s = Math.round(total);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}
const partyText = (party) => (party ? `${label('role', party.role)}${lang === 'zh'
  ? `（${label('relation', party.relation)}）` : ` (${label('relation', party.relation)})`}` : '—');

// --- state and the API --------------------------------------------------------------------------

const S = {
  token: sessionStorage.getItem('board.token'),
  me: null,
  filters: {}, // as last applied
  calls: [], // the list's calls, newest first
  cursor: null, // the next page's `before` (null: the last page was read)
  loading: false,
  generation: 0, // of the list: a newer search drops the pages an older one still reads
  open: null, // the call's page shown (GET …/timeline)
  recording: null, // the recording in the player
  audio: null, // Web Audio: {ctx, splitter, merger}
  blobUrl: null,
};

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
  if (res.status === 401 && path !== '/v1/auth/token') signOut('session_expired');
  return { ok: res.ok, status: res.status, data };
}

function messageOf(body) {
  if (!body || body.error === 'network') return t('network_error');
  if (body.error === 'validation_error' && Array.isArray(body.fields)) {
    return fill(t('fix_fields'), { fields: body.fields.map((f) => `${f.field} (${f.message})`).join('; ') });
  }
  const failed = fill(t('request_failed'), { code: body.error || '?' });
  if (lang === 'zh') return ERRORS_ZH[body.error] || failed;
  return body.detail || failed;
}

function flash(text, kind = 'info') {
  const el = tid('flash');
  el.textContent = text ?? '';
  el.dataset.kind = kind;
  el.hidden = !text;
}

// --- signing in and out -------------------------------------------------------------------------

function showView(name) {
  byId('login-view').hidden = name !== 'login';
  byId('calls-view').hidden = name !== 'calls';
  byId('logout').hidden = name !== 'calls';
  if (name === 'login') tid('login-username').focus();
}

async function onLogin(event) {
  event.preventDefault();
  const form = event.target;
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  const error = tid('login-error');
  error.dataset.key = '';
  error.textContent = '';
  if (!username || !password) { sayError('required'); return; }
  const r = await api('POST', '/v1/auth/token', { username, password });
  if (!r.ok) { if (r.status === 401) sayError('login_failed'); else error.textContent = messageOf(r.data); return; }
  S.token = r.data.access_token;
  sessionStorage.setItem('board.token', S.token);
  form.elements.password.value = '';
  await enter();
}

function sayError(key) { // a sign-in message kept by its key, so the language switch rewords it
  const error = tid('login-error');
  error.dataset.key = key;
  error.textContent = t(key);
}

async function enter() {
  const me = await api('GET', '/v1/auth/me');
  if (!S.token) return;
  if (!me.ok) { tid('login-error').textContent = messageOf(me.data); showView('login'); return; }
  if (!ROLES.includes(me.data.role)) { signOut('refused'); return; } // an agent (or any role this page is not for)
  S.me = me.data;
  showWho();
  showView('calls');
  await loadChoices();
  await search();
  const wanted = /^#call=(\d+)$/.exec(location.hash);
  if (wanted) openCall(Number(wanted[1]));
}

function signOut(key) {
  stopPlayer();
  Object.assign(S, { token: null, me: null, calls: [], cursor: null, open: null });
  sessionStorage.removeItem('board.token');
  tid('who').textContent = '';
  byId('call-rows').replaceChildren();
  byId('detail').hidden = true;
  showView('login');
  if (key) sayError(key);
}

function showWho() {
  const me = S.me;
  tid('who').textContent = me ? `${me.display_name} · ${t(`role_${me.role}`)}${me.team ? ` · ${me.team}` : ''}` : '';
}

// --- the filters --------------------------------------------------------------------------------

const CHOICES = { agents: [], clients: [], teams: [] };

async function loadChoices() {
  const admin = S.me.role === 'admin' || S.me.role === 'auditor'; // every team's calls
  const team = admin ? '' : `&team=${encodeURIComponent(S.me.team ?? '')}`;
  const [agents, clients] = await Promise.all([
    api('GET', `/v1/users?role=agent&limit=500${team}`), api('GET', '/v1/clients?limit=500')]);
  CHOICES.agents = agents.ok ? agents.data.items : [];
  CHOICES.clients = clients.ok ? clients.data.items : [];
  CHOICES.teams = [...new Set(CHOICES.agents.map((a) => a.team).filter(Boolean))].sort();
  byId('f-team-label').hidden = !admin;
  fillChoices();
}

function options(select, items) { // keeps the choice across a language switch
  const value = select.value;
  select.replaceChildren(h('option', { value: '', text: t('any') }),
    ...items.map(([v, text]) => h('option', { value: v, text })));
  select.value = [...select.options].some((o) => o.value === value) ? value : '';
}

function fillChoices() {
  const admin = S.me?.role === 'admin';
  options(tid('f-agent'), CHOICES.agents.map((a) => [a.id, `${a.display_name} (${a.username}${admin && a.team ? ` · ${a.team}` : ''})`]));
  options(tid('f-team'), CHOICES.teams.map((team) => [team, team]));
  options(tid('f-client'), CHOICES.clients.map((c) => [c.id, `${c.name} (${c.code})`]));
  options(tid('f-direction'), Object.entries(ENUMS[lang].direction));
  options(tid('f-outcome'), Object.entries(ENUMS[lang].outcome));
  options(tid('f-party'), Object.entries(ENUMS[lang].role));
}

// A day in the browser's zone, as the instant it starts (with its offset: naive times are refused).
function dayStart(value, plus = 0) {
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + plus).toISOString();
}

function readFilters() {
  const form = byId('filters').elements;
  const f = {};
  for (const name of ['agent_id', 'team', 'client_id', 'direction', 'outcome', 'party_role']) {
    if (form[name].value) f[name] = form[name].value;
  }
  if (form.from.value) f.from = dayStart(form.from.value);
  if (form.to.value) f.to = dayStart(form.to.value, 1); // the whole last day
  return f;
}

async function onFilter(event) {
  event.preventDefault();
  const form = byId('filters').elements;
  const error = tid('filter-error');
  error.textContent = '';
  if (form.from.value && form.to.value && form.to.value < form.from.value) { error.textContent = t('bad_range'); return; }
  await search();
}

// --- the list -----------------------------------------------------------------------------------

async function search() {
  S.filters = readFilters();
  S.calls = [];
  S.cursor = null;
  S.generation += 1; // a search still under way is dropped
  byId('call-rows').replaceChildren();
  await loadMore(true);
}

// One more page of the list, the filters (party role included) applied by the API.
async function loadMore(first = false) {
  if (!first && (S.loading || S.cursor === null)) return;
  const generation = S.generation;
  const current = () => generation === S.generation;
  S.loading = true;
  const more = byId('more');
  more.disabled = true;
  more.textContent = t('loading');
  let cursor = first ? null : S.cursor;
  try {
    const query = new URLSearchParams({ ...S.filters, limit: String(PAGE) });
    if (cursor !== null) query.set('before', String(cursor));
    const r = await api('GET', `/v1/calls?${query}`);
    if (!current()) return;
    if (!r.ok) { if (r.status) tid('filter-error').textContent = messageOf(r.data); return; }
    S.calls.push(...r.data.items);
    byId('call-rows').append(...r.data.items.map(row));
    cursor = r.data.next_before;
    S.cursor = cursor;
  } finally {
    if (current()) {
      S.loading = false;
      more.disabled = false;
      more.textContent = t('more');
      renderCount();
    }
  }
}

function renderCount() {
  const n = S.calls.length;
  tid('list-empty').hidden = n > 0 || S.loading;
  tid('calls').hidden = n === 0;
  byId('more').hidden = S.cursor === null;
  tid('list-count').textContent = fill(t(S.cursor === null ? 'shown' : 'shown_more'), { n });
}

function row(call) {
  const open = S.open?.call.id === call.id;
  const tr = h('tr', { testid: `call-${call.id}`, 'data-call-id': call.id, 'aria-current': open ? 'true' : null },
    h('td', {}, h('button', { type: 'button', class: 'link', testid: 'open', 'aria-label': fill(t('open_call'), { id: call.id }),
      onclick: () => openCall(call.id), text: when(call.requested_at) })),
    h('td', { testid: 'agent' }, call.agent ? call.agent.name : h('span', { class: 'muted', text: t('no_agent') }),
      call.agent?.team && S.me?.role === 'admin' ? h('span', { class: 'muted', text: ` · ${call.agent.team}` }) : null),
    h('td', { testid: 'party', text: partyText(call.party) }),
    h('td', { testid: 'client', text: call.client?.name ?? '' }),
    h('td', { testid: 'direction', text: label('direction', call.direction) }),
    h('td', {}, h('span', { class: 'badge', testid: 'outcome', 'data-state': call.outcome ?? call.state,
      text: call.outcome ? label('outcome', call.outcome) : label('state', call.state) })),
    h('td', { class: 'timer', testid: 'duration', text: duration(call.duration_s) }),
    h('td', { testid: 'disposition', text: label('disposition', call.disposition) }),
    h('td', { testid: 'recording' }, call.recording_stored ? h('span', { class: 'rec', text: `● ${t('has_recording')}` })
      : call.recording_missing ? h('span', { class: 'error', text: t('recording_missing') }) : ''));
  return tr;
}

function redrawRows() {
  byId('call-rows').replaceChildren(...S.calls.map(row));
  renderCount();
}

// --- a call's page ------------------------------------------------------------------------------

async function openCall(id) {
  const r = await api('GET', `/v1/calls/${id}/timeline`);
  if (!r.ok) { if (r.status) flash(messageOf(r.data), 'error'); return; }
  flash('');
  stopPlayer();
  S.open = r.data;
  history.replaceState(null, '', `#call=${id}`);
  for (const tr of byId('call-rows').children) {
    if (Number(tr.dataset.callId) === id) tr.setAttribute('aria-current', 'true');
    else tr.removeAttribute('aria-current');
  }
  renderCall();
  byId('detail').hidden = false;
  byId('detail-h').focus();
}

function closeCall() {
  const id = S.open?.call.id;
  stopPlayer();
  S.open = null;
  byId('detail').hidden = true;
  history.replaceState(null, '', location.pathname);
  for (const tr of byId('call-rows').children) tr.removeAttribute('aria-current');
  tid('open', tid(`call-${id}`) ?? document)?.focus();
}

function renderCall() {
  const page = S.open;
  if (!page) return;
  const c = page.call;
  byId('detail').dataset.callId = c.id;
  tid('call-title').textContent = fill(t('call_title'), { id: c.id });
  const fact = (key, value, testid) => (value ? [h('dt', { text: t(key) }), h('dd', { testid, text: value })] : []);
  tid('call-facts').replaceChildren(
    ...fact('k_state', `${label('direction', c.direction)} · ${label('state', c.state)}${c.outcome ? ` · ${label('outcome', c.outcome)}` : ''}`, 'fact-state'),
    ...fact('k_agent', c.agent ? `${c.agent.name}${c.agent.team ? ` · ${c.agent.team}` : ''}` : '', 'fact-agent'),
    ...fact('k_seat', c.seat?.code, 'fact-seat'),
    ...fact('k_party', c.party ? partyText(c.party) : '', 'fact-party'),
    ...fact('k_case', c.case?.account_ref, 'fact-case'),
    ...fact('k_client', c.client ? `${c.client.name} (${c.client.code})` : '', 'fact-client'),
    ...fact('k_campaign', c.campaign?.name, 'fact-campaign'),
    ...fact('k_numbers', [c.from_e164, c.to_e164].filter(Boolean).join(' → '), 'fact-numbers'),
    ...fact('k_started', when(c.requested_at), 'fact-started'),
    ...fact('k_answered', when(c.answered_at), 'fact-answered'),
    ...fact('k_ended', when(c.ended_at), 'fact-ended'),
    ...fact('k_duration', duration(c.duration_s), 'fact-duration'),
    ...fact('k_talk', duration(c.talk_s), 'fact-talk'),
    ...fact('k_hangup', c.hangup_by, 'fact-hangup'),
    ...fact('k_error', [c.error_code, c.error_detail].filter(Boolean).join(' '), 'fact-error'));
  renderRecordings(page.recordings, c);
  renderDecision(page.decision);
  const whisper = tid('whisper');
  whisper.textContent = page.whisper_text || t('no_whisper');
  whisper.classList.toggle('muted', !page.whisper_text);
  renderNote(page.notes[0]);
  renderPromises(page.promises);
  renderTimeline(page.events);
}

function renderDecision(d) {
  const box = tid('decision');
  if (!d) { box.replaceChildren(h('p', { class: 'muted', text: t('no_decision') })); return; }
  const order = Object.keys(RULE_NAMES);
  const rules = Object.entries(d.rule_results).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
  box.replaceChildren(...[
    h('p', {}, h('span', { class: 'badge', testid: 'decision-allowed', 'data-state': d.allowed ? 'allowed' : 'refused',
      text: t(d.allowed ? 'allowed' : 'refused_dial') }), ' ',
    h('span', { testid: 'decision-policy', text: d.policy_version != null ? fill(t('policy_version'), { v: d.policy_version }) : '' }),
    d.dry_run ? h('span', { class: 'muted', text: ` · ${t('dry_run')}` }) : null,
    h('span', { class: 'muted', text: ` · ${t('decided_at')} ${when(d.at)}` })),
    h('table', { class: 'rules', testid: 'decision-rules' },
      h('thead', {}, h('tr', {}, h('th', { text: t('rule') }), h('th', { text: t('result') }))),
      h('tbody', {}, rules.map(([rule, result]) => h('tr', { testid: `rule-${rule}`, 'data-result': result },
        h('td', { testid: 'rule-name', text: ruleName(rule) }),
        h('td', {}, h('span', { class: 'badge', 'data-state': result, testid: 'rule-result', text: label('rule_result', result) })))))),
    d.violations.length ? h('div', { testid: 'decision-violations' }, h('strong', { text: t('violations') }),
      h('ul', {}, d.violations.map((v) => h('li', { text: `${ruleName(v.rule)}: ${(lang === 'zh' ? v.message_zh : v.message_en) ?? v.message ?? ''}` })))) : null,
    d.next_allowed_at ? h('p', { class: 'muted', text: `${t('next_allowed')} ${when(d.next_allowed_at)}` }) : null,
  ].filter(Boolean));
}

function renderNote(note) {
  const box = tid('note');
  if (!note) { box.replaceChildren(h('p', { class: 'muted', text: t('no_note') })); return; }
  box.replaceChildren(h('dl', { class: 'facts' },
    h('dt', { text: t('n_disposition') }), h('dd', { testid: 'note-disposition', text: label('disposition', note.disposition) }),
    NOTE_FIELDS.filter((f) => note[f]).flatMap((f) => [h('dt', { text: t(`n_${f}`) }), h('dd', { testid: `note-${f}`, text: note[f] })])));
}

function renderPromises(promises) {
  const box = tid('promises');
  if (!promises.length) { box.replaceChildren(h('p', { class: 'muted', text: t('no_promises') })); return; }
  box.replaceChildren(h('table', { class: 'promises' },
    h('thead', {}, h('tr', {}, ['p_amount', 'p_reduction', 'p_due', 'p_status', 'p_paid', 'p_created'].map((k) => h('th', { text: t(k) })))),
    h('tbody', {}, promises.map((p) => h('tr', { testid: `promise-${p.id}` },
      h('td', { testid: 'amount', text: p.amount }), h('td', { text: p.reduction }), h('td', { testid: 'due', text: p.due_date }),
      h('td', {}, h('span', { class: 'badge', 'data-state': p.status, testid: 'status', text: label('promise', p.status) })),
      h('td', { text: p.paid_amount }), h('td', { text: when(p.created_at) }))))));
}

// What an event says besides its kind: the carrier's status, the supervisor's mode, the note's result…
function eventDetail(e) {
  const d = e.detail ?? {};
  const parts = [];
  if (e.source === 'compliance' && d.policy_version != null) parts.push(fill(t('policy_version'), { v: d.policy_version }));
  if (e.source === 'state' && d.outcome) parts.push(label('outcome', d.outcome));
  if (d.hangup_by) parts.push(`${t('k_hangup')}: ${d.hangup_by}`);
  if (d.leg) parts.push(d.leg);
  for (const key of ['CallStatus', 'StatusCallbackEvent', 'RecordingStatus', 'SipResponseCode', 'ErrorCode']) if (d[key]) parts.push(d[key]);
  if (d.CallDuration) parts.push(duration(Number(d.CallDuration)));
  if (d.mode) parts.push(label('sup', d.mode));
  if (d.recording_id) parts.push(`#${d.recording_id}`);
  if (d.disposition) parts.push(label('disposition', d.disposition));
  if (d.amount) parts.push(`${d.amount} · ${d.due_date}`);
  if (d.error) parts.push(d.error);
  return parts.join(' · ');
}

function renderTimeline(events) {
  tid('timeline').replaceChildren(...events.map((e, i) => h('li', { testid: `event-${i}`, 'data-source': e.source, 'data-kind': e.kind },
    h('time', { datetime: e.at, class: 'timer', testid: 'event-time', text: clock(e.at), title: when(e.at) }), ' ',
    h('span', { class: 'source', 'data-source': e.source, text: label('source', e.source) }), ' ',
    h('strong', { testid: 'event-kind', text: e.source === 'state' && !ENUMS[lang].kind[e.kind] ? label('state', e.kind) : label('kind', e.kind) }),
    e.actor ? h('span', { testid: 'event-actor', text: ` · ${e.actor.name}` }) : null,
    h('span', { class: 'muted', testid: 'event-detail', text: eventDetail(e) ? ` · ${eventDetail(e)}` : '' }))));
}

// --- recordings and the player ------------------------------------------------------------------

function renderRecordings(recordings, call) {
  const list = tid('recordings');
  if (!recordings.length) { list.replaceChildren(h('li', { class: 'muted', text: t('no_recordings') })); return; }
  list.replaceChildren(...recordings.map((r) => {
    const playing = S.recording?.id === r.id;
    const sides = Object.entries(r.channel_sides).map(([ch, side]) => `${ch}: ${label('side', side)}`).join(', ');
    return h('li', { testid: `recording-${r.id}`, 'data-status': r.status },
      h('span', { text: fill(t('rec_line'), { id: r.id, status: label('recording', r.status), channels: r.channels ?? '?',
        duration: duration(r.duration_s) }) }),
      sides ? h('span', { class: 'muted', text: ` (${sides})` }) : null, ' ',
      r.status === 'stored' && r.links ? h('button', { type: 'button', testid: 'listen', 'aria-pressed': String(playing),
        onclick: () => listen(r, call), text: t(playing ? 'listening' : 'listen') }) : null);
  }));
}

function stopPlayer() {
  const audio = byId('audio');
  audio.pause();
  audio.removeAttribute('src');
  audio.load();
  if (S.blobUrl) URL.revokeObjectURL(S.blobUrl); // a new listen fetches (and is audited) again
  S.blobUrl = null;
  S.recording = null;
  tid('player').hidden = true;
  tid('player-status').textContent = '';
}

async function listen(recording, call) {
  stopPlayer();
  const status = tid('player-status');
  tid('player').hidden = false;
  status.textContent = t('fetching');
  let res;
  try {
    res = await fetch(recording.links.media, { headers: { Authorization: `Bearer ${S.token}` }, cache: 'no-store' });
  } catch {
    status.textContent = t('network_error');
    return;
  }
  if (!res.ok) {
    let body = null;
    try { body = await res.json(); } catch { body = null; }
    if (res.status === 401) signOut('session_expired');
    status.textContent = messageOf(body ?? { error: String(res.status) });
    return;
  }
  const blob = await res.blob();
  if (S.open?.call.id !== call.id) return; // another call was opened meanwhile
  S.recording = recording;
  S.blobUrl = URL.createObjectURL(blob);
  const audio = byId('audio');
  audio.dataset.recordingId = recording.id;
  audio.src = S.blobUrl;
  route();
  status.textContent = fill(t('ready_to_play'), { id: recording.id });
  renderRecordings(S.open.recordings, S.open.call);
  audio.focus(); // the keyboard goes on from the player (space plays, arrows seek)
  try { await audio.play(); } catch { /* the controls are there: the keyboard or a click plays it */ }
}

// The channels: the element's sound split (ChannelSplitter) and merged again (ChannelMerger) — both
// sides on their own ear, or one side on both ears. Which channel holds which side is the recording's.
function route() {
  const player = tid('player');
  const choice = document.querySelector('input[name="channel"]:checked').value;
  const sides = S.recording?.channel_sides ?? {};
  const stereo = (S.recording?.channels ?? 0) >= 2;
  for (const input of document.querySelectorAll('input[name="channel"]')) input.disabled = !stereo && input.value !== 'both';
  if (!S.recording) return;
  if (!S.audio) {
    const ctx = new AudioContext();
    const source = ctx.createMediaElementSource(byId('audio'));
    const splitter = ctx.createChannelSplitter(2);
    const merger = ctx.createChannelMerger(2);
    source.connect(splitter);
    merger.connect(ctx.destination);
    S.audio = { ctx, splitter, merger };
  }
  const { ctx, splitter, merger } = S.audio;
  if (ctx.state === 'suspended') ctx.resume();
  splitter.disconnect();
  const channelOf = (side) => Number(Object.keys(sides).find((ch) => sides[ch] === side)) - 1;
  let left = 0;
  let right = stereo ? 1 : 0;
  if (stereo && choice !== 'both') {
    left = channelOf(choice);
    right = left;
  }
  splitter.connect(merger, left, 0);
  splitter.connect(merger, right, 1);
  player.dataset.route = choice;
  player.dataset.channels = `${left + 1},${right + 1}`; // the file's channels heard on the left, right
  tid('player-status').textContent = stereo ? fill(t('ready_to_play'), { id: S.recording.id }) : t('mono');
}

function skip(seconds) {
  const audio = byId('audio');
  if (!S.recording || !Number.isFinite(audio.duration)) return;
  audio.currentTime = Math.min(Math.max(0, audio.currentTime + seconds), audio.duration);
}

// --- language -----------------------------------------------------------------------------------

function applyI18n() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  byId('lang-toggle').textContent = lang === 'zh' ? 'English' : '中文';
  const error = tid('login-error');
  if (error.dataset.key) error.textContent = t(error.dataset.key);
  showWho();
  if (S.me) {
    fillChoices();
    redrawRows();
    renderCall();
  }
}

// --- start --------------------------------------------------------------------------------------

function bind() {
  byId('login-form').addEventListener('submit', onLogin);
  byId('logout').addEventListener('click', () => signOut());
  byId('filters').addEventListener('submit', onFilter);
  byId('filters').addEventListener('reset', () => setTimeout(search)); // after the form is cleared
  byId('more').addEventListener('click', () => loadMore());
  byId('close-call').addEventListener('click', closeCall);
  byId('back').addEventListener('click', () => skip(-SKIP));
  byId('forward').addEventListener('click', () => skip(SKIP));
  for (const input of document.querySelectorAll('input[name="channel"]')) input.addEventListener('change', route);
  byId('detail').addEventListener('keydown', (event) => {
    if (event.key === 'Escape') closeCall();
  });
  byId('lang-toggle').addEventListener('click', () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('board.lang', lang);
    applyI18n();
  });
}

bind();
applyI18n();
if (S.token) enter();
else showView('login');

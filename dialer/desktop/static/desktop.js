// The agent desktop: one module, no build step, nothing loaded from elsewhere.
// It talks to the /v1 API with the agent's bearer token (kept in sessionStorage) and follows
// GET /v1/agent/events (Server-Sent Events read with fetch, so the token can be sent) for its
// state, the current call with its whisper text, and the held case.

// --- texts (Chinese by default, English on the switch) -----------------------------------------

const TEXT = {
  zh: {
    title: '催收坐席工作台', logout: '退出', login_title: '登录', username: '用户名', password: '密码', login: '登录',
    seat_title: '选择坐席', seat: '坐席', mode: '模式', mode_preview: '预览式', mode_progressive: '渐进式',
    seat_login: '签入坐席', toolbar: '坐席操作', not_ready_reason: '未就绪原因', next_case: '下一案件',
    case_title: '案件', no_case: '暂无案件',
    no_case_now: '当前没有可拨打的案件，请稍后点击“下一案件”。', waiting_engine: '等待系统自动拨号…',
    not_ready_hint: '未就绪：按 F2 进入就绪状态。', skip_reason: '跳过原因', skip: '跳过', call_title: '通话',
    call_state: '状态', hang_up: '挂断 (F4)', no_call: '当前无通话', wrapup_title: '话后小结', save_notes: '保存小结 (Ctrl+Enter)',
    f_disposition: '处理结果', f_contact_status: '联系状态', f_contact_name: '联系人', f_contact_number: '联系电话',
    f_arrears_reason: '逾期原因', f_result: '催收结果', f_reason: '原因说明', f_promise: '承诺还款', f_promise_amount: '承诺金额',
    f_promise_due: '承诺还款日期', f_promise_owed: '应还金额（默认全部欠款）', f_promise_auth: '减免授权编号',
    f_payment: '已还款声明', f_payment_amount: '金额', f_payment_paid_on: '还款日期', f_payment_channel: '还款渠道',
    f_payment_reference: '流水号', f_callback: '约定回电', f_callback_at: '回电时间', f_callback_until: '最晚至', f_callback_number: '回电号码', number_called: '本次拨打的号码',
    f_assessment: '综合评估', f_equipment_status: '设备及经营状况', f_recovery_likelihood: '回款可能性',
    f_next_follow_up_date: '下次跟进日期', f_next_action: '下一步建议', f_special_notes: '特别事项', f_next_state: '保存后状态',
    live_hint: '实时连接', ready_go: '就绪 (F2)', ready_stop: '未就绪 (F2)', choose: '请选择…',
    account: '账号', client: '委托方', product: '产品', total_owed: '欠款总额', principal: '本金', interest_fees: '利息费用',
    overdue_days: '逾期天数', bucket: '账龄', status: '案件状态', last_contact: '最近联系', next_follow_up: '下次跟进',
    held_until: '保留至', tier: '优先级', allowed: '可拨打', refused: '禁止拨打', valid: '有效', invalid: '无效号码',
    next_allowed: '下次可拨', person_needed: '需人工解除', dial: '拨号', calls: '通话记录', notes: '历史小结',
    promises: '还款承诺', when: '时间', number: '号码', outcome: '结果', talk: '通话(秒)',
    blocked_title: '政策拦截：本次拨号被拒绝', retry_at: '可重试时间', hearing: '正在播报提示语（对方尚未接通）',
    whisper: '提示语', required: '必填', bad_amount: '请输入大于 0 的金额（最多两位小数）', needs_answer: '此处理结果需要已接通的通话',
    in_future: '必须是将来的时间', after_at: '必须晚于回电时间', fix_fields: '请更正标出的字段', saved: '小结已保存',
    network_error: '网络错误，请重试', session_expired: '登录已过期，请重新登录', login_failed: '用户名或密码错误',
    skipped: '已跳过案件', call_started: '正在拨号…', too_short: '至少 2 个字', days: '天', seconds: '秒',
    role_debtor: '债务人', role_third_party: '第三方', state_ready: '就绪', state_not_ready: '未就绪',
    r_seat_unreachable: '坐席电话未接听', r_call_not_placed: '呼叫未发出', r_queue_empty: '暂无可拨案件', r_skipped: '已跳过',
    no_calls: '暂无通话记录', no_notes: '暂无小结', never: '从未联系', not_scheduled: '未安排', keys_title: '快捷键',
    k_ready: '就绪/未就绪', k_dial: '拨号', k_hang_up: '挂断', k_save: '保存小结', k_next: '下一案件',
    q_no_open: '您和您团队名下没有待催收的案件', q_no_campaign: '没有为您的团队运行中的渐进式外呼活动',
    q_window: '通话时段已结束：最早 {time}（{zone}）可再拨打', q_caps: '{n} 个案件因上限暂缓',
    q_stops: '{n} 个案件因停止联系要求暂缓', q_numbers: '{n} 个案件没有有效号码', q_other: '{n} 个案件因其他规则暂缓',
    q_held: '{n} 个案件正由其他坐席处理', q_resting: '{n} 个案件刚联系过，稍后再分配', q_skipped: '{n} 个案件您刚跳过，稍后再分配',
    q_unchecked: '还有 {n} 个案件尚未检查，请再点“下一案件”', q_checking: '系统正在检查 {n} 个案件', q_next: '最早 {time} 可再拨打',
    request_failed: '操作未完成（{code}）', carrier_code: '线路错误（{code}）', call_failed: '通话失败',
  },
  en: {
    title: 'Collections agent desktop', logout: 'Sign out', login_title: 'Sign in', username: 'Username',
    password: 'Password', login: 'Sign in', seat_title: 'Choose a seat', seat: 'Seat', mode: 'Mode',
    mode_preview: 'Preview', mode_progressive: 'Progressive', seat_login: 'Log in at seat', toolbar: 'Agent controls',
    not_ready_reason: 'Not-ready reason', next_case: 'Next case',
    case_title: 'Case', no_case: 'No case',
    no_case_now: 'Nothing can be called right now; try "Next case" again later.', waiting_engine: 'Waiting for the dialer…',
    not_ready_hint: 'Not ready: press F2 to go ready.', skip_reason: 'Skip reason', skip: 'Skip', call_title: 'Call',
    call_state: 'State', hang_up: 'Hang up (F4)', no_call: 'No call', wrapup_title: 'Wrap-up notes',
    save_notes: 'Save notes (Ctrl+Enter)', f_disposition: 'Disposition', f_contact_status: 'Contact status',
    f_contact_name: 'Contact name', f_contact_number: 'Contact number', f_arrears_reason: 'Reason for arrears',
    f_result: 'Result', f_reason: 'Reason', f_promise: 'Promise to pay', f_promise_amount: 'Amount promised',
    f_promise_due: 'Due date', f_promise_owed: 'Amount owed (default: total owed)',
    f_promise_auth: 'Reduction authorisation ref', f_payment: 'Claimed payment', f_payment_amount: 'Amount',
    f_payment_paid_on: 'Paid on', f_payment_channel: 'Channel', f_payment_reference: 'Reference',
    f_callback: 'Callback', f_callback_at: 'Call back at', f_callback_until: 'Until', f_callback_number: 'Call back on', number_called: 'The number called', f_assessment: 'Assessment',
    f_equipment_status: 'Equipment / operations status', f_recovery_likelihood: 'Recovery likelihood',
    f_next_follow_up_date: 'Next follow-up date', f_next_action: 'Suggested next action', f_special_notes: 'Special notes',
    f_next_state: 'After saving', live_hint: 'Live connection', ready_go: 'Ready (F2)', ready_stop: 'Not ready (F2)',
    choose: 'Choose…', account: 'Account', client: 'Client', product: 'Product', total_owed: 'Total owed',
    principal: 'Principal', interest_fees: 'Interest & fees', overdue_days: 'Overdue days', bucket: 'Bucket',
    status: 'Status', last_contact: 'Last contact', next_follow_up: 'Next follow-up', held_until: 'Held until',
    tier: 'Priority', allowed: 'Allowed', refused: 'Blocked', valid: 'Valid', invalid: 'Invalid number',
    next_allowed: 'Next allowed', person_needed: 'Only a person can lift this', dial: 'Dial', calls: 'Calls',
    notes: 'Previous notes', promises: 'Promises', when: 'When', number: 'Number', outcome: 'Outcome',
    talk: 'Talk (s)', blocked_title: 'Blocked by the policy: this dial was refused', retry_at: 'Retry at',
    hearing: 'You are hearing the whisper (the party is not connected yet)', whisper: 'Whisper', required: 'Required',
    bad_amount: 'Enter an amount above 0 (at most two decimals)', needs_answer: 'This disposition needs an answered call',
    in_future: 'Must be in the future', after_at: 'Must be after the callback time', fix_fields: 'Please correct the marked fields',
    saved: 'Notes saved', network_error: 'Network error, please retry', session_expired: 'Your session expired; sign in again',
    login_failed: 'Wrong username or password', skipped: 'Case skipped', call_started: 'Dialing…',
    too_short: 'At least 2 characters', days: 'days', seconds: 's', role_debtor: 'Debtor', role_third_party: 'Third party',
    state_ready: 'Ready', state_not_ready: 'Not ready', r_seat_unreachable: 'your seat did not answer',
    r_call_not_placed: 'the call was not placed', r_queue_empty: 'nothing to call', r_skipped: 'skipped',
    no_calls: 'No calls yet', no_notes: 'No notes yet', never: 'Never', not_scheduled: 'Not scheduled',
    keys_title: 'Keyboard shortcuts', k_ready: 'ready/not ready', k_dial: 'dial', k_hang_up: 'hang up', k_save: 'save notes',
    k_next: 'next case',
    q_no_open: 'No open cases for you or your team', q_no_campaign: 'No progressive campaign is running for your team',
    q_window: 'Calling window closed: next at {time} ({zone})', q_caps: '{n} case{s} set aside by caps',
    q_stops: '{n} case{s} set aside by stop-contact requests', q_numbers: '{n} case{s} without a valid number',
    q_other: '{n} case{s} set aside by other rules', q_held: '{n} case{s} held by other agents',
    q_resting: '{n} case{s} resting after a recent call', q_skipped: '{n} case{s} you skipped a short while ago',
    q_unchecked: '{n} case{s} not checked yet: press "Next case" again', q_checking: 'The dialer is checking {n} case{s}',
    q_next: 'Next callable at {time}', request_failed: 'The request did not go through ({code})',
    carrier_code: 'Carrier error ({code})', call_failed: 'The call failed',
  },
};

const ENUMS = {
  zh: {
    state: { offline: '离线', ready: '就绪', not_ready: '未就绪', reserved: '已分配案件', dialing: '拨号中', on_call: '通话中', wrap_up: '话后处理' },
    call: { requested: '呼叫坐席中', blocked: '已拦截', dialing: '呼叫对方中', ringing: '振铃中', answered: '已接听', bridged: '已接通',
      completed: '已结束', no_answer: '无人接听', busy: '占线', rejected: '拒接', failed: '失败', canceled: '已取消', missed: '未接' },
    disposition: { promise_to_pay: '承诺还款', paid: '声称已还款', refused: '拒绝还款', wrong_number: '错误号码', no_contact: '未联系上',
      third_party_message: '第三方同意转告', third_party_stop: '第三方要求停止联系', hostile: '敌对/强烈不满', callback_requested: '约定回电' },
    contact_status: { debtor_reached: '本人接听', third_party_reached: '第三方接听', no_answer: '无人接听', busy: '占线', rejected: '拒接/挂断',
      switched_off: '关机', suspended: '停机', not_in_service: '空号', wrong_person: '非本人/号码易主', voicemail: '语音信箱', other: '其他' },
    recovery: { high: '高', medium: '中', low: '低', none: '无', unknown: '未知' },
    reason: { break: '小休', lunch: '用餐', training: '培训', meeting: '会议', coaching: '辅导', admin: '事务处理', technical: '技术故障', personal: '个人事务', end_of_shift: '下班' },
    relation: { self: '本人', spouse: '配偶', parent: '父母', sibling: '兄弟姐妹', child: '子女', colleague: '同事', friend: '朋友', other: '其他' },
    kind: { mobile: '手机', home: '住宅', work: '单位', other: '其他' },
    tier: { promise_due: '承诺到期', follow_up_due: '到期跟进', backlog: '常规' },
    case_status: { open: '在催', paused: '暂停', settled: '已结清', paid: '已还清', returned: '已退案' },
    promise_status: { pending: '待履行', kept: '已履行', broken: '已违约', cancelled: '已取消' },
    call_error: { not_placed: '呼叫未发出', hung_up_before_dial: '拨号前已挂断', seat_no_answer: '坐席电话未接听',
      seat_busy: '坐席电话占线', seat_failed: '坐席电话无法接通', seat_canceled: '坐席呼叫已取消',
      seat_completed: '坐席电话在接通对方前挂断' },
    skip: ['资料不全，需核实', '已由他人跟进', '需主管确认', '其他原因'],
  },
  en: {
    state: { offline: 'Offline', ready: 'Ready', not_ready: 'Not ready', reserved: 'Case reserved', dialing: 'Dialing', on_call: 'On call', wrap_up: 'Wrap-up' },
    call: { requested: 'Ringing your seat', blocked: 'Blocked', dialing: 'Calling the party', ringing: 'Ringing', answered: 'Answered',
      bridged: 'Connected', completed: 'Ended', no_answer: 'No answer', busy: 'Busy', rejected: 'Rejected', failed: 'Failed',
      canceled: 'Canceled', missed: 'Missed' },
    disposition: { promise_to_pay: 'Promise to pay', paid: 'Says paid', refused: 'Refused', wrong_number: 'Wrong number',
      no_contact: 'No contact', third_party_message: 'Third party passes message', third_party_stop: 'Third party: do not call',
      hostile: 'Hostile', callback_requested: 'Callback requested' },
    contact_status: { debtor_reached: 'Debtor reached', third_party_reached: 'Third party reached', no_answer: 'No answer', busy: 'Busy',
      rejected: 'Rejected / hung up', switched_off: 'Switched off', suspended: 'Suspended', not_in_service: 'Not in service',
      wrong_person: 'Wrong person', voicemail: 'Voicemail', other: 'Other' },
    recovery: { high: 'High', medium: 'Medium', low: 'Low', none: 'None expected', unknown: 'Unknown' },
    reason: { break: 'Break', lunch: 'Lunch', training: 'Training', meeting: 'Meeting', coaching: 'Coaching', admin: 'Admin',
      technical: 'Technical problem', personal: 'Personal', end_of_shift: 'End of shift' },
    relation: { self: 'Self', spouse: 'Spouse', parent: 'Parent', sibling: 'Sibling', child: 'Child', colleague: 'Colleague',
      friend: 'Friend', other: 'Other' },
    kind: { mobile: 'Mobile', home: 'Home', work: 'Work', other: 'Other' },
    tier: { promise_due: 'Promise due', follow_up_due: 'Follow-up due', backlog: 'Backlog' },
    case_status: { open: 'Open', paused: 'Paused', settled: 'Settled', paid: 'Paid', returned: 'Returned' },
    promise_status: { pending: 'Pending', kept: 'Kept', broken: 'Broken', cancelled: 'Cancelled' },
    call_error: { not_placed: 'The call was not placed', hung_up_before_dial: 'Hung up before the party was dialed',
      seat_no_answer: 'Your seat did not answer', seat_busy: 'Your seat was busy', seat_failed: 'Your seat could not be rung',
      seat_canceled: 'The call to your seat was canceled', seat_completed: 'Your seat hung up before the party was rung' },
    skip: ['Details incomplete, to verify', 'Being worked by someone else', 'Needs a supervisor', 'Other reason'],
  },
};

// The service's own errors in Chinese, by their stable code (English shows the service's text).
// A refusal that carries message_zh (policy violations, the wrap-up's checks) is shown as sent.
const ERRORS_ZH = {
  seat_taken: '该坐席已有其他人员签入，请选择其他坐席', seat_inactive: '该坐席已停用，请选择其他坐席',
  already_logged_in: '您已在其他坐席签入，请先在该坐席退出', not_logged_in: '尚未签入坐席',
  wrap_up_pending: '请先保存上一通电话的话后小结', wrap_up_exists: '该通话已保存过小结',
  wrap_up_not_found: '该通话尚无小结', illegal_agent_transition: '当前状态下不能进行此操作',
  agent_not_ready: '请先进入就绪状态再拨号', agent_busy: '您正在处理其他通话',
  case_not_held: '该案件不在您名下，请先点击“下一案件”领取后再拨号',
  wrong_mode: '渐进式模式下由系统自动拨号；如需手动拨号，请切换到预览式',
  campaign_not_running: '该外呼活动未在运行', callback_not_allowed: '政策不允许在该时间回电，请另选时间',
  call_not_ended: '通话尚未结束，结束后再保存小结', call_not_live: '通话已结束', call_without_case: '该通话未关联案件',
  not_your_call: '这不是您的通话', not_ready_reason_required: '请选择未就绪原因',
  carrier_unavailable: '线路暂时不可用，请稍后再试', carrier_rate_limited: '线路繁忙，请稍后再试',
  carrier_rejected: '线路拒绝了该呼叫', carrier_error: '线路故障，请稍后再试', unavailable: '服务暂不可用，请稍后再试',
  forbidden: '您无权进行此操作', not_found: '未找到相关记录', internal_error: '系统错误，请联系主管',
  invalid_input: '输入有误', validation_error: '请更正标出的字段', unauthenticated: '登录已过期，请重新登录',
  conflict: '操作与当前状态冲突，请刷新后重试', unauthorised_waiver: '任何减免须提供委托方书面授权编号',
  naive_datetime: '时间须带时区', policy_blocked: '政策拦截：本次拨号被拒绝',
};
// Field checks in Chinese, by the type the service names for each field.
const FIELD_ERRORS_ZH = {
  missing: '必填', required_for_disposition: '此处理结果必须填写', not_for_disposition: '此处理结果无需填写此项',
  required_for_not_ready: '选择“未就绪”时必须填写', string_too_short: '内容太短', string_too_long: '内容太长',
  enum: '不在可选范围内', literal_error: '不在可选范围内', decimal_parsing: '请输入数字金额',
  decimal_max_places: '金额最多两位小数', greater_than: '必须大于 0', date_from_datetime_parsing: '日期格式不正确',
  date_parsing: '日期格式不正确', datetime_parsing: '时间格式不正确', window_order: '必须晚于回电时间',
  window_too_long: '回电时段最长 12 小时', invalid: '内容不正确',
};

// The wrap-up rules come from the service (GET /v1/wrap-up/rules) once signed in: until they do, the
// page checks no disposition's fields and disables none (the service still refuses what breaks them).
const NO_RULES = { required: {}, conversations: new Set(), nested: {} };
const TEXT_FIELDS = ['contact_name', 'contact_number', 'arrears_reason', 'result', 'assessment', 'equipment_status',
  'next_action', 'special_notes', 'reason', 'next_follow_up_date', 'recovery_likelihood'];
const WITH_REASON = new Set(['wrong_number', 'third_party_stop', 'hostile']);
const LIVE_CALL = new Set(['requested', 'dialing', 'ringing', 'answered', 'bridged']);
const HEARING = new Set(['dialing', 'ringing', 'answered']);
const CAN_DIAL = new Set(['ready', 'reserved']);
const OUTCOME_STATUS = { no_answer: 'no_answer', busy: 'busy', rejected: 'rejected', voicemail: 'voicemail' };
const AMOUNT = /^\d{1,12}(\.\d{1,2})?$/;
// The keyboard shortcuts, as onKey (the F keys, Ctrl+Enter) and the buttons' accesskey (Alt+N) handle
// them: the toolbar's hint is written from this table.
const SHORTCUTS = [['F2', 'k_ready'], ['F3', 'k_dial'], ['F4', 'k_hang_up'], ['Ctrl+Enter', 'k_save'], ['Alt+N', 'k_next']];
const QUEUE_WAIT_MS = 1500; // progressive mode: the engine's first try, before asking why it dials nothing
const QUEUE_POLL_MS = 5000; // and then asked again this often (the engine keeps trying)

let lang = localStorage.getItem('desk.lang') === 'en' ? 'en' : 'zh';
const t = (key) => TEXT[lang][key] ?? key;
const label = (group, code) => (code == null ? '' : ENUMS[lang][group]?.[code] ?? code);
const reasonText = (code) => ENUMS[lang].reason[code] ?? TEXT[lang][`r_${code}`] ?? code;
const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ''));
const words = (key) => () => t(key);

// An error or notice on screen is kept as how to word it (a function), not as its words, so a switch
// of language rewords every one of them (reword(), from applyI18n): say(el, words('required')).
const WORDED = new Map(); // element → () => text
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

// --- small DOM helpers --------------------------------------------------------------------------

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
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) {
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// Dates in the page language's order, the order its date fields show (see localiseDateFields):
// 2026/12/04 in Chinese, 04/12/2026 in English (en-GB: day, month, year; a 24-hour clock).
const locale = () => (lang === 'zh' ? 'zh-CN' : 'en-GB');
const DAY = { year: 'numeric', month: '2-digit', day: '2-digit' };
function fmtTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(locale(), { ...DAY, hour: '2-digit', minute: '2-digit', hour12: false });
}
function fmtDate(day) { // a calendar date, "2026-12-04"
  if (!day) return '';
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(locale(), { ...DAY, timeZone: 'UTC' });
}
function fmtAt(iso, zone) { // an instant on the wall clock of zone (the browser's when none): 08:00, dated when not today there
  const at = new Date(iso);
  const time = at.toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: zone });
  const day = (d) => d.toLocaleDateString('en-CA', { timeZone: zone }); // yyyy-mm-dd, to compare
  return day(at) === day(new Date()) ? time : `${at.toLocaleDateString(locale(), { ...DAY, timeZone: zone })} ${time}`;
}
function fmtMoney(value, currency) {
  if (value == null) return '';
  const n = Number(value).toLocaleString(locale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return currency ? `${n} ${currency}` : n;
}
function isoWithOffset(local) { // "2026-11-25T10:30" (datetime-local) → ISO 8601 with the browser's offset
  const d = new Date(local);
  const off = -d.getTimezoneOffset();
  const pad = (n) => String(Math.trunc(Math.abs(n))).padStart(2, '0');
  return `${local.length === 16 ? `${local}:00` : local}${off >= 0 ? '+' : '-'}${pad(off / 60)}:${pad(off % 60)}`;
}

// --- state --------------------------------------------------------------------------------------

const S = {
  token: sessionStorage.getItem('desk.token'),
  username: sessionStorage.getItem('desk.username'),
  desk: null, // the last snapshot from the event stream: {session, call, held_case_id}
  card: null, cardKind: null, cardCaseId: null, // 'preview' (GET /v1/agent/next), 'held' (GET /v1/agent/case) or 'case' (GET /v1/cases/{id})
  loadingNext: false, loadingCase: null, noCase: false,
  wrapCall: null, saving: false, noted: new Set(), // the call the wrap-up form is for; calls noted here
  rules: null, // the wrap-up rules: {required, conversations, nested}, see loadRules()
  timeline: { callId: null, seen: [] },
  stream: null, timer: null,
  blocked: null, // the policy's refusal of the last dial, shown until the next action
  queue: null, queueTimer: null, // why nothing is callable (GET /v1/agent/queue-status), see explainQueue()
  refreshedFor: null, // the ended call whose case card's history was read again
};

// --- the API ------------------------------------------------------------------------------------

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (S.token) headers.Authorization = `Bearer ${S.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    return { ok: false, status: 0, data: { error: 'network', detail: t('network_error') } };
  }
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (res.status === 401 && path !== '/v1/auth/token') signOut(words('session_expired'));
  if (!res.ok) console.warn(`${method} ${path} → ${res.status}`, data);
  return { ok: res.ok, status: res.status, data };
}

// A refusal in the page's language: Chinese by its stable code (or the message_zh it carries), English
// as the service wrote it; a validation error lists the fields by the labels the page gives them.
function messageOf(body) {
  if (!body || body.error === 'network') return t('network_error');
  if (body.error === 'validation_error' && Array.isArray(body.fields)) {
    const fields = body.fields.map((f) => (lang === 'zh' ? `${fieldName(f.field)}（${fieldMessage(f)}）`
      : `${fieldName(f.field)} (${fieldMessage(f)})`));
    return lang === 'zh' ? `${t('fix_fields')}：${fields.join('；')}` : `${t('fix_fields')}: ${fields.join('; ')}`;
  }
  const failed = fill(t('request_failed'), { code: body.error || '?' });
  if (lang === 'zh') return body.message_zh || ERRORS_ZH[body.error] || failed;
  return body.detail || failed;
}

function fieldName(field) { // the label the page gives the field (each form field names its text key)
  const key = document.querySelector(`[data-field="${CSS.escape(String(field))}"] [data-i18n]`)?.dataset.i18n;
  return key ? t(key) : TEXT[lang][String(field)] ?? field;
}

function fieldMessage(f) {
  return lang === 'zh' ? FIELD_ERRORS_ZH[f.type] ?? FIELD_ERRORS_ZH.invalid : f.message;
}

function flash(text, kind = 'info') { // text: words, or how to word them (see say)
  const el = tid('flash');
  say(el, text);
  el.dataset.kind = kind;
  el.hidden = !text;
  clearTimeout(flash.timer);
  if (text && kind !== 'error') flash.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

// --- views --------------------------------------------------------------------------------------

function showView(name) {
  byId('login-view').hidden = name !== 'login';
  byId('seat-view').hidden = name !== 'seat';
  byId('desk-view').hidden = name !== 'desk';
  byId('logout').hidden = name === 'login';
  tid('who').textContent = name === 'login' ? '' : S.username || '';
  if (name === 'login') tid('login-username').focus();
}

function applyI18n() {
  document.documentElement.lang = locale();
  localiseDateFields();
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of document.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  byId('lang-toggle').textContent = lang === 'zh' ? 'English' : '中文';
  fillOptions(byId('not-ready-reason'), 'reason', false);
  const form = byId('wrapup-form');
  fillOptions(form.elements.disposition, 'disposition', true);
  fillOptions(form.elements.contact_status, 'contact_status', true);
  fillOptions(form.elements.recovery_likelihood, 'recovery', true);
  fillOptions(form.elements.not_ready_reason, 'reason', false);
  const skips = byId('skip-reasons');
  skips.replaceChildren(...ENUMS[lang].skip.map((text) => h('option', { value: text })));
  tid('keys-hint').replaceChildren(...SHORTCUTS.flatMap(([keys, what], i) => [i ? ' · ' : '', h('kbd', { text: keys }), ` ${t(what)}`]));
  tid('keys-hint').title = t('keys_title');
  reword();
  render();
}

// Chromium lays a date field out in the order of its language (its lang, where it honours lang: see
// the README) when it builds the field: lang is set, then the field rebuilt (its type set again), its
// value kept. zh-CN shows yyyy/mm/dd, en-GB dd/mm/yyyy: the order the page writes dates in (fmtDate).
function localiseDateFields() {
  for (const input of document.querySelectorAll('input[type=date], input[type=datetime-local]')) {
    if (input.lang === locale()) continue;
    const { type, value } = input;
    input.lang = locale();
    input.type = 'text';
    input.type = type;
    input.value = value;
  }
}

function fillOptions(select, group, blank) {
  const value = select.value;
  const options = Object.entries(ENUMS[lang][group]).map(([code, text]) => h('option', { value: code, text }));
  select.replaceChildren(...(blank ? [h('option', { value: '', text: t('choose') })] : []), ...options);
  if (value) select.value = value;
  if (group === 'disposition') markConversations();
}

// --- login and seat -----------------------------------------------------------------------------

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
  S.username = username;
  sessionStorage.setItem('desk.token', S.token);
  sessionStorage.setItem('desk.username', username);
  form.elements.password.value = '';
  await enter();
}

async function enter() {
  const [r] = await Promise.all([api('GET', '/v1/agent/session'), loadRules()]);
  if (!S.token) return;
  if (r.ok) startDesk();
  else await showSeats();
}

async function showSeats() {
  stopStream();
  showView('seat');
  const select = tid('seat-select');
  const r = await api('GET', '/v1/seats?active=true&limit=500');
  if (!r.ok) { say(tid('seat-error'), () => messageOf(r.data)); return; }
  select.replaceChildren(...r.data.items.map((seat) => h('option', { value: seat.id, text: `${seat.code}${seat.location ? ` · ${seat.location}` : ''}${seat.team ? ` (${seat.team})` : ''}` })));
  select.focus();
}

async function onSeat(event) {
  event.preventDefault();
  const form = event.target;
  const error = tid('seat-error');
  say(error, '');
  const seatId = Number(form.elements.seat.value);
  if (!seatId) { say(error, words('required')); return; }
  const r = await api('POST', '/v1/agent/session', { seat_id: seatId, mode: form.elements.mode.value });
  if (!r.ok) { say(error, () => messageOf(r.data)); return; }
  startDesk();
}

// What each disposition needs besides contact_status, which dispositions need an answered call, and what a
// promise, payment or callback needs: read once, as dialer/notes/schemas.py is their one source.
async function loadRules() {
  if (S.rules) return;
  const r = await api('GET', '/v1/wrap-up/rules');
  if (!r.ok) return; // tried again when a wrap-up form opens
  S.rules = { required: r.data.required, conversations: new Set(r.data.conversations), nested: r.data.nested_required };
  if (S.wrapCall) { markConversations(); updateFields(); } // a form opened before they came
}

const rules = () => S.rules ?? NO_RULES;

function startDesk() {
  showView('desk');
  startStream();
}

async function onLogout() {
  if (!byId('desk-view').hidden) {
    const r = await api('DELETE', '/v1/agent/session');
    if (!r.ok && r.data?.error !== 'not_logged_in') { flash(() => messageOf(r.data), 'error'); return; }
  }
  signOut();
}

function signOut(message) { // message: how to word why (see say)
  stopStream();
  stopWatchingQueue();
  S.token = null;
  S.desk = null;
  clearCard();
  closeWrapUp();
  sessionStorage.removeItem('desk.token');
  showView('login');
  if (message) say(tid('login-error'), message);
}

// --- the event stream ---------------------------------------------------------------------------

function startStream() {
  if (S.stream) return;
  const control = new AbortController();
  S.stream = control;
  (async () => {
    while (!control.signal.aborted && S.token) {
      try {
        const res = await fetch('/v1/agent/events', {
          headers: { Authorization: `Bearer ${S.token}`, Accept: 'text/event-stream' }, signal: control.signal, cache: 'no-store',
        });
        if (res.status === 401) { signOut(words('session_expired')); return; }
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
            handleEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch (error) {
        if (control.signal.aborted) return;
      }
      setLive(false);
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  })();
}

function stopStream() {
  if (S.stream) S.stream.abort();
  S.stream = null;
  setLive(false);
}

function setLive(on) { tid('live').dataset.live = String(on); }

function handleEvent(block) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue; // keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  if (name === 'desk' && data.length) onDesk(JSON.parse(data.join('\n')));
}

// --- reacting to the agent's state --------------------------------------------------------------

function onDesk(snapshot) {
  const before = S.desk?.session?.state ?? null;
  S.desk = snapshot;
  const session = snapshot.session;
  if (!session) { showSeats(); return; } // logged out (by a supervisor, or elsewhere)
  const state = session.state;
  const call = snapshot.call;
  if (call) track(call);

  if (state === 'wrap_up' && call && S.wrapCall?.id !== call.id && !S.noted.has(call.id)) openWrapUp(call);
  else if (state !== 'wrap_up' && S.wrapCall && !S.saving) closeWrapUp();
  else if (S.wrapCall && call && S.wrapCall.id === call.id) S.wrapCall = call;

  if (session.mode === 'preview') {
    if (state === 'ready' && before !== 'ready') { clearCard(); fetchNext(); }
    else if (state === 'reserved' && !S.card && !S.loadingNext) fetchNext();
    else if (call && call.case_id && S.cardCaseId !== call.case_id && S.loadingCase !== call.case_id) loadCase(call.case_id);
    else if (state === 'not_ready' && before && before !== 'not_ready') clearCard();
  } else {
    const caseId = ['reserved', 'dialing', 'on_call', 'wrap_up'].includes(state) ? (call?.case_id ?? snapshot.held_case_id) : null;
    if (caseId && caseId !== S.cardCaseId && S.loadingCase !== caseId) loadCase(caseId);
    else if (!caseId && S.card) clearCard();
  }
  if (call && !LIVE_CALL.has(call.state) && call.case_id === S.cardCaseId && S.refreshedFor !== call.id) {
    S.refreshedFor = call.id; // the call ended: the card's history shows it
    refreshCard();
  }
  watchQueue();
  render();
}

function track(call) {
  if (S.timeline.callId !== call.id) S.timeline = { callId: call.id, seen: [] };
  const last = S.timeline.seen[S.timeline.seen.length - 1];
  if (!last || last.state !== call.state) S.timeline.seen.push({ state: call.state, at: new Date() });
}

async function fetchNext() {
  if (S.loadingNext) return;
  S.loadingNext = true;
  S.noCase = false;
  hideBlocked();
  const r = await api('GET', '/v1/agent/next');
  S.loadingNext = false;
  if (r.ok && r.data) showCard(r.data, 'preview');
  else if (r.ok) { clearCard(); S.noCase = true; }
  else flash(() => messageOf(r.data), 'error');
  render();
  if (S.card) focusFirstDial();
  else if (S.noCase) loadQueueStatus();
}

async function loadCase(caseId) {
  S.loadingCase = caseId;
  const held = await api('GET', '/v1/agent/case');  // the full card, with each number's verdict
  if (S.loadingCase !== caseId) return;
  if (held.ok && held.data && held.data.case.id === caseId) {
    S.loadingCase = null;
    showCard(held.data, 'held');
    if (S.wrapCall?.case_id === caseId) prefillParty();
    render();
    return;
  }
  const [detail, notes] = await Promise.all([
    api('GET', `/v1/cases/${caseId}`), api('GET', `/v1/cases/${caseId}/notes?limit=20`),
  ]);
  if (S.loadingCase !== caseId) return;
  S.loadingCase = null;
  if (!detail.ok) { flash(() => messageOf(detail.data), 'error'); return; }
  showCard({ case: detail.data, parties: detail.data.parties, notes: notes.ok ? notes.data.items : [], calls: null,
    promises: null }, 'case');
  if (S.wrapCall?.case_id === caseId) prefillParty();
  render();
}

function showCard(card, kind) {
  S.card = card;
  S.cardKind = kind;
  S.cardCaseId = card.case.id;
  S.noCase = false;
  S.queue = null;
}

function clearCard() {
  S.card = null;
  S.cardKind = null;
  S.cardCaseId = null;
  S.noCase = false;
  S.queue = null;
  hideBlocked();
}

// The card's history read again (calls, notes, promises, and each number's verdict): after a call
// ends and after its note is saved. The held card when the service still gives it, else the notes.
async function refreshCard() {
  const caseId = S.cardCaseId;
  if (!caseId) return;
  const held = await api('GET', '/v1/agent/case');
  if (S.cardCaseId !== caseId) return; // another case meanwhile
  if (held.ok && held.data && held.data.case.id === caseId) {
    S.card = { ...S.card, ...held.data };
  } else {
    const notes = await api('GET', `/v1/cases/${caseId}/notes?limit=20`);
    if (S.cardCaseId !== caseId || !notes.ok) return;
    S.card = { ...S.card, notes: notes.data.items };
  }
  render();
}

// --- why nothing is callable --------------------------------------------------------------------

async function loadQueueStatus() {
  const r = await api('GET', '/v1/agent/queue-status');
  const wanted = S.desk?.session?.mode === 'progressive' ? Boolean(S.queueTimer) : S.noCase; // still nothing to show?
  S.queue = r.ok && wanted ? r.data : null;
  render();
}

// Progressive mode: while the agent is ready and the engine dials nothing, the reason is read (after
// the engine's first try, then every QUEUE_POLL_MS: it keeps trying, and sets cases aside as it goes).
function watchQueue() {
  const session = S.desk?.session;
  if (!(session?.mode === 'progressive' && session.state === 'ready' && !S.card)) {
    stopWatchingQueue();
    return;
  }
  if (S.queueTimer) return;
  const tick = () => {
    S.queueTimer = setTimeout(tick, QUEUE_POLL_MS);
    loadQueueStatus();
  };
  S.queueTimer = setTimeout(tick, QUEUE_WAIT_MS);
}

function stopWatchingQueue() {
  if (!S.queueTimer) return;
  clearTimeout(S.queueTimer);
  S.queueTimer = null;
  S.queue = null;
}

// One or two plain sentences: what holds the agent's cases back now, the calling window first.
function explainQueue(q) {
  if (!q) return '';
  if (q.mode === 'progressive' && q.campaigns === 0) return t('q_no_campaign');
  if (q.open === 0) return t('q_no_open');
  const count = (key, n) => fill(t(key), { n, s: n === 1 ? '' : 's' });
  const parts = [];
  const [opening] = q.window; // the earliest zone's
  if (opening) parts.push(fill(t('q_window'), { time: fmtAt(opening.opens_at, opening.zone), zone: opening.zone }));
  for (const { reason, cases } of q.reasons) if (reason !== 'calling_window') parts.push(count(`q_${reason}`, cases));
  const caps = q.reasons.find((r) => r.reason === 'caps');
  if (!opening && caps) parts.push(fill(t('q_next'), { time: fmtAt(caps.next_allowed_at) }));
  if (q.held) parts.push(count('q_held', q.held));
  if (q.resting) parts.push(count('q_resting', q.resting));
  if (q.skipped) parts.push(count('q_skipped', q.skipped));
  if (q.callable) parts.push(count(q.mode === 'progressive' ? 'q_checking' : 'q_unchecked', q.callable));
  return parts.join(' · ');
}

// --- actions ------------------------------------------------------------------------------------

async function toggleReady() {
  const state = S.desk?.session?.state;
  let r;
  if (state === 'not_ready') r = await api('POST', '/v1/agent/state', { state: 'ready' });
  else if (state === 'ready' || state === 'reserved') {
    r = await api('POST', '/v1/agent/state', { state: 'not_ready', reason: byId('not-ready-reason').value });
  } else return;
  if (!r.ok) flash(() => messageOf(r.data), 'error');
}

async function changeMode(event) {
  const r = await api('POST', '/v1/agent/mode', { mode: event.target.value });
  if (!r.ok) {
    flash(() => messageOf(r.data), 'error');
    event.target.value = S.desk?.session?.mode ?? 'preview';
    return;
  }
  if (S.desk?.session) S.desk.session.mode = r.data.mode;
  clearCard();
  if (r.data.mode === 'preview' && r.data.state === 'ready') fetchNext();
  render();
}

async function dial(numberId) {
  hideBlocked();
  const r = await api('POST', '/v1/calls', { number_id: numberId });
  if (r.ok) { flash(words('call_started')); track(r.data); return; }
  if (r.data?.error === 'policy_blocked') showBlocked(r.data);
  else flash(() => messageOf(r.data), 'error');
}

async function hangUp() {
  const call = S.desk?.call;
  if (!call) return;
  const r = await api('POST', `/v1/calls/${call.id}/hang-up`);
  if (!r.ok) say(tid('call-error'), () => messageOf(r.data));
}

async function onSkip(event) {
  event.preventDefault();
  const reason = byId('skip-reason').value.trim();
  const error = tid('error-skip-reason');
  say(error, reason.length < 2 ? words('too_short') : '');
  if (reason.length < 2 || !S.card) { byId('skip-reason').focus(); return; }
  const r = await api('POST', `/v1/agent/cases/${S.card.case.id}/skip`, { reason });
  if (!r.ok) { say(error, () => messageOf(r.data)); return; }
  byId('skip-reason').value = '';
  flash(words('skipped'));
  clearCard();
  render();
  fetchNext();
}

function showBlocked(body) {
  S.blocked = body;
  renderBlocked();
}

function renderBlocked() { // in the page's language, again at each switch
  const panel = tid('policy-blocked');
  const body = S.blocked;
  if (!body) { panel.hidden = true; return; }
  const items = (body.violations || []).map((v) => h('li', { testid: 'blocked-rule', 'data-rule': v.rule },
    h('code', { text: v.rule }), ' ', (lang === 'zh' ? v.message_zh : v.message_en) || v.message,
    v.retry_at ? h('span', { class: 'muted', text: ` · ${t('retry_at')} ${fmtTime(v.retry_at)}` }) : null));
  panel.replaceChildren(
    h('strong', { text: t('blocked_title') }),
    h('ul', {}, items),
    h('p', { testid: 'blocked-next' }, `${t('next_allowed')}: `,
      body.next_allowed_at ? fmtTime(body.next_allowed_at) : t('person_needed')),
  );
  panel.hidden = false;
}

function hideBlocked() {
  S.blocked = null;
  tid('policy-blocked').hidden = true;
}

// --- rendering ----------------------------------------------------------------------------------

function render() {
  const session = S.desk?.session;
  const state = session?.state ?? '';
  const badge = tid('agent-state');
  badge.dataset.state = state;
  badge.textContent = session ? label('state', state) + (session.state_reason ? ` · ${reasonText(session.state_reason)}` : '') : '';
  tid('seat-code').textContent = session ? session.seat.code : '';
  const ready = byId('ready');
  ready.dataset.state = state;
  ready.textContent = state === 'ready' || state === 'reserved' ? t('ready_stop') : t('ready_go');
  ready.disabled = !['ready', 'reserved', 'not_ready'].includes(state);
  const mode = byId('mode');
  if (session && document.activeElement !== mode) mode.value = session.mode;
  mode.disabled = !['ready', 'not_ready'].includes(state);
  byId('next-case').disabled = !(session?.mode === 'preview' && state === 'ready' && !S.card);
  renderCard();
  renderBlocked();
  renderCall();
}

function renderCard() {
  const box = byId('case-card');
  const empty = tid('case-empty');
  const session = S.desk?.session;
  byId('skip-form').hidden = !(S.cardKind === 'preview' && session?.state === 'reserved');
  if (!S.card) {
    box.hidden = true;
    box.replaceChildren();
    empty.hidden = false;
    let text = t('no_case');
    if (session?.state === 'not_ready') text = t('not_ready_hint');
    else if (session?.mode === 'progressive') text = t('waiting_engine');
    else if (S.noCase) text = t('no_case_now');
    empty.textContent = text;
    const why = explainQueue(['ready', 'reserved'].includes(session?.state) ? S.queue : null);
    tid('queue-status').textContent = why;
    tid('queue-status').hidden = !why;
    return;
  }
  tid('queue-status').hidden = true;
  empty.hidden = true;
  box.hidden = false;
  const focused = document.activeElement?.dataset?.testid;
  const { case: c } = S.card;
  const fact = (key, value, testid) => [h('dt', { text: t(key) }), h('dd', { testid, text: value ?? '' })];
  box.replaceChildren(
    h('p', {}, h('strong', { testid: 'case-account', text: c.account_ref }),
      c.client_name ? ` · ${c.client_name}` : '', c.product ? ` · ${c.product}` : '',
      S.card.tier ? h('span', { class: 'badge', testid: 'case-tier', text: label('tier', S.card.tier) }) : null),
    h('dl', { class: 'facts', testid: 'case-amounts' },
      fact('total_owed', fmtMoney(c.total_owed, c.currency), 'case-total'),
      fact('principal', fmtMoney(c.principal, c.currency)),
      fact('interest_fees', fmtMoney(c.interest_fees, c.currency)),
      fact('overdue_days', `${c.overdue_days} ${t('days')}`, 'case-overdue'),
      fact('bucket', c.bucket, 'case-bucket'),
      fact('status', label('case_status', c.status)),
      fact('last_contact', fmtTime(c.last_contact_at) || t('never')),
      fact('next_follow_up', fmtTime(c.next_follow_up_at) || t('not_scheduled')),
      S.card.held_until ? fact('held_until', fmtTime(S.card.held_until), 'case-held-until') : []),
    h('div', { testid: 'case-parties' }, S.card.parties.map(renderParty)),
    renderHistory(),
  );
  if (focused && focused.startsWith('dial-')) tid(focused)?.focus();
}

function renderParty(party) {
  const role = party.role === 'debtor' ? t('role_debtor') : t('role_third_party');
  return h('div', { class: 'party', testid: `party-${party.id}`, 'data-role': party.role },
    h('h3', {}, party.name, ' · ', role, party.relation && party.relation !== 'self' ? ` (${label('relation', party.relation)})` : '',
      party.time_zone ? h('span', { class: 'muted', text: ` · ${party.time_zone}` }) : null),
    party.numbers.map((n) => renderNumber(party, n)));
}

function renderNumber(party, n) {
  const preview = S.cardKind === 'preview' || S.cardKind === 'held';
  const allowed = preview ? n.allowed : n.valid;
  const status = preview ? (n.allowed ? t('allowed') : t('refused')) : (n.valid ? t('valid') : t('invalid'));
  const reasons = preview ? n.violations.map((v) => h('li', { 'data-rule': v.rule },
    h('code', { text: v.rule }), ' ', (lang === 'zh' ? v.message_zh : v.message_en) || v.message)) : [];
  const next = preview && !n.allowed
    ? h('span', { testid: `number-next-${n.id}` }, `${t('next_allowed')}: `, n.next_allowed_at ? fmtTime(n.next_allowed_at) : t('person_needed'))
    : null;
  const dialButton = S.cardKind === 'preview'  // in progressive mode the engine dials, the card only informs
    ? h('button', { type: 'button', class: 'dial', testid: `dial-${n.id}`, 'data-number': n.id, disabled: !canDial(n),
      title: n.allowed ? `${t('dial')} ${n.e164} (F3)` : t('refused'), onclick: () => dial(n.id) }, t('dial'))
    : null;
  return h('div', { class: 'number', testid: `number-${n.id}`, 'data-allowed': String(Boolean(allowed)) },
    h('span', { class: 'line' }, h('strong', { text: n.e164 }), ' ',
      h('span', { class: 'muted kind', testid: `number-kind-${n.id}`, text: label('kind', n.kind) })),
    h('span', { class: allowed ? 'allowed' : 'refused', testid: `number-status-${n.id}`, text: status }),
    h('div', {}, reasons.length ? h('ul', { testid: `number-violations-${n.id}` }, reasons) : null, next),
    dialButton);
}

function canDial(number) {
  const session = S.desk?.session;
  const call = S.desk?.call;
  return Boolean(number.allowed && session && session.mode === 'preview' && CAN_DIAL.has(session.state)
    && !(call && LIVE_CALL.has(call.state)));
}

// The case's history, newest first; an empty list says so in words (never a bare "None" or "null").
function renderHistory() {
  const card = S.card;
  const notes = card.notes ?? [];
  const calls = card.calls ? h('div', {}, h('h4', { text: t('calls') }), card.calls.length
    ? h('table', { testid: 'case-calls' }, h('tr', {}, ['when', 'number', 'outcome', 'talk'].map((k) => h('th', { text: t(k) }))),
      card.calls.map((c) => h('tr', { 'data-call-id': c.id }, h('td', { text: fmtTime(c.requested_at) }),
        h('td', { text: c.to_e164 || '' }), h('td', { text: label('call', c.outcome || c.state) }), h('td', { text: c.talk_s ?? '' }))))
    : h('p', { class: 'muted', testid: 'case-no-calls', text: t('no_calls') })) : null;
  const noted = h('div', {}, h('h4', { text: t('notes') }), notes.length
    ? h('ul', { testid: 'case-notes' }, notes.map((n) => h('li', { 'data-call-id': n.call_id },
      h('strong', { text: `${fmtTime(n.created_at)} ${label('disposition', n.disposition)}` }),
      n.contact_status ? ` · ${label('contact_status', n.contact_status)}` : '', n.contact_name ? ` · ${n.contact_name}` : '',
      n.result ? ` · ${n.result}` : '', n.next_follow_up_date ? ` · ${t('next_follow_up')} ${fmtDate(n.next_follow_up_date)}` : '',
      n.special_notes ? ` · ${n.special_notes}` : '')))
    : h('p', { class: 'muted', testid: 'case-no-notes', text: t('no_notes') }));
  const promises = card.promises && card.promises.length ? h('div', {}, h('h4', { text: t('promises') }),
    h('ul', { testid: 'case-promises' }, card.promises.map((p) => h('li', {
      text: `${fmtMoney(p.amount, card.case.currency)} · ${fmtDate(p.due_date)} · ${label('promise_status', p.status)}` }))))
    : null;
  return h('div', { class: 'history', testid: 'case-history' }, calls, noted, promises);
}

function renderCall() {
  const call = S.desk?.call;
  const panel = tid('call-panel');
  tid('call-idle').hidden = Boolean(call);
  panel.hidden = !call;
  clearInterval(S.timer);
  if (!call) return;
  const state = tid('call-state');
  state.dataset.state = call.state;
  state.dataset.callId = call.id;
  state.textContent = label('call', call.state) + (call.outcome && call.outcome !== call.state ? ` (${label('call', call.outcome)})` : '');
  tid('call-to').textContent = call.to_e164 || '';
  const whisper = tid('whisper');
  whisper.hidden = !call.whisper_text;
  const hearing = HEARING.has(call.state) && !call.ended_at;
  whisper.dataset.hearing = String(hearing);
  tid('whisper-label').textContent = hearing ? t('hearing') : t('whisper');
  tid('whisper-text').textContent = call.whisper_text || '';
  const timeline = S.timeline.callId === call.id ? S.timeline.seen : [];
  tid('call-timeline').replaceChildren(...timeline.map((step) => h('li', { 'data-state': step.state },
    `${step.at.toLocaleTimeString(locale())} ${label('call', step.state)}`)));
  say(tid('call-error'), () => callError(call));
  byId('hang-up').disabled = !(LIVE_CALL.has(call.state) && !call.ended_at);
  const tick = () => {
    const since = call.bridged_at && !call.ended_at ? (Date.now() - Date.parse(call.bridged_at)) / 1000 : call.talk_s;
    tid('call-timer').textContent = since == null ? '' : `${Math.max(0, Math.round(since))} ${t('seconds')}`;
  };
  tick();
  if (call.bridged_at && !call.ended_at) S.timer = setInterval(tick, 1000);
  for (const button of document.querySelectorAll('button.dial')) {
    const number = findNumber(Number(button.dataset.number));
    button.disabled = !(number && canDial(number));
  }
}

function callError(call) { // why the call failed, in the page's language (the carrier's own words in English)
  const code = call.error_code;
  if (!code) return call.error_detail ? (lang === 'zh' ? t('call_failed') : call.error_detail) : '';
  const known = ENUMS[lang].call_error[code] ?? (lang === 'zh' ? ERRORS_ZH[code] : null);
  return known || (lang === 'en' && call.error_detail) || fill(t('carrier_code'), { code });
}

function findNumber(id) {
  for (const party of S.card?.parties ?? []) for (const n of party.numbers) if (n.id === id) return n;
  return null;
}

function focusFirstDial() {
  const active = document.activeElement;
  if (active && ['INPUT', 'TEXTAREA', 'SELECT'].includes(active.tagName)) return;
  document.querySelector('button.dial:not(:disabled)')?.focus();
}

// --- wrap-up ------------------------------------------------------------------------------------

const form = () => byId('wrapup-form');

function answered(call) {
  return call.outcome ? call.outcome === 'answered' : Boolean(call.answered_at);
}

function openWrapUp(call) {
  S.wrapCall = call;
  const f = form();
  f.reset();
  clearErrors();
  tid('wrapup-call').textContent = `#${call.id} ${call.to_e164 || ''}`;
  f.elements.contact_number.value = call.to_e164 || '';
  if (answered(call)) {
    f.elements.disposition.value = '';
    prefillParty();
  } else {
    f.elements.disposition.value = 'no_contact';
    f.elements.contact_status.value = OUTCOME_STATUS[call.outcome] || 'other';
  }
  markConversations();
  fillCallbackNumbers();
  updateFields();
  f.hidden = false;
  loadRules();
  f.elements.disposition.focus();
}

function fillCallbackNumbers() { // the reached party's other valid numbers, once the case card is known
  const call = S.wrapCall;
  const select = form().elements['callback.number_id'];
  const party = (S.card?.parties ?? []).find((p) => p.id === call?.party_id);
  const chosen = select.value;
  const others = (party?.numbers ?? []).filter((n) => n.valid && n.id !== call?.number_id);
  select.replaceChildren(
    h('option', { value: '', text: `${t('number_called')}${call?.to_e164 ? ` ${call.to_e164}` : ''}` }),
    ...others.map((n) => h('option', { value: String(n.id), text: `${n.e164} · ${label('kind', n.kind)}` })));
  if (others.some((n) => String(n.id) === chosen)) select.value = chosen;
}

function prefillParty() { // who was reached, once the case card is known (it may load after the form opens)
  const call = S.wrapCall;
  const party = (S.card?.parties ?? []).find((p) => p.id === call?.party_id);
  const f = form();
  if (!call || !answered(call)) return;
  if (!f.elements.contact_status.value || party) {
    f.elements.contact_status.value = party?.role === 'third_party' ? 'third_party_reached' : 'debtor_reached';
  }
  if (party && !f.elements.contact_name.value) f.elements.contact_name.value = party.name;
  fillCallbackNumbers();
}

function closeWrapUp() {
  S.wrapCall = null;
  form().hidden = true;
  clearErrors();
}

function markConversations() {
  const f = form();
  const call = S.wrapCall;
  for (const option of f.elements.disposition.options) {
    option.disabled = Boolean(call && rules().conversations.has(option.value) && !answered(call));
  }
}

function updateFields() {
  const f = form();
  const disposition = f.elements.disposition.value;
  const needed = new Set(rules().required[disposition] ?? []);
  for (const el of f.querySelectorAll('[data-only]')) el.hidden = !el.dataset.only.split(' ').includes(disposition);
  for (const el of f.querySelectorAll('.field[data-field]')) {
    const star = el.querySelector('.req');
    if (star) star.textContent = needed.has(el.dataset.field) ? ' *' : '';
  }
  f.querySelector('[data-when-not-ready]').hidden = f.elements.next_state.value !== 'not_ready';
}

function value(name) {
  const el = form().elements[name];
  return el ? el.value.trim() : '';
}

function validate() { // field → how to word what is wrong with it
  const errors = {};
  const disposition = value('disposition');
  if (!disposition) errors.disposition = words('required');
  else if (rules().conversations.has(disposition) && S.wrapCall && !answered(S.wrapCall)) errors.disposition = words('needs_answer');
  if (!value('contact_status')) errors.contact_status = words('required');
  for (const name of rules().required[disposition] ?? []) {
    for (const field of rules().nested[name] ?? [name]) if (!value(field)) errors[field] = words('required');
  }
  const amounts = { promise_to_pay: ['promise.amount', 'promise.owed_amount'], paid: ['payment.amount'] }[disposition] ?? [];
  for (const field of amounts) {
    const v = value(field);
    if (v && (!AMOUNT.test(v) || Number(v) <= 0)) errors[field] = words('bad_amount');
  }
  if (disposition === 'callback_requested' && value('callback.at')) {
    const at = new Date(value('callback.at'));
    if (at <= new Date()) errors['callback.at'] = words('in_future');
    if (value('callback.until') && new Date(value('callback.until')) <= at) errors['callback.until'] = words('after_at');
  }
  const number = value('contact_number');
  if (number && number.length < 3) errors.contact_number = words('too_short');
  if (value('next_state') === 'not_ready' && !value('not_ready_reason')) errors.not_ready_reason = words('required');
  return errors;
}

function payload() {
  const disposition = value('disposition');
  const body = { disposition, contact_status: value('contact_status'), next_state: value('next_state') || 'ready' };
  for (const field of TEXT_FIELDS) if (value(field)) body[field] = value(field);
  if (!WITH_REASON.has(disposition)) delete body.reason; // the field is hidden for the others
  const nested = (prefix, names) => Object.fromEntries(names.filter((n) => value(`${prefix}.${n}`))
    .map((n) => [n, value(`${prefix}.${n}`)]));
  if (disposition === 'promise_to_pay') body.promise = nested('promise', ['amount', 'due_date', 'owed_amount', 'authorisation_ref']);
  if (disposition === 'paid') body.payment = nested('payment', ['amount', 'paid_on', 'channel', 'reference']);
  if (disposition === 'callback_requested') {
    body.callback = { at: isoWithOffset(value('callback.at')) };
    if (value('callback.until')) body.callback.until = isoWithOffset(value('callback.until'));
    if (value('callback.number_id')) body.callback.number_id = Number(value('callback.number_id'));
  }
  if (body.next_state === 'not_ready') body.not_ready_reason = value('not_ready_reason');
  return body;
}

function clearErrors() {
  const f = form();
  for (const el of f.querySelectorAll('.error')) say(el, '');
  for (const el of f.querySelectorAll('.invalid')) el.classList.remove('invalid');
}

function setFieldError(field, message) { // message: how to word it (see say)
  let name = field;
  let target = tid(`error-${name}`, form());
  while (!target && name.includes('.')) { // promise.amount.xyz → promise.amount → promise
    name = name.slice(0, name.lastIndexOf('.'));
    target = tid(`error-${name}`, form());
  }
  if (!target || target.closest('[hidden]')) return false;
  say(target, message);
  target.closest('.field')?.classList.add('invalid');
  return true;
}

function focusFirstError() {
  const first = form().querySelector('.field.invalid input, .field.invalid select, .field.invalid textarea');
  first?.focus();
}

async function onSave(event) {
  event?.preventDefault();
  const call = S.wrapCall;
  if (!call || S.saving) return;
  clearErrors();
  const errors = validate();
  if (Object.keys(errors).length) {
    for (const [field, message] of Object.entries(errors)) setFieldError(field, message);
    say(tid('wrapup-error'), words('fix_fields'));
    focusFirstError();
    return;
  }
  S.saving = true;
  tid('wrapup-save').disabled = true;
  const r = await api('POST', `/v1/calls/${call.id}/wrap-up`, payload());
  S.saving = false;
  tid('wrapup-save').disabled = false;
  if (r.ok) {
    S.noted.add(call.id); // a snapshot read before the commit must not reopen the form
    flash(words('saved'));
    closeWrapUp();
    render();
    if (call.case_id === S.cardCaseId) refreshCard(); // the note joins the card's history
    return;
  }
  showServerErrors(r.data);
}

function showServerErrors(body) { // at their fields when the form has them, else for the whole form
  const bare = (field, text) => (String(text).startsWith(`${field}: `) ? String(text).slice(field.length + 2) : text);
  const list = body?.fields?.map((f) => ({ field: f.field, message: () => bare(f.field, fieldMessage(f)) }))
    ?? (body?.field ? [{ field: body.field, message: () => bare(body.field, messageOf(body)) }] : []);
  let placed = false;
  for (const { field, message } of list) placed = setFieldError(field, message) || placed;
  say(tid('wrapup-error'), placed ? words('fix_fields') : () => messageOf(body));
  focusFirstError();
}

// --- keyboard -----------------------------------------------------------------------------------

function onKey(event) {
  if (byId('desk-view').hidden) return;
  if (event.key === 'F2') {
    event.preventDefault();
    if (!byId('ready').disabled) toggleReady();
  } else if (event.key === 'F3') {
    event.preventDefault();
    const focused = document.activeElement?.closest?.('.number')?.querySelector('button.dial:not(:disabled)');
    (focused || document.querySelector('button.dial:not(:disabled)'))?.click();
  } else if (event.key === 'F4') {
    event.preventDefault();
    if (!byId('hang-up').disabled && !tid('call-panel').hidden) hangUp();
  } else if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !form().hidden) {
    event.preventDefault();
    onSave();
  }
}

// --- start --------------------------------------------------------------------------------------

function bind() {
  byId('login-form').addEventListener('submit', onLogin);
  byId('seat-form').addEventListener('submit', onSeat);
  byId('logout').addEventListener('click', onLogout);
  byId('lang-toggle').addEventListener('click', () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('desk.lang', lang);
    applyI18n();
  });
  byId('ready').addEventListener('click', toggleReady);
  byId('mode').addEventListener('change', changeMode);
  byId('next-case').addEventListener('click', fetchNext);
  byId('hang-up').addEventListener('click', hangUp);
  byId('skip-form').addEventListener('submit', onSkip);
  const f = form();
  f.addEventListener('submit', onSave);
  f.elements.disposition.addEventListener('change', updateFields);
  f.elements.next_state.addEventListener('change', updateFields);
  f.addEventListener('input', (event) => {
    const field = event.target.closest('.field');
    if (field?.classList.contains('invalid')) {
      field.classList.remove('invalid');
      say(field.querySelector('.error'), '');
    }
  });
  document.addEventListener('keydown', onKey);
}

bind();
applyI18n();
if (S.token) {
  tid('who').textContent = S.username || '';
  enter();
} else {
  showView('login');
}

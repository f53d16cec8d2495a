/**
 * Chinese and English texts of the interface, one key per text; the choice is kept in
 * localStorage. Elements carry `data-i18n` (text), `data-i18n-aria` (aria-label) or
 * `data-i18n-ph` (placeholder) and are re-translated by `translate()` on a switch.
 */
export type Lang = "zh" | "en";

const TEXTS = {
  brand: ["山城运行中心", "Shancheng operations center"],
  skip: ["跳到主要内容", "Skip to content"],
  nav_label: ["视图", "Views"],
  lang_label: ["EN：切换到英文", "中文: switch to Chinese"],
  lang_button: ["EN", "中文"],
  logout: ["退出", "Log out"],
  view_ops: ["城市运行", "Operations"],
  view_circles: ["生活圈", "Living circles"],
  view_cases: ["案件", "Cases"],
  view_lifelines: ["生命线", "Lifelines"],
  view_targets: ["规划指标", "Plan targets"],
  view_citizen: ["市民上报", "Report a problem"],
  view_mobility: ["堵点治理", "Bottlenecks"],
  view_credit: ["信用+", "Credit +"],
  view_ideas: ["金点子", "Golden Ideas"],
  mobility_hint: ["校门与主要路口的候选整治项目，按评分排序；点击查看评分构成", "Candidate projects at school gates and major junctions, ranked by score; click one for the parts of its score"],
  bottleneck_detail: ["候选项目详情", "Candidate detail"],
  bottleneck_kind: ["类型", "Kind"],
  bottleneck_list: ["候选项目排名", "Ranked candidates"],
  rank: ["排名", "Rank"],
  score: ["评分", "Score"],
  pupils: ["学生", "Pupils"],
  reason: ["原因", "Reason"],
  score_parts: ["评分构成", "Parts of the score"],
  login_title: ["登录", "Log in"],
  username: ["用户名", "User name"],
  password: ["密码", "Password"],
  login: ["登录", "Log in"],
  login_open: ["工作人员登录", "Staff sign-in"],
  login_failed: ["登录失败", "Login failed"],
  login_needed: ["此视图需要登录", "This view needs you to log in"],
  loading: ["加载中…", "Loading…"],
  not_available: ["服务端尚未提供此接口", "The server does not offer this yet"],
  error: ["出错了", "Error"],
  // operations map
  level_city: ["全市", "City"],
  level_district: ["区", "District"],
  level_street: ["街道", "Street"],
  level_community: ["社区", "Community"],
  breadcrumb: ["层级导航", "Drill-down path"],
  indicator: ["指标", "Indicator"],
  residents: ["常住人口", "Residents"],
  area_km2: ["面积 (km²)", "Area (km²)"],
  name: ["名称", "Name"],
  code: ["编码", "Code"],
  units_table: ["各单元指标", "Indicators by unit"],
  drill_hint: ["点击地图或表格中的单元下钻", "Click a unit on the map or in the table to drill down"],
  up: ["返回上级", "Up one level"],
  // circles
  category: ["类别", "Category"],
  level: ["层级", "Level"],
  coverage: ["覆盖率", "Coverage"],
  whatif_table: ["覆盖率变化", "Coverage change"],
  covered: ["覆盖人口", "Covered residents"],
  show_gaps: ["显示缺口", "Show gaps"],
  show_facilities: ["显示设施", "Show facilities"],
  show_metro: ["显示轨道交通及站点步行15分钟范围", "Show the metro and its 15-minute walk catchments"],
  no_metro: ["本市数据中没有轨道交通时刻表 (GTFS)", "The City has no metro timetable (GTFS)"],
  access_mode: ["出行方式", "Travel mode"],
  mode_walk: ["步行 (生活圈标准)", "Walking (circle threshold)"],
  mode_transit: ["步行 + 公共交通", "Walk + transit"],
  transit_table: ["步行与步行 + 公共交通覆盖率 (早高峰中位数)", "Walking against walk + transit (morning peak median)"],
  walk_share: ["步行覆盖率", "Walking"],
  transit_share: ["含公共交通覆盖率", "With transit"],
  transit_gain: ["提升", "Gain"],
  pct_points: ["个百分点", "pp"],
  transit_per_category: ["公共交通可达性按类别计算，请选择一个设施类别", "Transit access is per category: choose a facility category"],
  residents_10min: ["步行10分钟内居民", "Residents within a 10-minute walk"],
  residents_15min: ["步行15分钟内居民", "Residents within a 15-minute walk"],
  climb_max: ["进站最长爬升时间", "Longest climb to a platform"],
  click_mode: ["点击地图", "Map click"],
  mode_nearest: ["最近设施时间", "Time to nearest"],
  mode_isochrone: ["等时圈", "Isochrones"],
  whatif: ["假设新增设施", "What-if: add a facility"],
  whatif_hint: ["拖动图钉到新设施位置", "Drag the pin to where a new facility would be"],
  newly_covered: ["新增覆盖人口", "Residents newly covered"],
  before: ["之前", "Before"],
  after: ["之后", "After"],
  walk_time: ["步行时间", "Walk time"],
  threshold: ["生活圈标准", "Circle threshold"],
  beyond: ["超出", "beyond cutoff"],
  minutes: ["分钟", "min"],
  // the map's own controls (MapLibre's texts)
  map_title: ["地图", "Map"],
  series_min: ["最小", "min"],
  series_mean: ["平均", "mean"],
  series_max: ["最大", "max"],
  zoom_in: ["放大", "Zoom in"],
  zoom_out: ["缩小", "Zoom out"],
  reset_bearing: ["复位方向", "Reset bearing to north"],
  map_scroll_zoom: ["按住 Ctrl 键并滚动可缩放地图", "Use ctrl + scroll to zoom the map"],
  map_touch_pan: ["用两根手指移动地图", "Use two fingers to move the map"],
  // cases
  stage: ["阶段", "Stage"],
  unit: ["单位", "Unit"],
  overdue_only: ["仅超期", "Overdue only"],
  all: ["全部", "All"],
  filters: ["筛选", "Filters"],
  live: ["实时", "Live"],
  case_list: ["案件列表", "Case list"],
  reported_at: ["上报时间", "Reported"],
  deadline: ["期限", "Deadline"],
  department: ["部门", "Department"],
  timeline: ["处理过程", "Timeline"],
  photos: ["照片", "Photos"],
  actions: ["操作", "Actions"],
  note: ["备注", "Note"],
  close_detail: ["关闭详情", "Close detail"],
  act_register: ["立案", "Register"],
  act_reject: ["不予立案", "Reject"],
  act_dispatch: ["派遣", "Dispatch"],
  act_start: ["接单处置", "Start"],
  act_respond: ["反馈", "Respond"],
  act_verify: ["核查通过", "Verify"],
  act_rework: ["返工", "Rework"],
  act_close: ["结案", "Close"],
  act_done: ["操作完成", "Done"],
  act_report: ["上报", "Report"],
  act_return: ["退回", "Return"],
  act_reassign: ["改派", "Reassign"],
  act_escalate: ["升级", "Escalate"],
  act_suspend: ["挂起", "Suspend"],
  act_resume: ["恢复", "Resume"],
  act_merge: ["合并", "Merge"],
  act_unmerge: ["撤销合并", "Unmerge"],
  st_reported: ["上报", "Reported"],
  st_registered: ["立案", "Registered"],
  st_rejected: ["不予立案", "Rejected"],
  st_dispatched: ["派遣", "Dispatched"],
  st_in_progress: ["处置", "In progress"],
  st_responded: ["反馈", "Responded"],
  st_verified: ["核查", "Verified"],
  st_closed: ["结案", "Closed"],
  st_merged: ["合并", "Merged"],
  overdue: ["超期", "Overdue"],
  // lifelines
  network: ["管网", "Network"],
  sensors: ["传感器", "Sensors"],
  alarms: ["报警", "Alarms"],
  no_alarms: ["暂无报警", "No alarms"],
  value: ["数值", "Value"],
  time: ["时间", "Time"],
  acknowledge: ["确认", "Acknowledge"],
  isolation: ["关阀隔离", "Isolation"],
  pipe_id: ["管段编号", "Pipe id"],
  isolate: ["计算关阀", "Plan isolation"],
  isolation_hint: ["点击管道或输入管段编号计算关阀方案", "Click a pipe, or enter its id, to plan its isolation"],
  valves_to_close: ["需关闭阀门", "Valves to close"],
  customers: ["受影响用户", "Customers affected"],
  critical_facilities: ["重要设施", "Critical facilities"],
  readings: ["读数", "Readings"],
  iso_lost: ["停供管段", "Pipes shut"],
  iso_cut_off: ["连带停供", "Also cut off"],
  rule_threshold: ["超限", "threshold"],
  rule_rate_of_change: ["突变", "rate of change"],
  rule_stuck_value: ["数值停滞", "stuck value"],
  rule_offline: ["离线", "offline"],
  rule_leak: ["漏损", "leak"],
  rule_data_gap: ["数据缺失", "data gap"],
  // targets
  target: ["目标值", "Target"],
  due: ["期限", "Due"],
  measured: ["测算值", "Measured"],
  manual: ["人工填报", "Entered"],
  history: ["历史", "History"],
  enter_figure: ["填报数值", "Enter a figure"],
  date: ["日期", "Date"],
  save: ["保存", "Save"],
  entered_by: ["填报人", "Entered by"],
  // citizen
  citizen_title: ["随手拍 · 上报问题", "Report a problem"],
  citizen_hint: ["在地图上点击选择位置，或使用当前位置", "Tap the map to place the pin, or use your position"],
  use_position: ["使用当前位置", "Use my position"],
  photo: ["照片", "Photo"],
  description: ["问题描述", "What is wrong"],
  submit: ["提交", "Submit"],
  your_reference: ["您的查询编号", "Your reference"],
  follow: ["查询进度", "Follow a report"],
  reference: ["查询编号", "Reference"],
  lookup: ["查询", "Look up"],
  pin_here: ["图钉放在地图中心", "Pin at map centre"],
  pin_at: ["位置", "Location"],
  report_sent: ["已提交，请记下查询编号", "Sent. Keep your reference"],
  not_found: ["未找到", "Not found"],
  position_failed: ["无法获取当前位置", "Could not get your position"],
  pin_needed: ["请先在地图上选择位置", "Place the pin on the map first"],
  basemap: ["底图瓦片地址 (可选, {z}/{x}/{y})", "Basemap tile URL (optional, {z}/{x}/{y})"],
  settings: ["设置", "Settings"],
  public_notice: [
    "公开内容：类别、办理状态和大致位置（约100米）。描述中的电话、身份证号、邮箱和车牌号会被遮挡；照片会去除拍摄位置和设备信息。",
    "Made public: the category, the progress and the approximate place (about 100 m). Phone, ID and plate numbers and e-mail addresses in the text are masked; photos lose their location and device data.",
  ],
  // server errors, by the code the API sends (the English message stays in the server's log)
  err_outside_city: ["该位置不在本市范围内", "That place lies outside the city"],
  err_permission_denied: ["您无权执行此操作", "You may not do this"],
  err_authentication: ["请重新登录", "Please log in again"],
  err_transition_not_allowed: ["当前阶段不允许此操作", "This step is not allowed at the case's current stage"],
  err_case_not_found: ["未找到该案件", "No such case"],
  err_not_found: ["未找到", "Not found"],
  err_unknown_category: ["未知的类别", "Unknown category"],
  err_case_input: ["输入有误", "Something in the form is not right"],
  err_query: ["查询参数有误", "A choice in the request is not valid"],
  err_rate_limited: ["操作过于频繁，请稍后再试", "Too many requests; try again shortly"],
  err_conflict: ["数据已被他人修改，请刷新", "Someone else changed this; reload it"],
  err_missing: ["缺少必填项", "A required field is missing"],
  err_internal_error: ["服务器内部错误", "Server error"],
  err_network: ["网络连接失败", "No connection to the server"],
  err_http_413: ["上传内容过大", "The upload is too large"],
  err_http_404: ["未找到", "Not found"],
  err_other: ["请求未被接受", "The server did not accept the request"],
  field_label: ["字段", "field"],
  // roles and the user
  role_citizen: ["市民", "Citizen"],
  role_inspector: ["监督员", "Inspector"],
  role_dispatcher: ["派遣员", "Dispatcher"],
  role_handler: ["处置人员", "Handler"],
  role_supervisor: ["督办", "Supervisor"],
  role_admin: ["管理员", "Administrator"],
  // the first screen
  overview: ["总览", "Overview"],
  open_cases: ["在办案件", "Open cases"],
  overdue_cases: ["超期案件", "Overdue cases"],
  active_alarms: ["未消除报警", "Active alarms"],
  worst_units: ["最需关注的单元", "Units needing attention first"],
  cases_per_day: ["每日案件", "Cases per day"],
  reported_n: ["上报", "Reported"],
  closed_n: ["结案", "Closed"],
  on_time_share: ["按期结案率 (每周)", "Closed on time (per week)"],
  alarms_per_day: ["每日报警", "Alarms per day"],
  plan_progress: ["规划指标进度", "Plan targets"],
  progress: ["进度", "Progress"],
  overdue_target: ["已过期限未达标", "Past due and not met"],
  met: ["已达标", "Met"],
  not_met: ["未达标", "Not met"],
  by_level: ["层级", "Level"],
  show_measure: ["在地图上查看", "Show on the map"],
  no_data: ["无数据", "no data"],
  // paging
  page_prev: ["上一页", "Previous page"],
  page_next: ["下一页", "Next page"],
  page_of: ["第 {a}–{b} 条，共 {n} 条", "{a}–{b} of {n}"],
  search_sensors: ["搜索传感器", "Search sensors"],
  // keyboard map actions
  at_centre: ["以地图中心计算", "Use the map centre"],
  // citizen
  choose_category: ["请选择类别", "Choose a category"],
  search_category: ["搜索类别", "Search categories"],
  no_category: ["请先选择类别", "Choose a category first"],
  photo_preview: ["照片预览（已去除拍摄位置等信息）", "Photo preview (location and device data removed)"],
  remove_photo: ["移除照片", "Remove photo"],
  follow_link: ["进度链接（可收藏、分享）", "Link to follow it (bookmark or share)"],
  queued_offline: ["网络不可用，报告已保存，恢复连接后自动发送", "No connection: the report is kept and will be sent when you are back online"],
  queued_sent: ["离线保存的报告已发送", "The report kept offline has been sent"],
  install_hint: ["可添加到主屏幕", "Can be added to the home screen"],
  whatif_outside: ["该位置不在本市范围内，请在市内选择", "That place lies outside the city; pick one inside it"],
  network_water: ["供水", "Water"],
  network_gas: ["燃气", "Gas"],
  network_drainage: ["排水", "Drainage"],
} as const satisfies Record<string, readonly [string, string]>;

export type TextKey = keyof typeof TEXTS;

const STORAGE_KEY = "shancheng.lang";
let current: Lang = localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "zh";
const listeners: Array<() => void> = [];

/** The current language. */
export function lang(): Lang {
  return current;
}

/** The text of `key` in the current language. */
export function t(key: TextKey): string {
  return TEXTS[key][current === "zh" ? 0 : 1];
}

/** Whether a string is one of the keys (for texts built from data, e.g. `st_${status}`). */
export function isKey(key: string): key is TextKey {
  return key in TEXTS;
}

/** A key of a text that comes with the data: names the server gives in both languages. */
export type DataKey = `data:${string}`;
const DATA_TEXTS = new Map<string, readonly [string, string]>();

/** Keep a text the server sent in both languages under `key` (it then switches like the rest). */
export function defineText(key: DataKey, zh: string, en: string): DataKey {
  DATA_TEXTS.set(key, [zh, en]);
  return key;
}

/** `t(key)` when the key exists (a text of the app or one the data defined), else the fallback. */
export function tOr(key: string, fallback: string): string {
  if (isKey(key)) return t(key);
  const data = DATA_TEXTS.get(key);
  return data ? data[current === "zh" ? 0 : 1] : fallback;
}

/** Switch the language, persist it, re-translate the page and tell the listeners. */
export function setLang(next: Lang): void {
  current = next;
  localStorage.setItem(STORAGE_KEY, next);
  translate(document.body);
  for (const listener of listeners) listener();
}

/** Call `listener` after each language switch (views re-render their data-driven texts). */
export function onLangChange(listener: () => void): () => void {
  listeners.push(listener);
  return () => {
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  };
}

/** Translate every marked element under `root`. */
export function translate(root: ParentNode): void {
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll<HTMLElement>("[data-i18n]")) {
    el.textContent = tOr(el.dataset.i18n ?? "", el.textContent ?? "");
  }
  for (const el of root.querySelectorAll<HTMLElement>("[data-i18n-aria]")) {
    el.setAttribute("aria-label", tOr(el.dataset.i18nAria ?? "", ""));
  }
  for (const el of root.querySelectorAll<HTMLInputElement>("[data-i18n-ph]")) {
    el.placeholder = tOr(el.dataset.i18nPh ?? "", "");
  }
}

/** A number formatted for the current language. */
export function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return value.toLocaleString(current === "zh" ? "zh-CN" : "en-GB", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/** A share (0..1) as a percentage. */
export function pct(share: number | null | undefined): string {
  if (share === null || share === undefined) return "–";
  return `${fmt(share * 100, 1)} %`;
}

/** A time stamp in local time. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "–";
  return new Date(iso).toLocaleString(current === "zh" ? "zh-CN" : "en-GB", { hour12: false });
}

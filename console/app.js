/*
 * cascade console: plain JavaScript, no framework, no build step. It
 * speaks only the admin API (/v1/admin/, docs/openapi.yaml) with the
 * bearer token the user gives at login, kept in sessionStorage (this tab
 * only) until "Log out".
 *
 * Everything the server sends is text to escape: host names, reasons and
 * event details come from agents and downstream servers, which are not
 * trusted. The page runs under Content-Security-Policy default-src
 * 'self': no inline script or style, so sizes are set through the CSSOM.
 *
 * The agents table builds only the rows in view (plus a margin): rows
 * have one fixed height, measured once, and two spacer rows stand for
 * the rest, so that tens of thousands of agents sort, filter and scroll
 * without lag.
 */
'use strict';

(() => {
	const TOKEN_KEY = 'cascade.admin.token';
	const STATES = ['pending', 'licensed', 'current', 'behind',
	    'diverged', 'failed', 'offline'];
	// sorting by state puts what needs attention first
	const SEVERITY = { failed: 0, diverged: 1, behind: 2, offline: 3,
	    pending: 4, licensed: 5, current: 6 };
	const VIEWS = ['dashboard', 'agents', 'downstreams', 'events'];
	const EVENTS_KEPT = 1000;	// events held in the page
	const EVENTS_FIRST = 200;	// the newest, at login
	const LONGPOLL_WAIT = 25;	// seconds a GET /v1/admin/events is held
	const POLL_MS = 15000;		// the fallback refresh of what is in view
	const AFTER_EVENT_MS = 800;	// news in the history: refresh after this
	const OVERSCAN = 15;		// rows built beyond the visible ones

	const $ = (sel, root = document) => root.querySelector(sel);
	const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
	const collator = new Intl.Collator(undefined, { numeric: true,
	    sensitivity: 'base' });

	const app = {
		token: null,
		session: null,		// AbortController of the logged-in session
		view: 'dashboard',
		summary: null,
		agents: [],
		agentsSorted: [],
		agentsView: [],
		agentsLoaded: false,
		sort: { key: 'state', dir: 1 },
		rowH: 0,		// measured height of an agents row
		rendered: { first: -1, last: -1 },
		selected: null,		// the agent id in the detail panel
		events: [],		// oldest first, at most EVENTS_KEPT
		lastEventId: 0,
		shownEventId: 0,	// the newest id rendered (for "fresh")
		kinds: new Set(),
		downstreams: [],
		files: [],
		timer: null,
		refreshTimer: null,
		inflight: new Map(),	// what -> promise, one request at a time
		backgroundError: false,
	};

	/* ---- text ---- */

	const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;',
	    "'": '&#39;' };
	function esc(s) {
		return String(s ?? '').replace(/[&<>"']/g, (c) => ESC[c]);
	}
	function stateClass(s) {
		return STATES.includes(s) || s === 'missing' ||
		    s === 'outdated' ? 'st-' + s : 'st-unknown';
	}
	function badge(s) {
		return `<span class="badge ${stateClass(s)}">${esc(s)}</span>`;
	}
	function toDate(t) {
		if (t === null || t === undefined || t === '')
			return null;
		const d = typeof t === 'number' ? new Date(t * 1000) :
		    new Date(t);
		return isNaN(d.getTime()) ? null : d;
	}
	const pad2 = (n) => String(n).padStart(2, '0');
	function fmtTime(t) {
		const d = toDate(t);
		if (d === null)
			return t ? String(t) : '';
		return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-` +
		    `${pad2(d.getDate())} ${pad2(d.getHours())}:` +
		    `${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
	}
	function fmtSpan(sec) {
		sec = Math.round(Math.abs(sec));
		if (sec < 60)
			return `${sec} s`;
		if (sec < 3600)
			return `${Math.floor(sec / 60)} min`;
		if (sec < 86400)
			return `${Math.floor(sec / 3600)} h ` +
			    `${Math.floor(sec % 3600 / 60)} min`;
		return `${Math.floor(sec / 86400)} d ` +
		    `${Math.floor(sec % 86400 / 3600)} h`;
	}
	function ago(t) {
		const d = toDate(t);
		if (d === null)
			return '';
		const s = (Date.now() - d.getTime()) / 1000;
		if (Math.abs(s) < 5)
			return 'just now';
		return s > 0 ? `${fmtSpan(s)} ago` : `in ${fmtSpan(s)}`;
	}
	// a <time> with the relative age shown and the local time in a tooltip
	function timeHtml(t, never = 'never') {
		const d = toDate(t);
		if (d === null)
			return `<span class="muted">${esc(t ? t : never)}</span>`;
		return `<time datetime="${esc(d.toISOString())}" ` +
		    `title="${esc(fmtTime(t))}">${esc(ago(t))}</time>`;
	}
	function dash(v) {
		return v === null || v === undefined || v === '' ?
		    '<span class="muted">—</span>' : esc(v);
	}
	function facts(pairs) {
		return pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`)
		    .join('');
	}

	/* ---- messages ---- */

	function errorText(e) {
		if (e instanceof ApiError)
			return e.status > 0 ? `${e.detail} (${e.error}, ` +
			    `HTTP ${e.status})` : e.detail;
		return String(e && e.message ? e.message : e);
	}
	function showError(e, background = false) {
		if (e && e.name === 'AbortError')
			return;
		$('#message-text').textContent = errorText(e);
		$('#message').hidden = false;
		app.backgroundError = background;
	}
	function clearError(onlyBackground = false) {
		if (onlyBackground && !app.backgroundError)
			return;
		$('#message').hidden = true;
		$('#message-text').textContent = '';
		app.backgroundError = false;
	}
	let noticeTimer = null;
	function notice(text) {
		$('#notice').textContent = text;
		clearTimeout(noticeTimer);
		noticeTimer = setTimeout(() => {
			$('#notice').textContent = '';
		}, 8000);
	}

	/* ---- the admin API ---- */

	class ApiError extends Error {
		constructor(status, error, detail) {
			super(detail);
			this.status = status;
			this.error = error;
			this.detail = detail;
		}
	}

	async function api(method, path, body) {
		const headers = { Accept: 'application/json',
		    Authorization: 'Bearer ' + app.token };
		const init = { method, headers, cache: 'no-store',
		    signal: app.session ? app.session.signal : undefined };
		if (body !== undefined) {
			headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		let res;
		try {
			res = await fetch(path, init);
		} catch (e) {
			if (e.name === 'AbortError')
				throw e;
			throw new ApiError(0, 'network',
			    `cannot reach the server (${e.message})`);
		}
		const text = await res.text();
		let doc = null;
		if (text !== '') {
			try {
				doc = JSON.parse(text);
			} catch (e) {
				doc = null;
			}
		}
		if (!res.ok) {
			const err = new ApiError(res.status,
			    doc && doc.error ? String(doc.error) :
			    `http_${res.status}`,
			    doc && doc.detail ? String(doc.detail) :
			    res.statusText || 'request failed');
			if (res.status === 401 && app.session !== null)
				expired(err);
			throw err;
		}
		if (res.status !== 204 && text !== '' && doc === null)
			throw new ApiError(res.status, 'bad_answer',
			    'the server did not answer with JSON');
		return doc;
	}
	// one request per resource at a time: a slow answer is not stacked
	function once(what, fn) {
		if (app.inflight.has(what))
			return app.inflight.get(what);
		const p = fn().finally(() => app.inflight.delete(what));
		app.inflight.set(what, p);
		return p;
	}
	// a user's action on a button: busy while it runs, errors shown
	async function act(button, fn) {
		if (button)
			button.disabled = true;
		try {
			await fn();
			clearError();
		} catch (e) {
			showError(e);
		} finally {
			if (button)
				button.disabled = false;
		}
	}
	const enc = encodeURIComponent;

	/* ---- session ---- */

	async function login(token) {
		app.token = token;
		app.session = new AbortController();
		let summary;
		try {
			summary = await api('GET', '/v1/admin/summary');
		} catch (e) {
			app.session = null;
			app.token = null;
			throw e;
		}
		try {
			sessionStorage.setItem(TOKEN_KEY, token);
		} catch (e) {
			// storage off: the session lasts as long as the page
		}
		start(summary);
	}

	function start(summary) {
		$('#login').hidden = true;
		$('#nav').hidden = false;
		$('#session').hidden = false;
		$('#token').value = '';
		renderSummary(summary);
		route();
		loadEvents();
		app.timer = setInterval(poll, POLL_MS);
	}

	function logout(message) {
		if (app.session)
			app.session.abort();
		app.session = null;
		app.token = null;
		clearInterval(app.timer);
		clearTimeout(app.refreshTimer);
		try {
			sessionStorage.removeItem(TOKEN_KEY);
		} catch (e) {
			// nothing kept
		}
		// nothing of the session stays in the page
		Object.assign(app, { summary: null, agents: [],
		    agentsSorted: [], agentsView: [], agentsLoaded: false,
		    selected: null, events: [], lastEventId: 0,
		    shownEventId: 0, downstreams: [], files: [] });
		app.kinds.clear();
		app.inflight.clear();
		for (const tb of $$('main tbody:not(.pad)'))
			tb.textContent = '';
		for (const el of ['#fleet', '#upstream', '#server',
		    '#downstream-counts', '#recent', '#agent-facts'])
			if ($(el))
				$(el).textContent = '';
		$('#agent-detail').hidden = true;
		$('#server-version').textContent = '';
		$('#nav').hidden = true;
		$('#session').hidden = true;
		for (const v of VIEWS)
			$('#view-' + v).hidden = true;
		$('#login').hidden = false;
		if (message)
			showError(message);
		else
			clearError();
		$('#token').focus();
	}

	function expired(err) {
		logout(new ApiError(err.status, err.error,
		    `${err.detail}: log in again`));
	}

	/* ---- views ---- */

	function route(focus = false) {
		if (app.session === null)
			return;
		let v = location.hash.replace(/^#/, '');
		if (!VIEWS.includes(v))
			v = 'dashboard';
		app.view = v;
		for (const name of VIEWS)
			$('#view-' + name).hidden = name !== v;
		for (const a of $$('#nav a')) {
			if (a.dataset.view === v)
				a.setAttribute('aria-current', 'page');
			else
				a.removeAttribute('aria-current');
		}
		document.title = `${v[0].toUpperCase()}${v.slice(1)} · ` +
		    'cascade console';
		if (focus) {
			const h = $(`#view-${v} h1`);
			h.tabIndex = -1;
			h.focus();
		}
		refreshView();
	}

	function refreshView() {
		switch (app.view) {
		case 'dashboard':
			loadSummary();
			renderRecent();
			break;
		case 'agents':
			renderAgents(true);
			loadAgents();
			break;
		case 'downstreams':
			loadDownstreams();
			break;
		case 'events':
			renderEvents();
			break;
		}
	}

	function poll() {
		if (app.session === null)
			return;
		if (app.view !== 'dashboard')
			loadSummary();
		refreshView();
	}

	// news in the history: what is in view may have changed
	function afterEvents() {
		clearTimeout(app.refreshTimer);
		app.refreshTimer = setTimeout(() => {
			if (app.session !== null)
				poll();
		}, AFTER_EVENT_MS);
	}

	/* ---- dashboard ---- */

	function loadSummary() {
		return once('summary', async () => {
			try {
				renderSummary(await api('GET',
				    '/v1/admin/summary'));
				clearError(true);
			} catch (e) {
				showError(e, true);
			}
		});
	}

	function renderSummary(s) {
		if (!s || app.session === null)
			return;
		app.summary = s;
		const srv = s.server || {};
		$('#server-version').textContent = srv.version ?
		    `v${srv.version}` : '';
		$('#server').innerHTML = facts([
			['Version', dash(srv.version)],
			['Data directory', srv.dir ?
			    `<code>${esc(srv.dir)}</code>` : dash('')],
			['Up for', typeof srv.uptime === 'number' ?
			    esc(fmtSpan(srv.uptime)) : dash(srv.uptime)],
		]);

		const ag = s.agents || {};
		let tiles = `<li><a href="#agents" class="total" ` +
		    `data-state=""><span class="count">${esc(ag.total ?? 0)}` +
		    `</span><span class="label">total</span></a></li>`;
		for (const st of STATES)
			tiles += `<li><a href="#agents" class="${stateClass(st)}"` +
			    ` data-state="${st}"><span class="count">` +
			    `${esc(ag[st] ?? 0)}</span><span class="label">` +
			    `${st}</span></a></li>`;
		$('#fleet').innerHTML = tiles;

		const up = s.upstream;
		const sync = $('#sync-now');
		if (up === null || up === undefined) {
			$('#upstream').innerHTML = facts([['Upstream',
			    'none: this server is an origin']]);
			sync.disabled = true;
			sync.title = 'No upstream is configured';
		} else {
			$('#upstream').innerHTML = facts([
				['URL', `<code>${esc(up.url)}</code>`],
				['Last sync', up.last_sync ?
				    `${timeHtml(up.last_sync)} ` +
				    `<span class="muted">(${esc(fmtTime(
				    up.last_sync))})</span>` : dash('')],
				['Result', dash(up.last_result)],
				['Behind', up.behind === undefined ? dash('') :
				    up.behind === 0 ? 'no: up to date' :
				    `${esc(up.behind)} serial(s)`],
			]);
			if (!sync.dataset.busy) {
				sync.disabled = false;
				sync.title = '';
			}
		}

		const ds = s.downstreams || {};
		const total = ds.total ?? 0, cur = ds.current ?? 0,
		    beh = ds.behind ?? 0;
		const off = ds.offline ?? Math.max(0, total - cur - beh);
		$('#downstream-counts').innerHTML = [
			['total', total, 'total'], ['current', cur, 'st-current'],
			['behind', beh, 'st-behind'], ['offline', off,
			'st-offline']].map(([l, n, c]) =>
			`<li><a href="#downstreams" class="${c}"><span ` +
			`class="count">${esc(n)}</span><span class="label">` +
			`${l}</span></a></li>`).join('');

		const ch = Array.isArray(s.channels) ? s.channels : [];
		$('#channels tbody').innerHTML = ch.length === 0 ?
		    '<tr><td colspan="3" class="muted">no channel</td></tr>' :
		    ch.map((c) => {
			const d = toDate(c.expires);
			const soon = d !== null &&
			    d.getTime() - Date.now() < 7 * 86400e3;
			return `<tr><td>${esc(c.name)}</td>` +
			    `<td class="num">${esc(c.serial)}</td>` +
			    `<td${soon ? ' class="warn"' : ''}>` +
			    `${c.expires ? `${esc(fmtTime(c.expires))} ` +
			    `<span class="muted">(${esc(ago(c.expires))})` +
			    '</span>' : dash('')}</td></tr>`;
		}).join('');
	}

	function renderRecent() {
		const el = $('#recent');
		if (!el)
			return;
		const last = app.events.slice(-8).reverse();
		el.innerHTML = last.length === 0 ?
		    '<li class="muted">no event yet</li>' :
		    last.map((e) => `<li><span class="muted">` +
		    `${timeHtml(e.time, '')}</span> <strong>${esc(e.kind)}` +
		    `</strong> ${esc(e.agent || e.channel || '')} ` +
		    `<span class="detail">${esc(e.detail)}</span></li>`)
		    .join('');
	}

	/* ---- agents ---- */

	function loadAgents() {
		return once('agents', async () => {
			try {
				const list = await api('GET',
				    '/v1/admin/agents');
				setAgents(Array.isArray(list) ? list : []);
				clearError(true);
			} catch (e) {
				showError(e, true);
			}
		});
	}

	function setAgents(list) {
		if (app.session === null)
			return;
		for (const a of list)
			a._text = [a.id, a.hostname, a.group, a.reason,
			    a.state].join('\u0001').toLowerCase();
		app.agents = list;
		app.agentsLoaded = true;
		sortAgents();
		if (app.selected !== null)
			renderDetail();
	}

	function compareAgents(key) {
		switch (key) {
		case 'state':
			return (a, b) => (SEVERITY[a.state] ?? 99) -
			    (SEVERITY[b.state] ?? 99);
		case 'last_report':
		case 'last_seen':
			// RFC 3339 in UTC sorts as text; never is oldest
			return (a, b) => (a[key] || '') < (b[key] || '') ? -1 :
			    (a[key] || '') > (b[key] || '') ? 1 : 0;
		default:
			return (a, b) => collator.compare(a[key] ?? '',
			    b[key] ?? '');
		}
	}

	function sortAgents() {
		const { key, dir } = app.sort;
		const cmp = compareAgents(key);
		app.agentsSorted = app.agents.slice().sort((a, b) =>
		    dir * cmp(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
		for (const th of $$('#agents thead th[data-key]'))
			th.setAttribute('aria-sort', th.dataset.key === key ?
			    (dir > 0 ? 'ascending' : 'descending') : 'none');
		filterAgents();
	}

	function filterAgents() {
		const q = $('#agent-filter').value.trim().toLowerCase();
		const st = $('#agent-state').value;
		app.agentsView = q === '' && st === '' ? app.agentsSorted :
		    app.agentsSorted.filter((a) => (st === '' ||
		    a.state === st) && (q === '' || a._text.includes(q)));
		const n = app.agentsView.length, all = app.agents.length;
		$('#agent-count').textContent = !app.agentsLoaded ? '' :
		    n === all ? `${all} agent${all === 1 ? '' : 's'}` :
		    `${n} of ${all} agents`;
		$('#agents').setAttribute('aria-rowcount', String(n + 1));
		renderAgents(true);
	}

	function agentRow(a, i) {
		const sel = a.id === app.selected;
		return `<tr data-id="${esc(a.id)}" data-state="${esc(a.state)}"` +
		    ` aria-rowindex="${i + 2}"${sel ? ' class="selected" ' +
		    'aria-selected="true"' : ''}>` +
		    `<td data-col="state">${badge(a.state)}</td>` +
		    `<td data-col="id" class="mono"><button type="button" ` +
		    `class="link" data-action="show" title="Details of ` +
		    `${esc(a.id)}">${esc(a.id)}</button></td>` +
		    `<td title="${esc(a.hostname)}">${esc(a.hostname)}</td>` +
		    `<td title="${esc(a.group)}">${esc(a.group)}</td>` +
		    `<td>${timeHtml(a.last_report)}</td>` +
		    `<td>${timeHtml(a.last_seen)}</td>` +
		    `<td title="${esc(a.reason)}">${esc(a.reason)}</td>` +
		    `<td>${a.licensed === false ? '<button type="button" ' +
		    `class="small" data-action="license" aria-label="License ` +
		    `${esc(a.id)}">License</button>` : ''}</td></tr>`;
	}

	function renderAgents(force) {
		if (app.view !== 'agents')
			return;
		const sc = $('#agents-scroll');
		const body = $('#agents-body');
		const rows = app.agentsView;
		const n = rows.length;
		const rowH = app.rowH || 36;
		const height = sc.clientHeight || window.innerHeight;
		const first = Math.max(0, Math.floor(sc.scrollTop / rowH) -
		    OVERSCAN);
		const last = Math.min(n, first + Math.ceil(height / rowH) +
		    2 * OVERSCAN);
		const r = app.rendered;
		if (!force && first === r.first && last === r.last)
			return;
		r.first = first;
		r.last = last;
		let html = '';
		for (let i = first; i < last; i++)
			html += agentRow(rows[i], i);
		if (n === 0)
			html = `<tr><td colspan="8" class="muted">${
			    !app.agentsLoaded ? 'loading…' :
			    app.agents.length === 0 ? 'no agent enrolled' :
			    'no agent matches the filter'}</td></tr>`;
		body.innerHTML = html;
		$('#agents-pad-top td').style.height = `${first * rowH}px`;
		$('#agents-pad-bottom td').style.height =
		    `${(n - last) * rowH}px`;
		if (n > 0 && app.rowH === 0) {
			// rows are one line each (CSS): measure one, once
			const h = body.rows[0].getBoundingClientRect().height;
			if (h > 0) {
				app.rowH = h;
				if (Math.abs(h - rowH) > 0.5)
					renderAgents(true);
			}
		}
	}

	let scrollQueued = false;
	function onAgentsScroll() {
		if (scrollQueued)
			return;
		scrollQueued = true;
		requestAnimationFrame(() => {
			scrollQueued = false;
			renderAgents(false);
		});
	}

	function findAgent(id) {
		return app.agents.find((a) => a.id === id) || null;
	}

	function selectAgent(id) {
		app.selected = id;
		renderDetail();
		renderAgents(true);
	}

	function renderDetail() {
		const panel = $('#agent-detail');
		const a = app.selected === null ? null : findAgent(app.selected);
		if (a === null) {
			panel.hidden = true;
			return;
		}
		const st = a.status || {};
		$('#agent-detail-title').textContent = `Agent ${a.hostname ||
		    a.id}`;
		$('#agent-facts').innerHTML = facts([
			['ID', `<code>${esc(a.id)}</code>`],
			['State', badge(a.state)],
			['Reason', dash(a.reason)],
			['Host', dash(a.hostname)],
			['Group', dash(a.group)],
			['Licensed', a.licensed ? 'yes' : 'no'],
			['Enrolled', a.enrolled ? esc(fmtTime(a.enrolled)) :
			    dash('')],
			['Last seen', a.last_seen ? `${esc(fmtTime(
			    a.last_seen))} (${timeHtml(a.last_seen)})` :
			    'never'],
			['Last report', a.last_report ? `${esc(fmtTime(
			    a.last_report))} (${timeHtml(a.last_report)})` :
			    'never'],
			['Result', st.result ? `${esc(st.result)}${st.message ?
			    ': ' + esc(st.message) : ''}` : dash('')],
			['Agent version', dash(st.agent_version)],
			['Notification', a.notify_url ?
			    `<code>${esc(a.notify_url)}</code>` :
			    'long-poll or schedule'],
		]);
		const inst = Array.isArray(st.installed) ? st.installed : [];
		$('#agent-installed tbody').innerHTML = inst.length === 0 ?
		    '<tr><td colspan="3" class="muted">nothing reported</td>' +
		    '</tr>' : inst.map((c) => `<tr><td>${esc(c.name)}</td>` +
		    `<td class="num">${esc(c.version)}</td><td class="mono">` +
		    `${esc(c.sha256)}</td></tr>`).join('');
		$('[data-agent-action="license"]').hidden = !!a.licensed;
		$('[data-agent-action="unlicense"]').hidden = !a.licensed;
		panel.hidden = false;
	}

	async function agentAction(id, what, button) {
		const path = `/v1/admin/agents/${enc(id)}`;
		await act(button, async () => {
			switch (what) {
			case 'license':
				await api('POST', `${path}/license`);
				notice(`Agent ${id} is licensed.`);
				break;
			case 'unlicense':
				await api('POST', `${path}/unlicense`);
				notice(`Agent ${id} is no longer licensed.`);
				break;
			case 'notify':
				await api('POST', `${path}/notify`);
				notice(`Agent ${id} is told to sync now.`);
				break;
			case 'remove':
				if (!window.confirm(`Remove agent ${id}? It ` +
				    'must enrol again to be served.'))
					return;
				await api('DELETE', path);
				notice(`Agent ${id} is removed.`);
				app.selected = null;
				renderDetail();
				break;
			}
			await loadAgents();
			loadSummary();
		});
	}

	/* ---- downstream servers ---- */

	function loadDownstreams() {
		return once('downstreams', async () => {
			try {
				const [ds, files] = await Promise.all([
				    api('GET', '/v1/admin/downstreams'),
				    api('GET', '/v1/admin/reports/files')]);
				app.downstreams = Array.isArray(ds) ? ds : [];
				app.files = Array.isArray(files) ? files : [];
				renderDownstreams();
				clearError(true);
			} catch (e) {
				showError(e, true);
			}
		});
	}

	function renderDownstreams() {
		if (app.session === null)
			return;
		const ds = app.downstreams.slice().sort((a, b) =>
		    collator.compare(a.name, b.name));
		$('#downstreams tbody').innerHTML = ds.length === 0 ?
		    '<tr><td colspan="9" class="muted">no downstream server ' +
		    'has reported</td></tr>' : ds.map((d) => {
			const ch = d.channels && typeof d.channels === 'object' ?
			    Object.entries(d.channels).map(([c, s]) =>
			    `${esc(c)} ${esc(s)}`).join(', ') : '';
			return `<tr data-name="${esc(d.name)}" ` +
			    `data-state="${esc(d.state)}">` +
			    `<td>${esc(d.name)}</td><td>${badge(d.state)}</td>` +
			    `<td>${dash(d.address)}</td>` +
			    `<td>${timeHtml(d.last_report)}</td>` +
			    `<td>${ch || dash('')}</td>` +
			    `<td>${d.schedule ? esc(d.schedule) :
			    '<span class="muted">its own</span>'}</td>` +
			    `<td class="num">${esc(d.missing ?? 0)}</td>` +
			    `<td class="num">${esc(d.outdated ?? 0)}</td>` +
			    '<td><button type="button" class="small" ' +
			    `data-action="run" aria-label="Run a sync now on ` +
			    `${esc(d.name)}">Run now</button></td></tr>`;
		}).join('');

		const sel = $('#files-downstream');
		const keep = sel.value;
		sel.innerHTML = '<option value="">all</option>' + ds.map((d) =>
		    `<option value="${esc(d.name)}">${esc(d.name)}</option>`)
		    .join('');
		sel.value = ds.some((d) => d.name === keep) ? keep : '';
		renderFiles();
	}

	function renderFiles() {
		const only = $('#files-downstream').value;
		const rows = app.files.filter((f) => only === '' ||
		    f.downstream === only).sort((a, b) =>
		    collator.compare(a.downstream, b.downstream) ||
		    collator.compare(a.component, b.component));
		$('#files-count').textContent = `${rows.length} file` +
		    `${rows.length === 1 ? '' : 's'} missing or out of date`;
		$('#files tbody').innerHTML = rows.length === 0 ?
		    '<tr><td colspan="6" class="muted">every downstream ' +
		    'server holds what it should</td></tr>' : rows.map((f) =>
		    `<tr><td>${esc(f.downstream)}</td>` +
		    `<td>${esc(f.component)}</td><td>${esc(f.channel)}</td>` +
		    `<td class="num">${f.held === null ||
		    f.held === undefined ? '<span class="muted">none</span>' :
		    esc(f.held)}</td><td class="num">${esc(f.should)}</td>` +
		    `<td>${badge(f.status)}</td></tr>`).join('');
	}

	/* ---- events, live ---- */

	function setLive(up, why) {
		const el = $('#live');
		el.textContent = up ? 'live' : 'reconnecting';
		el.classList.toggle('down', !up);
		el.title = up ? 'The history updates as events happen' :
		    `Live updates interrupted: ${why}`;
	}

	function addEvents(list) {
		if (!Array.isArray(list) || list.length === 0)
			return false;
		let added = false;
		for (const e of list) {
			if (typeof e.id !== 'number' || e.id <= app.lastEventId)
				continue;
			app.events.push(e);
			app.lastEventId = e.id;
			if (e.kind && !app.kinds.has(e.kind)) {
				app.kinds.add(e.kind);
				renderKinds();
			}
			added = true;
		}
		if (app.events.length > EVENTS_KEPT)
			app.events.splice(0, app.events.length - EVENTS_KEPT);
		return added;
	}

	function renderKinds() {
		const sel = $('#event-kind');
		const keep = sel.value;
		sel.innerHTML = '<option value="">all</option>' +
		    [...app.kinds].sort().map((k) =>
		    `<option value="${esc(k)}">${esc(k)}</option>`).join('');
		sel.value = app.kinds.has(keep) ? keep : '';
	}

	function renderEvents() {
		if (app.view === 'dashboard')
			renderRecent();
		if (app.view !== 'events')
			return;
		const q = $('#event-filter').value.trim().toLowerCase();
		const kind = $('#event-kind').value;
		const shown = app.shownEventId;
		let html = '', n = 0;
		for (let i = app.events.length - 1; i >= 0; i--) {
			const e = app.events[i];
			if (kind !== '' && e.kind !== kind)
				continue;
			if (q !== '' && ![e.kind, e.channel, e.agent, e.detail]
			    .join('\u0001').toLowerCase().includes(q))
				continue;
			n++;
			html += `<tr data-id="${esc(e.id)}" ` +
			    `data-kind="${esc(e.kind)}"` +
			    `${shown > 0 && e.id > shown ? ' class="fresh"' :
			    ''}><td class="num">${esc(e.id)}</td>` +
			    `<td><span title="${esc(ago(e.time))}">` +
			    `${esc(fmtTime(e.time))}</span></td>` +
			    `<td>${esc(e.kind)}</td><td>${dash(e.channel)}</td>` +
			    `<td class="mono">${e.agent ? '<button ' +
			    'type="button" class="link" data-action="agent" ' +
			    `data-agent="${esc(e.agent)}">${esc(e.agent)}` +
			    '</button>' : ''}</td>` +
			    `<td class="detail">${esc(e.detail)}</td></tr>`;
		}
		$('#events-body').innerHTML = n > 0 ? html :
		    `<tr><td colspan="6" class="muted">${app.events.length ===
		    0 ? 'no event yet' : 'no event matches the filter'}` +
		    '</td></tr>';
		$('#event-count').textContent = `${n} of the last ` +
		    `${app.events.length} events`;
		app.shownEventId = app.lastEventId;
	}

	// the newest events, then a long-poll loop for what follows them
	async function loadEvents() {
		const session = app.session;
		let delay = 1000;
		try {
			addEvents(await api('GET',
			    `/v1/admin/events?limit=${EVENTS_FIRST}`));
			renderEvents();
			setLive(true);
		} catch (e) {
			if (e.name === 'AbortError' || app.session !== session)
				return;
			showError(e, true);
		}
		while (app.session === session && session !== null) {
			try {
				const list = await api('GET',
				    `/v1/admin/events?after=${app.lastEventId}` +
				    `&wait=${LONGPOLL_WAIT}&limit=${EVENTS_KEPT}`);
				if (app.session !== session)
					return;
				setLive(true);
				clearError(true);
				delay = 1000;
				if (addEvents(list)) {
					renderEvents();
					afterEvents();
				}
			} catch (e) {
				if (e.name === 'AbortError' ||
				    app.session !== session)
					return;
				setLive(false, errorText(e));
				await new Promise((r) => setTimeout(r, delay));
				delay = Math.min(delay * 2, 30000);
			}
		}
	}

	/* ---- wiring ---- */

	function wire() {
		$('#login-form').addEventListener('submit', async (ev) => {
			ev.preventDefault();
			const token = $('#token').value.trim();
			if (token === '') {
				showError('Enter the admin token.');
				return;
			}
			const b = $('#login-submit');
			b.disabled = true;
			try {
				await login(token);
				clearError();
			} catch (e) {
				showError(e);
				$('#token').select();
			} finally {
				b.disabled = false;
			}
		});
		$('#logout').addEventListener('click', () => {
			logout();
			notice('Logged out.');
		});
		$('#message-close').addEventListener('click', () =>
		    clearError());
		window.addEventListener('hashchange', () => route(true));

		const sync = $('#sync-now');
		sync.addEventListener('click', () => {
			sync.dataset.busy = '1';
			act(sync, async () => {
				await api('POST', '/v1/admin/sync');
				notice('Sync queued: its events appear in the ' +
				    'history.');
			}).finally(() => {
				delete sync.dataset.busy;
				loadSummary();
			});
		});

		$('#fleet').addEventListener('click', (ev) => {
			const a = ev.target.closest('a[data-state]');
			if (a) {
				$('#agent-state').value = a.dataset.state;
				filterAgents();
			}
		});

		let filterTimer = null;
		$('#agent-filter').addEventListener('input', () => {
			clearTimeout(filterTimer);
			filterTimer = setTimeout(filterAgents, 80);
		});
		$('#agent-state').addEventListener('change', filterAgents);
		$('#agent-state').insertAdjacentHTML('beforeend', STATES.map((s) =>
		    `<option value="${s}">${s}</option>`).join(''));
		$('#agents-refresh').addEventListener('click', (ev) =>
		    act(ev.currentTarget, async () => {
			    await loadAgents();
			    await loadSummary();
		    }));
		$('#agents thead').addEventListener('click', (ev) => {
			const th = ev.target.closest('th[data-key]');
			if (!th)
				return;
			const key = th.dataset.key;
			app.sort = { key, dir: app.sort.key === key ?
			    -app.sort.dir : 1 };
			sortAgents();
		});
		$('#agents-scroll').addEventListener('scroll', onAgentsScroll,
		    { passive: true });
		window.addEventListener('resize', () => {
			app.rowH = 0;
			renderAgents(true);
		});
		$('#agents-body').addEventListener('click', (ev) => {
			const b = ev.target.closest('button[data-action]');
			const tr = ev.target.closest('tr[data-id]');
			if (!b || !tr)
				return;
			if (b.dataset.action === 'show')
				selectAgent(tr.dataset.id);
			else if (b.dataset.action === 'license')
				agentAction(tr.dataset.id, 'license', b);
		});
		$('#agent-detail .actions').addEventListener('click', (ev) => {
			const b = ev.target.closest('button[data-agent-action]');
			if (!b || app.selected === null)
				return;
			if (b.dataset.agentAction === 'close') {
				app.selected = null;
				renderDetail();
				renderAgents(true);
				return;
			}
			agentAction(app.selected, b.dataset.agentAction, b);
		});

		$('#downstreams tbody').addEventListener('click', (ev) => {
			const b = ev.target.closest('button[data-action="run"]');
			const tr = ev.target.closest('tr[data-name]');
			if (!b || !tr)
				return;
			const name = tr.dataset.name;
			act(b, async () => {
				await api('POST', '/v1/admin/downstreams/' +
				    `${enc(name)}/sync`);
				notice(`${name} is told to sync now.`);
			});
		});
		$('#files-downstream').addEventListener('change', renderFiles);

		let eventTimer = null;
		$('#event-filter').addEventListener('input', () => {
			clearTimeout(eventTimer);
			eventTimer = setTimeout(renderEvents, 80);
		});
		$('#event-kind').addEventListener('change', renderEvents);
		$('#events-body').addEventListener('click', (ev) => {
			const b = ev.target.closest('button[data-action="agent"]');
			if (!b)
				return;
			app.selected = b.dataset.agent;
			$('#agent-filter').value = '';
			$('#agent-state').value = '';
			location.hash = '#agents';
			loadAgents().then(() => {
				filterAgents();
				renderDetail();
			});
		});
	}

	function init() {
		wire();
		let token = null;
		try {
			token = sessionStorage.getItem(TOKEN_KEY);
		} catch (e) {
			token = null;
		}
		if (token) {
			login(token).catch((e) => logout(e));
		} else {
			$('#login').hidden = false;
			$('#token').focus();
		}
	}

	init();
})();

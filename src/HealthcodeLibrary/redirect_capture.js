// HealthcodeLibrary's Browser-library extension: catches the SSO's redirect to the redirect URI.
//
// Loaded into the Browser library's node process with Browser.init_js_extension() and called by
// name. Why here and not with Browser keywords:
//  - Playwright route handlers do not fire for redirect hops. In Chromium the DevTools Fetch domain
//    does: the hop to the redirect URI is paused before it is sent (before DNS), judged, captured or
//    refused, and failed, so the redirect URI's host is never contacted and need not exist; the
//    Network domain of the same CDP session says who started a navigation that is no redirect.
//    Other engines fall back to the 'request' event, which also sees the hop before DNS; the
//    navigation is then superseded at once, but the request may already be on its way, and who
//    started a navigation is known by its Referer only.
//  - 'Wait For Request' would write the URL with the authorization code into playwright-log.txt
//    and output.xml. Nothing here logs, and the URL is handed out once, to Python only.
//  - Listening starts when the page is opened, so a redirect that happens before
//    'Wait For Supervisor Authorisation' is called is not lost.
// Once caught, the page is sent to the clean redirect URI (no query), which a route answers with
// a "bot authorised" page: the URL with the code never becomes page.url() or a history entry.
"use strict";

// The statuses reported to Python: one set, shared with sign_in_page.CaptureStatus.
const STATUS = Object.freeze(Object.fromEntries(
  Object.keys(require("./capture_status.json")).filter((k) => !k.startsWith("_")).map((k) => [k, k])));
const sessions = new Map(); // state -> session
const ownPages = new Set(); // every sign-in page the library opened that may still be open

function isResponse(url) {
  return url.searchParams.has("code") || url.searchParams.has("error") || url.searchParams.has("state");
}

function wake(session) {
  for (const waiter of session.waiters.splice(0)) waiter();
}

// Only the SSO's own redirect is taken: a navigation of the page's top-level frame that a document
// of the SSO (the authorization endpoint's or the issuer's origin) sent there: a redirect that
// document's server answered, or a navigation that document started itself (by script, form, link
// or refresh). Anything else is never handed to Python: a frame's navigation (the SSO's answer to
// the request the top-level page made comes to the top-level page, never to a frame, say an
// attacker's embedded in an SSO page), a redirect answered by another server (while the page still
// shows the SSO's document, as a 3xx never commits), a page of an attacker's that sends the browser
// to the redirect URI with a code of theirs, or another window (a popup the attacker's page opened
// before it sent this one to the SSO) that navigates this page while it shows the SSO's. It is
// reported (origin and path only) and the sign-in goes on waiting.
function fromSso(session, previousUrl) {
  try {
    return session.ssoOrigins.has(new URL(previousUrl).origin);
  } catch (e) {
    return false;
  }
}

// A navigation not taken: reported once per page it came from (origin and path: a query may hold
// the code), while nothing was captured.
function refuse(session, from) {
  if (session.url !== null || session.reported.has(from)) return;
  session.reported.add(from);
  session.ignored.add(from);
  wake(session);
}

// previous: { url, frame } (frame: the navigation is a frame's, never the SSO's answer).
function offer(session, url, previous, page) {
  if (!previous.frame && fromSso(session, previous.url)) {
    capture(session, url, page);
  } else {
    refuse(session, (previous.frame ? "a frame of " : "") + withoutQuery(previous.url));
  }
}

// Who started a navigation that is not a redirect. What the page shows says nothing: another window
// may navigate it (a popup navigating its opener) while it shows the SSO's page. Two things do:
//  - the Referer, which the browser sets from the document that started the navigation (its page
//    cannot choose another; it can only leave it out, and then nothing is known);
//  - in Chromium, CDP's initiator (Network.requestWillBeSent): a script, named by the innermost
//    frame of its stack that has an address, or 'other' (a form, a link, a refresh: the document,
//    named by the Referer). Code with no address anywhere on its stack was put into the document
//    from outside its scripts (a suite's 'Evaluate JavaScript', the SSO's own eval): the document's.
// A script's name alone proves nothing: '//# sourceURL=' names a script whatever its page, and a
// popup on the same site as the SSO shares its process, so its stack reaches this page's session.
// Both must be the SSO's: otherwise { sso: false, from: what to report }. 'initiator' is undefined
// when the browser said nothing in time, null in the fallback (engines without CDP: Referer only).
function startedBy(session, referer, initiator) {
  if (!referer) return { sso: false, from: "a page that did not say which (no Referer)" };
  if (!fromSso(session, referer)) {
    // The script's own name is more precise, where it is on the page the browser named.
    const script = initiator && scriptUrl(initiator);
    const named = script && sameOrigin(script, referer) ? script : referer;
    return { sso: false, from: withoutQuery(named) };
  }
  if (initiator === null) return { sso: true };
  if (initiator === undefined) return { sso: false, from: "an unknown initiator on " + withoutQuery(referer) };
  if (initiator.type === "other") return { sso: true };
  if (initiator.type === "script" || initiator.type === "parser") {
    const script = scriptUrl(initiator);
    if (initiator.type === "script" && !script) return { sso: true };
    if (fromSso(session, script)) return { sso: true };
    return { sso: false, from: script ? withoutQuery(script) : "a page of " + withoutQuery(referer) };
  }
  return { sso: false, from: `a ${String(initiator.type).slice(0, 20)} request on ` + withoutQuery(referer) };
}

// The address of the script that started it: the innermost stack frame that has one (an async
// stack's callers after its own frames), or the parser's document.
function scriptUrl(initiator) {
  if (initiator.type === "parser") return initiator.url || "";
  let stack = initiator.stack;
  for (let depth = 0; stack && depth < 32; depth += 1, stack = stack.parent) {
    const frame = (stack.callFrames || []).find((f) => f && f.url);
    if (frame) return frame.url;
  }
  return "";
}

function sameOrigin(a, b) {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch (e) {
    return false;
  }
}

function refererOf(headers) {
  for (const [name, value] of Object.entries(headers || {})) {
    if (name.toLowerCase() === "referer") return value;
  }
  return "";
}

function withoutQuery(url) {
  try {
    const parsed = new URL(url);
    return parsed.origin === "null" ? parsed.protocol : parsed.origin + parsed.pathname;
  } catch (e) {
    return "(unknown page)";
  }
}

function capture(session, url, page) {
  if (session.url === null) {
    session.url = url;
    wake(session);
  }
  if (!session.leaving && page && !page.isClosed()) {
    session.leaving = true;
    session.after = page.goto(session.clean).catch(() => {});
    // The "authorised" page stays while a supervisor may read it; then the library's page goes.
    setTimeout(() => page.close().catch(() => {}), session.readingMs).unref();
  }
}

function pageOf(request, fallback) {
  try {
    return request.frame().page();
  } catch (e) {
    return fallback;
  }
}

// Where a navigation came from: the request that redirected to it, else the document that was in
// the navigating frame; and whether that frame is one inside the page. Not a redirect: 'started',
// who started it as the fallback knows it (the Referer only: no engine but Chromium says more).
function previousHop(request, page, session) {
  let frame = null;
  try {
    frame = request.frame();
  } catch (e) { /* not a frame's request */ }
  const inFrame = frame !== null && frame.parentFrame() !== null;
  const redirected = request.redirectedFrom();
  if (redirected) return { url: redirected.url(), frame: inFrame };
  const shown = frame ? frame.url() : page.url();
  let referer = "";
  try {
    referer = refererOf(request.headers());
  } catch (e) { /* not known: refused */ }
  return { url: shown, frame: inFrame, started: startedBy(session, referer, null) };
}

// The fallback's verdict: a redirect by its previous hop; another navigation also by who started it.
function offerSeen(session, url, previous, page) {
  if (previous.frame || !previous.started || !fromSso(session, previous.url) || previous.started.sso) {
    offer(session, url, previous, page);
  } else {
    refuse(session, previous.started.from);
  }
}

// CDP URL patterns: '*' is any run of characters, '?' one character, a backslash escapes them.
function escapePattern(text) {
  return text.replace(/[\\*?]/g, (c) => "\\" + c);
}

function requestPattern(redirectUri) {
  return escapePattern(redirectUri) + (redirectUri.includes("?") ? "&*" : "\\?*");
}

// How long a paused navigation waits for Network.requestWillBeSent, which names who started it: it
// comes first as a rule, but CDP does not promise the order. Not known by then: refused.
const INITIATOR_WAIT_MS = 1000;

async function pauseBeforeSending(session, redirectUri, page) {
  let cdp;
  try {
    cdp = await page.context().newCDPSession(page);
  } catch (e) {
    return null; // not Chromium: the 'request' listener is the fallback
  }
  session.cdp = cdp; // from now on the CDP session alone takes a top-level navigation
  const topFrame = (await cdp.send("Page.getFrameTree")).frameTree.frame.id;
  const documents = new Map(); // Fetch request id -> URL, for the latest documents answered
  const initiators = new Map(); // Network request id -> initiator, for navigations to the redirect URI
  const arrivals = new Map(); // Network request id -> wakes the paused request waiting for its initiator
  cdp.on("Network.requestWillBeSent", (event) => {
    try {
      if (event.type !== "Document" || event.redirectResponse || !session.matches(new URL(event.request.url))) return;
      initiators.set(event.requestId, event.initiator || undefined);
      if (initiators.size > 20) initiators.delete(initiators.keys().next().value);
      const arrived = arrivals.get(event.requestId);
      if (arrived) arrived();
    } catch (e) { /* an event listener must never throw */ }
  });
  const initiatorOf = (networkId) => new Promise((resolve) => {
    if (!networkId || initiators.has(networkId)) return resolve(initiators.get(networkId));
    const timer = setTimeout(() => {
      arrivals.delete(networkId);
      resolve(undefined);
    }, INITIATOR_WAIT_MS);
    arrivals.set(networkId, () => {
      clearTimeout(timer);
      arrivals.delete(networkId);
      resolve(initiators.get(networkId));
    });
  });
  const fail = (event) => cdp.send("Fetch.failRequest", { requestId: event.requestId, errorReason: "Aborted" })
    .catch(() => {});
  cdp.on("Fetch.requestPaused", (event) => {
    const url = event.request.url;
    if (event.responseStatusCode !== undefined || event.responseErrorReason !== undefined) {
      // A document, at the response stage: remember whose it is (a 3xx's included), let it through.
      documents.set(event.requestId, url);
      if (documents.size > 100) documents.delete(documents.keys().next().value);
      cdp.send("Fetch.continueRequest", { requestId: event.requestId }).catch(() => {});
      return;
    }
    if (event.resourceType !== "Document" || event.frameId !== topFrame) {
      fail(event); // a frame's navigation is never taken (the 'request' listener reports it)
      return;
    }
    if (event.redirectedRequestId) {
      // A redirect's previous hop is the document that answered it (another server's 3xx is not the
      // SSO's, whatever page.url() still shows).
      offer(session, url, { url: documents.get(event.redirectedRequestId) || "", frame: false }, page);
      fail(event);
      return;
    }
    // Any other navigation is judged by who started it (startedBy), never by what the page shows.
    initiatorOf(event.networkId).then((initiator) => {
      const started = startedBy(session, refererOf(event.request.headers), initiator);
      if (started.sso) capture(session, url, page);
      else refuse(session, started.from);
    }).catch(() => {}).finally(() => fail(event));
  });
  // No response bodies are kept for this session. Its events (a form's post data included, as
  // Playwright's own session gets them) reach only the listener above, which keeps nothing else.
  await cdp.send("Network.enable", { maxResourceBufferSize: 0, maxTotalBufferSize: 0 });
  const patterns = [
    { urlPattern: requestPattern(redirectUri), requestStage: "Request" },
    { urlPattern: "*", resourceType: "Document", requestStage: "Response" },
  ];
  await cdp.send("Fetch.enable", { patterns });
  return cdp;
}

// Arms the capture on the active page, then opens the sign-in page there. The SSO may redirect
// at once (a remembered supervisor, or a refusal), which aborts the navigation: that is a result,
// not an error.
async function healthcodeArm(redirectUri, state, doneHtml, authUrl, ssoOrigins, readingMs, page) {
  const target = new URL(redirectUri);
  // A new sign-in abandons every earlier one: its redirect is no longer caught, and every page
  // the library opened for an earlier sign-in closes (finished ones too: one page at a time).
  for (const [previousState, previous] of sessions) {
    sessions.delete(previousState);
    wake(previous);
    await release(previous);
  }
  for (const old of ownPages) {
    if (old !== page) await old.close().catch(() => {});
  }
  ownPages.clear();
  ownPages.add(page);
  page.once("close", () => ownPages.delete(page));
  const session = {
    page, url: null, waiters: [], leaving: false, after: Promise.resolve(), ignored: new Set(), reported: new Set(),
    ssoOrigins: new Set(ssoOrigins), readingMs: Number(readingMs),
    navigation: null, documents: 0, // for healthcodeSettledPage: a navigation under way; documents shown
    clean: target.origin + target.pathname,
    origin: (u) => u.origin === target.origin,
    matches: (u) => u.origin === target.origin && u.pathname === target.pathname,
  };
  session.onRequest = (request) => {
    try {
      if (!request.isNavigationRequest()) return;
      if (request.frame() === page.mainFrame()) session.navigation = request;
      const url = new URL(request.url());
      const from = pageOf(request, page);
      if (!session.matches(url) || !isResponse(url)) return;
      const previous = previousHop(request, from, session);
      // Chromium: the CDP session paused this request and judges it (by who started it); only a
      // frame's is reported here.
      if (!session.cdp || previous.frame) offerSeen(session, request.url(), previous, from);
    } catch (e) { /* an event listener must never throw */ }
  };
  // Everything the page asks of the redirect URI's origin is answered here, never by the network:
  // the clean redirect URI with the "authorised" page, anything else (a favicon) with 404.
  session.onRoute = async (route) => {
    const request = route.request();
    const url = new URL(request.url());
    if (session.matches(url) && isResponse(url)) {
      const from = pageOf(request, page);
      // Chromium pauses it before any route sees it: only the fallback takes it here.
      if (!session.cdp) offerSeen(session, request.url(), previousHop(request, from, session), from);
      return route.fulfill({ status: 204, body: "" }).catch(() => {});
    }
    if (session.matches(url)) {
      return route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: doneHtml })
        .catch(() => {});
    }
    return route.fulfill({ status: 404, body: "" }).catch(() => {});
  };
  // A navigation of the page ends when its document commits (one more document shown), or when
  // its request ends without one (failed, or finished: a 204, a download).
  session.onCommit = (frame) => {
    if (frame !== page.mainFrame()) return;
    session.navigation = null;
    session.documents += 1;
  };
  session.onRequestEnd = (request) => {
    if (request === session.navigation) session.navigation = null;
  };
  sessions.set(state, session);
  page.on("request", session.onRequest);
  page.on("framenavigated", session.onCommit);
  page.on("requestfailed", session.onRequestEnd);
  page.on("requestfinished", session.onRequestEnd);
  await page.route(session.origin, session.onRoute);
  session.cdp = await pauseBeforeSending(session, redirectUri, page);
  page.once("close", () => wake(session));
  try {
    await page.goto(authUrl);
  } catch (error) {
    if (session.url === null) {
      // Playwright's message names the URL it was opening: keep it, without the request's query.
      const message = String((error && error.message) || error).split("\n")[0];
      return { status: STATUS.failed, error: message.replace(/(https?:\/\/[^\s?#]*)[?#]\S*/g, "$1") };
    }
  }
  return { status: session.url === null ? STATUS.opened : STATUS.captured };
}

async function release(session) {
  // Let the "authorised" page finish loading before removing the route that serves it.
  await Promise.race([session.after, new Promise((resolve) => setTimeout(resolve, 5000))]);
  session.page.off("request", session.onRequest);
  session.page.off("framenavigated", session.onCommit);
  session.page.off("requestfailed", session.onRequestEnd);
  session.page.off("requestfinished", session.onRequestEnd);
  try { await session.page.unroute(session.origin, session.onRoute); } catch (e) { /* page gone */ }
  if (session.cdp) {
    try { await session.cdp.detach(); } catch (e) { /* page gone */ }
  }
}

async function healthcodeTake(state, waitMs) {
  const session = sessions.get(state);
  if (!session) return { status: STATUS.unknown };
  if (session.url === null && !session.page.isClosed()) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, Number(waitMs));
      session.waiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }
  if (typeof session.url === "string") {
    const url = session.url;
    session.url = undefined; // handed out once
    return { status: STATUS.captured, url };
  }
  const ignored = [...session.ignored];
  session.ignored.clear();
  if (session.url === undefined) return { status: STATUS.taken };
  if (session.page.isClosed()) return { status: STATUS.closed, ignored };
  return { status: STATUS.pending, ignored };
}

// Stops catching; a page that never saw the redirect (a timeout, a refusal) is of no more use.
async function healthcodeDisarm(state) {
  const session = sessions.get(state);
  if (!session) return false;
  sessions.delete(state);
  await release(session);
  if (session.url === null) await session.page.close().catch(() => {});
  return true;
}

// The node process this runs in: its DEBUG (Python judges it), and the secret-bearing variables
// taken out of its environment (by name; their values never leave it), so that no browser it
// launches from now on inherits them: Playwright gives a browser process.env when no env is passed.
function healthcodeNodeProcess(hide) {
  const had = hide.filter((name) => Object.prototype.hasOwnProperty.call(process.env, name));
  for (const name of had) delete process.env[name];
  return { debug: process.env.DEBUG || "", had };
}

// The sign-in page as it is once settled: whether it is a document of the SSO, which document it
// is (a count of the page's navigations), and its HTML (as its scripts left it), for Python to read
// the structure of. 'settled': it loaded, then had no network for 0.5 s (each wait bounded by
// settleMs), no navigation of the page is under way and none committed while it was read. Read
// when the SSO was heard to refuse the request, and while a headless page the library opened is
// waited on (a sign-in form there is one nobody can fill in).
async function healthcodeSettledPage(state, settleMs) {
  const session = sessions.get(state);
  if (!session || session.page.isClosed() || session.url !== null) {
    return { onSso: false, settled: false, document: -1, html: "" };
  }
  const page = session.page;
  const reached = (lifecycle) => page.waitForLoadState(lifecycle, { timeout: Number(settleMs) })
    .then(() => true, () => false);
  const loaded = await reached("load");
  const idle = await reached("networkidle");
  const shown = session.documents;
  let html = null;
  try {
    html = await page.content();
  } catch (e) { /* navigating: not settled, not known */ }
  const settled = loaded && idle && html !== null && session.navigation === null && session.documents === shown;
  return {
    onSso: session.url === null && fromSso(session, page.url()), settled, document: shown,
    html: (html || "").slice(0, 500000),
  };
}

module.exports = { healthcodeArm, healthcodeTake, healthcodeDisarm, healthcodeNodeProcess, healthcodeSettledPage };

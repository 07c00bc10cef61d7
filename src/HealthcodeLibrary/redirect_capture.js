// HealthcodeLibrary's Browser-library extension: catches the SSO's redirect to the redirect URI.
//
// Loaded into the Browser library's node process with Browser.init_js_extension() and called by
// name. Why here and not with Browser keywords:
//  - Playwright route handlers do not fire for redirect hops. In Chromium the DevTools Fetch domain
//    does: the hop to the redirect URI is paused before it is sent (before DNS), captured and
//    failed, so the redirect URI's host is never contacted and need not exist. Other engines fall
//    back to the 'request' event, which also sees the hop before DNS; the navigation is then
//    superseded at once, but the request may already be on its way.
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

// Only the SSO's own redirect is taken: a navigation of the page's top-level frame whose previous
// hop is a document of the SSO (the authorization endpoint's or the issuer's origin): a redirect
// that document's server answered, or a navigation that document made. Anything else is never
// handed to Python: a frame's navigation (the SSO's answer to the request the top-level page made
// comes to the top-level page, never to a frame, say an attacker's embedded in an SSO page), a
// redirect answered by another server (while the page still shows the SSO's document, as a 3xx
// never commits), or a page of an attacker's that sends the browser to the redirect URI with a
// code of theirs. It is reported (origin and path only) and the sign-in goes on waiting.
function fromSso(session, previousUrl) {
  try {
    return session.ssoOrigins.has(new URL(previousUrl).origin);
  } catch (e) {
    return false;
  }
}

// previous: { url, frame } (frame: the navigation is a frame's, never the SSO's answer).
function offer(session, url, previous, page) {
  if (!previous.frame && fromSso(session, previous.url)) {
    capture(session, url, page);
  } else if (session.url === null) {
    const origin = (previous.frame ? "a frame of " : "") + withoutQuery(previous.url);  // a query may hold the code
    if (!session.reported.has(origin)) {
      session.reported.add(origin);
      session.ignored.add(origin);
      wake(session);
    }
  }
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
// the navigating frame; and whether that frame is one inside the page.
function previousHop(request, page) {
  let frame = null;
  try {
    frame = request.frame();
  } catch (e) { /* not a frame's request */ }
  const inFrame = frame !== null && frame.parentFrame() !== null;
  const redirected = request.redirectedFrom();
  if (redirected) return { url: redirected.url(), frame: inFrame };
  return { url: frame ? frame.url() : page.url(), frame: inFrame };
}

// CDP URL patterns: '*' is any run of characters, '?' one character, a backslash escapes them.
function escapePattern(text) {
  return text.replace(/[\\*?]/g, (c) => "\\" + c);
}

function requestPattern(redirectUri) {
  return escapePattern(redirectUri) + (redirectUri.includes("?") ? "&*" : "\\?*");
}

async function pauseBeforeSending(session, redirectUri, page) {
  let cdp;
  try {
    cdp = await page.context().newCDPSession(page);
  } catch (e) {
    return null; // not Chromium: the 'request' listener is the fallback
  }
  const topFrame = (await cdp.send("Page.getFrameTree")).frameTree.frame.id;
  const documents = new Map(); // Fetch request id -> URL, for the latest documents answered
  cdp.on("Fetch.requestPaused", (event) => {
    const url = event.request.url;
    if (event.responseStatusCode !== undefined || event.responseErrorReason !== undefined) {
      // A document, at the response stage: remember whose it is (a 3xx's included), let it through.
      documents.set(event.requestId, url);
      if (documents.size > 100) documents.delete(documents.keys().next().value);
      cdp.send("Fetch.continueRequest", { requestId: event.requestId }).catch(() => {});
      return;
    }
    if (event.resourceType === "Document" && event.frameId === topFrame) {
      // A redirect's previous hop is the document that answered it (another server's 3xx is not the
      // SSO's, whatever page.url() still shows); otherwise the document in the top-level frame made
      // the navigation. A frame's navigation is never taken (the 'request' listener reports it).
      const previous = event.redirectedRequestId ? documents.get(event.redirectedRequestId) || "" : page.url();
      offer(session, url, { url: previous, frame: false }, page);
    }
    cdp.send("Fetch.failRequest", { requestId: event.requestId, errorReason: "Aborted" }).catch(() => {});
  });
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
    clean: target.origin + target.pathname,
    origin: (u) => u.origin === target.origin,
    matches: (u) => u.origin === target.origin && u.pathname === target.pathname,
  };
  session.onRequest = (request) => {
    try {
      if (!request.isNavigationRequest()) return;
      const url = new URL(request.url());
      const from = pageOf(request, page);
      if (session.matches(url) && isResponse(url)) offer(session, request.url(), previousHop(request, from), from);
    } catch (e) { /* an event listener must never throw */ }
  };
  // Everything the page asks of the redirect URI's origin is answered here, never by the network:
  // the clean redirect URI with the "authorised" page, anything else (a favicon) with 404.
  session.onRoute = async (route) => {
    const request = route.request();
    const url = new URL(request.url());
    if (session.matches(url) && isResponse(url)) {
      const from = pageOf(request, page);
      offer(session, request.url(), previousHop(request, from), from);
      return route.fulfill({ status: 204, body: "" }).catch(() => {});
    }
    if (session.matches(url)) {
      return route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: doneHtml })
        .catch(() => {});
    }
    return route.fulfill({ status: 404, body: "" }).catch(() => {});
  };
  sessions.set(state, session);
  page.on("request", session.onRequest);
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

// The sign-in page once settled (loaded, then no network for 0.5 s, each bounded): whether it is
// a document of the SSO, and its HTML (as its scripts left it), for Python to read the structure
// of. Called only after the SSO was heard to refuse the request.
async function healthcodeSettledPage(state, settleMs) {
  const session = sessions.get(state);
  if (!session || session.page.isClosed() || session.url !== null) return { onSso: false, html: "" };
  const page = session.page;
  await page.waitForLoadState("load", { timeout: Number(settleMs) }).catch(() => {});
  await page.waitForLoadState("networkidle", { timeout: Number(settleMs) }).catch(() => {});
  let html = "";
  try {
    html = await page.content();
  } catch (e) { /* navigating: not settled, not known */ }
  return { onSso: session.url === null && fromSso(session, page.url()), html: html.slice(0, 500000) };
}

module.exports = { healthcodeArm, healthcodeTake, healthcodeDisarm, healthcodeNodeProcess, healthcodeSettledPage };

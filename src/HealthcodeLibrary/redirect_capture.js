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

// Only the SSO's own redirect is taken: its previous hop must be on the SSO's origin (a redirect
// answered by the authorization endpoint or the issuer, or a navigation made by one of their
// pages). Anything else, say a page of an attacker's that sends the browser to the redirect URI
// with a code of theirs, is never handed to Python: it is reported (origin and path only) and the
// sign-in goes on waiting.
function fromSso(session, previousUrl) {
  try {
    return session.ssoOrigins.has(new URL(previousUrl).origin);
  } catch (e) {
    return false;
  }
}

function offer(session, url, previousUrl, page) {
  if (fromSso(session, previousUrl)) {
    capture(session, url, page);
  } else if (session.url === null) {
    const origin = withoutQuery(previousUrl);  // origin and path: a query may hold the code
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

// Where a request came from: the request that redirected to it, else the page that navigated.
function previousHop(request, page) {
  const redirected = request.redirectedFrom();
  if (redirected) return redirected.url();
  try {
    return request.frame().url();
  } catch (e) {
    return page.url();
  }
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
  const ssoDocuments = new Map(); // Fetch request id -> URL, for the SSO's documents
  cdp.on("Fetch.requestPaused", (event) => {
    const url = event.request.url;
    if (event.responseStatusCode !== undefined || event.responseErrorReason !== undefined) {
      // One of the SSO's own documents, at the response stage: remember it, let it through.
      ssoDocuments.set(event.requestId, url);
      cdp.send("Fetch.continueRequest", { requestId: event.requestId }).catch(() => {});
      return;
    }
    if (event.resourceType === "Document") {
      const previous = ssoDocuments.get(event.redirectedRequestId) || page.url();
      if (fromSso(session, previous)) capture(session, url, page);
    }
    cdp.send("Fetch.failRequest", { requestId: event.requestId, errorReason: "Aborted" }).catch(() => {});
  });
  const patterns = [{ urlPattern: requestPattern(redirectUri), requestStage: "Request" }];
  for (const origin of session.ssoOrigins) {
    patterns.push({ urlPattern: escapePattern(origin) + "/*", resourceType: "Document", requestStage: "Response" });
  }
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

module.exports = { healthcodeArm, healthcodeTake, healthcodeDisarm };

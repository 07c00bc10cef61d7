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

function isResponse(url) {
  return url.searchParams.has("code") || url.searchParams.has("error") || url.searchParams.has("state");
}

function wake(session) {
  for (const waiter of session.waiters.splice(0)) waiter();
}

function capture(session, url, page) {
  if (session.url === null) {
    session.url = url;
    wake(session);
  }
  if (!session.leaving && page && !page.isClosed()) {
    session.leaving = true;
    session.after = page.goto(session.clean).catch(() => {});
  }
}

function pageOf(request, fallback) {
  try {
    return request.frame().page();
  } catch (e) {
    return fallback;
  }
}

// CDP URL patterns: '*' is any run of characters, '?' one character, a backslash escapes them.
function requestPattern(redirectUri) {
  const escaped = redirectUri.replace(/[\\*?]/g, (c) => "\\" + c);
  return escaped + (redirectUri.includes("?") ? "&*" : "\\?*");
}

async function pauseBeforeSending(session, redirectUri, page) {
  let cdp;
  try {
    cdp = await page.context().newCDPSession(page);
  } catch (e) {
    return null; // not Chromium: the 'request' listener is the fallback
  }
  cdp.on("Fetch.requestPaused", (event) => {
    if (event.resourceType === "Document") capture(session, event.request.url, page);
    cdp.send("Fetch.failRequest", { requestId: event.requestId, errorReason: "Aborted" }).catch(() => {});
  });
  await cdp.send("Fetch.enable", { patterns: [{ urlPattern: requestPattern(redirectUri), requestStage: "Request" }] });
  return cdp;
}

// Arms the capture on the active page, then opens the sign-in page there. The SSO may redirect
// at once (a remembered supervisor, or a refusal), which aborts the navigation: that is a result,
// not an error.
async function healthcodeArm(redirectUri, state, doneHtml, authUrl, page) {
  const target = new URL(redirectUri);
  // A new sign-in abandons every earlier one: its redirect is no longer caught.
  for (const [previousState, previous] of sessions) {
    sessions.delete(previousState);
    wake(previous);
    await release(previous);
  }
  const session = {
    page, url: null, waiters: [], leaving: false, after: Promise.resolve(),
    clean: target.origin + target.pathname,
    origin: (u) => u.origin === target.origin,
    matches: (u) => u.origin === target.origin && u.pathname === target.pathname,
  };
  session.onRequest = (request) => {
    try {
      if (!request.isNavigationRequest()) return;
      const url = new URL(request.url());
      if (session.matches(url) && isResponse(url)) capture(session, request.url(), pageOf(request, page));
    } catch (e) { /* an event listener must never throw */ }
  };
  // Everything the page asks of the redirect URI's origin is answered here, never by the network:
  // the clean redirect URI with the "authorised" page, anything else (a favicon) with 404.
  session.onRoute = async (route) => {
    const request = route.request();
    const url = new URL(request.url());
    if (session.matches(url) && isResponse(url)) {
      capture(session, request.url(), pageOf(request, page));
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
      return { status: STATUS.failed, error: String((error && error.message) || error).split("\n")[0] };
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
  if (session.url === undefined) return { status: STATUS.taken };
  if (session.page.isClosed()) return { status: STATUS.closed };
  return { status: STATUS.pending };
}

async function healthcodeDisarm(state) {
  const session = sessions.get(state);
  if (!session) return false;
  sessions.delete(state);
  await release(session);
  return true;
}

module.exports = { healthcodeArm, healthcodeTake, healthcodeDisarm };

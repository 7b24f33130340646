/**
 * The admin page's one document. Static: it holds no data and needs no token; everything it shows comes from
 * /admin/api through app.js, which builds the DOM with textContent only. No inline script or style (the CSP forbids
 * both) and no external URL (the page works offline and leaks nothing to a third party). The sign-in form posts and
 * its field has no name: submitted before app.js has loaded, it sends no token, and never in a URL.
 */
export const ADMIN_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>KooGallery gateway · admin</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/admin/app.css">
<script src="/admin/app.js" defer></script>
</head>
<body>
<header>
  <h1>KooGallery gateway</h1>
  <span id="status" role="status" aria-live="polite"></span>
  <button type="button" id="sign-out" hidden>Sign out</button>
</header>

<section id="sign-in">
  <h2>Sign in</h2>
  <form id="sign-in-form" method="post" action="/admin" autocomplete="off">
    <label>Admin token <input type="password" id="token" required autocomplete="off" spellcheck="false"></label>
    <button type="submit">Sign in</button>
  </form>
  <p class="hint">The token stays in this tab (sessionStorage) and is sent only to this gateway's /admin/api.</p>
  <p id="sign-in-error" class="error" hidden></p>
</section>

<main id="console" hidden>
  <div id="late-jobs" class="warning" role="alert" hidden></div>
  <nav>
    <button type="button" data-tab="problems" class="tab">Problems <span id="problems-count" class="count" hidden></span></button>
    <button type="button" data-tab="instances" class="tab">Instances</button>
    <button type="button" data-tab="usage" class="tab">Usage</button>
    <button type="button" data-tab="deliveries" class="tab">Deliveries</button>
    <button type="button" data-tab="jobs" class="tab">Jobs</button>
  </nav>

  <section id="tab-problems" class="panel" hidden>
    <h2>Problems</h2>
    <form id="problem-filters" class="filters">
      <label>Show
        <select name="state">
          <option value="open">open</option>
          <option value="all">open and resolved</option>
          <option value="resolved">resolved</option>
        </select>
      </label>
      <button type="submit">Show</button>
    </form>
    <div id="problems"></div>
  </section>

  <section id="tab-instances" class="panel">
    <h2>Instances</h2>
    <form id="instance-filters" class="filters">
      <label>Status
        <select name="status">
          <option value="">any</option>
          <option>provisioning</option>
          <option>active</option>
          <option>frozen</option>
          <option>released</option>
          <option>failed</option>
        </select>
      </label>
      <label>Product <input name="productId" spellcheck="false"></label>
      <label>Test
        <select name="test">
          <option value="">both</option>
          <option value="true">test only</option>
          <option value="false">real only</option>
        </select>
      </label>
      <label>Search <input name="q" type="search" placeholder="instance id, order id, customer name" spellcheck="false"></label>
      <button type="submit">Find</button>
    </form>
    <div id="instances"></div>
    <button type="button" id="instances-more" hidden>More</button>
    <section id="timeline" hidden>
      <h2>Timeline of <code id="timeline-id"></code></h2>
      <div id="timeline-summary"></div>
      <ol id="timeline-entries"></ol>
    </section>
  </section>

  <section id="tab-usage" class="panel" hidden>
    <h2>Usage per hour</h2>
    <form id="usage-filters" class="filters">
      <label>From <input name="from" type="datetime-local"></label>
      <label>To <input name="to" type="datetime-local"></label>
      <label>State
        <select name="state">
          <option value="">any</option>
          <option>pending</option>
          <option>sent</option>
          <option>accepted</option>
          <option>rejected</option>
          <option>expired</option>
        </select>
      </label>
      <button type="submit">Show</button>
    </form>
    <div id="usage"></div>
  </section>

  <section id="tab-deliveries" class="panel" hidden>
    <h2>Webhook deliveries</h2>
    <form id="delivery-filters" class="filters">
      <label>Status
        <select name="status">
          <option value="failed">failed</option>
          <option value="pending">pending</option>
        </select>
      </label>
      <button type="submit">Show</button>
    </form>
    <div id="deliveries"></div>
  </section>

  <section id="tab-jobs" class="panel" hidden>
    <h2>Jobs</h2>
    <button type="button" id="jobs-refresh">Refresh</button>
    <div id="jobs"></div>
  </section>
</main>
</body>
</html>
`;

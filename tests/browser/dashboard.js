// The dashboard's browser steps (run by dashboard_test.sh, which starts the
// cluster and puts the data set into SDFS). Each step waits for what a user
// would see, with a deadline; any failure exits non-zero with a screenshot.
//
// Environment: IDUNNO_PAGE (the dashboard URL of the node serving the page),
// IDUNNO_SERVING_PID (that node's pid, SIGKILLed near the end),
// IDUNNO_DATA (a small SDFS IDX images file with labels), IDUNNO_BIG_DATA
// (a larger one, for a job that runs long enough to watch), IDUNNO_CHROMIUM,
// IDUNNO_ARTIFACTS (where screenshots go).
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const pageUrl = process.env.IDUNNO_PAGE;
const servingPid = Number(process.env.IDUNNO_SERVING_PID);
const data = process.env.IDUNNO_DATA;
const bigData = process.env.IDUNNO_BIG_DATA;
const artifacts = process.env.IDUNNO_ARTIFACTS;
const servingHost = new URL(pageUrl).host;
const started = Date.now();

function log(text) { console.log(`[dashboard.js ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${text}`); }

// Console messages of type error and uncaught exceptions, with the time
// they came: after the serving node is killed, failed connections to it are
// expected and nothing else.
const problems = [];
let killedAt = null;
function watch(page, label) {
  page.on("pageerror", (e) => problems.push({ label, text: "uncaught: " + e.message, at: Date.now() }));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const where = m.location() && m.location().url;
    problems.push({ label, text: m.text() + (where && !m.text().includes(where) ? " (" + where + ")" : ""), at: Date.now() });
  });
}
function isExpected(p) {
  if (killedAt === null || p.at < killedAt) return false;
  // Chromium's own lines about a refused connection to the dead console.
  return p.text.includes(servingHost) && /WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/.test(p.text);
}

async function noHorizontalScroll(page, what) {
  const sizes = await page.evaluate(() => {
    const doc = document.documentElement;
    const members = document.getElementById("members");
    return { doc: [doc.scrollWidth, doc.clientWidth], members: [members.scrollWidth, members.clientWidth] };
  });
  if (sizes.doc[0] > sizes.doc[1]) throw new Error(`${what}: the page scrolls sideways (${sizes.doc[0]} > ${sizes.doc[1]} px)`);
  if (sizes.members[0] > sizes.members[1]) throw new Error(`${what}: the members table scrolls sideways (${sizes.members[0]} > ${sizes.members[1]} px)`);
  log(`${what}: no horizontal scroll (page ${sizes.doc[0]} px, members ${sizes.members[0]}/${sizes.members[1]} px)`);
}

async function aliveMembers(page, count, timeout) {
  await page.waitForFunction((n) => document.querySelectorAll('#members tr[data-state="alive"]').length === n, count, { timeout });
}

// Types a command into the command box and returns the reply it shows.
async function runInBox(page, line, timeout = 10000) {
  await page.fill("#cmd-line", line);
  await page.click("#cmd-form button[type=submit]");
  await page.waitForFunction((l) => {
    const text = document.getElementById("cmd-reply").textContent;
    return text.startsWith("> " + l + "\n") && !text.includes("(waiting for the reply…)");
  }, line, { timeout });
  const text = await page.textContent("#cmd-reply");
  const body = text.slice(text.indexOf("\n") + 1);
  if (body.startsWith("error: ")) return { ok: false, error: body.slice(7) };
  return { ok: true, result: JSON.parse(body) };
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.IDUNNO_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  let page = null;
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page = await context.newPage();
    watch(page, "desktop");

    // First paint and the members.
    await page.goto(pageUrl);
    const fcp = await page.evaluate(() => {
      const e = performance.getEntriesByName("first-contentful-paint")[0];
      return e ? e.startTime : null;
    });
    log(`first-contentful-paint ${fcp === null ? "not reported" : fcp.toFixed(0) + " ms"}`);
    await aliveMembers(page, 3, 20000);
    await page.waitForSelector("#members tr[data-member=node1] .role-coordinator, #members tr .role-coordinator", { timeout: 10000 });
    log("members: 3 alive, a coordinator");
    await page.waitForFunction(() => /term \d+/.test(document.getElementById("coordinator").textContent), null, { timeout: 10000 });
    log("header: " + (await page.textContent("#coordinator")));

    // The command box.
    const self = await runInBox(page, "list_self");
    if (!self.ok || self.result.name !== "node1") throw new Error("list_self in the command box: " + JSON.stringify(self));
    const coordinator = await runInBox(page, "coordinator");
    if (!coordinator.ok || !(coordinator.result.term >= 1) || !/^node[123]$/.test(coordinator.result.name)) {
      throw new Error("coordinator in the command box: " + JSON.stringify(coordinator));
    }
    const refused = await runInBox(page, "set-batch no-such-job 8");
    if (refused.ok || !/no job/.test(refused.error)) throw new Error("a refused command shows its error: " + JSON.stringify(refused));
    log(`command box: list_self -> node1, coordinator -> ${coordinator.result.name} term ${coordinator.result.term}, errors shown`);

    // SDFS: the data set with its replicas, an upload and a download through the page.
    await page.waitForSelector(`#files tr[data-file="${data}"]`, { timeout: 15000 });
    const replicas = await page.textContent(`#files tr[data-file="${data}"] td:nth-child(4)`);
    if (!/node\d/.test(replicas)) throw new Error("no replica nodes shown for " + data + ": " + replicas);
    const payload = "uploaded from the dashboard at " + new Date().toISOString() + "\n";
    await page.setInputFiles("#upload-file", { name: "note.txt", mimeType: "text/plain", buffer: Buffer.from(payload) });
    await page.fill("#upload-name", "dash/note.txt");
    await page.click("#upload-form button[type=submit]");
    await page.waitForFunction(() => /^stored dash\/note\.txt version 1/.test(document.getElementById("upload-status").textContent), null, { timeout: 15000 });
    await page.waitForSelector('#files tr[data-file="dash/note.txt"]', { timeout: 15000 });
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 15000 }),
      page.click('#files tr[data-file="dash/note.txt"] button:has-text("download")'),
    ]);
    const got = fs.readFileSync(await download.path(), "utf8");
    if (got !== payload) throw new Error("the downloaded file differs from the uploaded one: " + JSON.stringify(got));
    log(`sdfs: ${data} on ${replicas.trim()}; dash/note.txt uploaded and downloaded back (${payload.length} bytes)`);

    // An inference job from the form; its rate on the chart, its accuracy in the table.
    await page.fill("#sub-job", "dash1");
    await page.fill("#sub-data", "sdfs:" + data);
    await page.fill("#sub-batch", "8");
    await page.fill("#sub-model", "lenet");
    await page.click("#sub-form button[type=submit]");
    await page.waitForFunction(() => /"job": "dash1"/.test(document.getElementById("cmd-reply").textContent), null, { timeout: 15000 });
    await page.waitForSelector('#jobs tr[data-job="dash1"]', { timeout: 10000 });
    await page.waitForFunction(() => {
      const line = document.querySelector('#rate-chart path[data-series="dash1"]');
      return line && Number(line.dataset.max) > 0 && Number(line.dataset.points) >= 2;
    }, null, { timeout: 60000 });
    const peak = await page.getAttribute('#rate-chart path[data-series="dash1"]', "data-max");
    log(`chart: dash1's rate line rose to ${Number(peak).toFixed(1)} queries/s`);
    await page.waitForSelector('#jobs tr[data-job="dash1"][data-state="done"]', { timeout: 90000 });
    await page.waitForFunction(() => /\d+\.\d\d%/.test(document.querySelector('#jobs tr[data-job="dash1"] td:nth-child(5)').textContent), null, { timeout: 15000 });
    const accuracy = await page.textContent('#jobs tr[data-job="dash1"] td:nth-child(5)');
    const p99 = await page.textContent('#jobs tr[data-job="dash1"] td:nth-child(10)');
    if (!/^\d+(\.\d)?$/.test(p99.trim())) throw new Error("no p99 latency for dash1: " + p99);
    log(`jobs: dash1 done, accuracy ${accuracy}, p99 ${p99} ms`);

    // A second, costlier job from the command box: both lines on the one
    // chart, its workers, a new batch size, and the remove button.
    const sub = await runInBox(page, `sub dash2 sdfs:${bigData} 8 --model resnet-fmnist`);
    if (!sub.ok || sub.result.job !== "dash2") throw new Error("sub from the command box: " + JSON.stringify(sub));
    await page.waitForFunction(() => {
      const line = document.querySelector('#rate-chart path[data-series="dash2"]');
      return line && Number(line.dataset.max) > 0 && document.querySelector('#rate-chart path[data-series="dash1"]');
    }, null, { timeout: 60000 });
    await page.waitForFunction(() => /node\d/.test(document.querySelector('#jobs tr[data-job="dash2"] td:nth-child(11)').textContent), null, { timeout: 30000 });
    const workers = (await page.textContent('#jobs tr[data-job="dash2"] td:nth-child(11)')).trim();
    await page.selectOption("#batch-job", "dash2");
    await page.fill("#batch-size", "32");
    await page.click("#batch-form button[type=submit]");
    await page.waitForFunction(() => /batch 32\b/.test(document.querySelector('#jobs tr[data-job="dash2"] td:nth-child(1)').textContent), null, { timeout: 15000 });
    await noHorizontalScroll(page, "1280x800");
    await page.screenshot({ path: path.join(artifacts, "desktop-1280x800.png"), fullPage: true });
    await page.click('#jobs tr[data-job="dash2"] button:has-text("remove")');
    await page.waitForSelector('#jobs tr[data-job="dash2"]', { state: "detached", timeout: 15000 });
    log(`jobs: dash2 (resnet-fmnist) on the chart beside dash1, served by ${workers}; set-batch 32 shown; removed`);

    // A phone-sized screen.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const small = await phone.newPage();
    watch(small, "phone");
    await small.goto(pageUrl);
    await aliveMembers(small, 3, 20000);
    await small.waitForSelector('#jobs tr[data-job="dash1"] td:nth-child(5)', { timeout: 15000 });
    await noHorizontalScroll(small, "390x844");
    const columns = await small.evaluate(() => getComputedStyle(document.querySelector("main")).gridTemplateColumns.split(" ").length);
    if (columns !== 1) throw new Error("the phone layout has " + columns + " columns");
    await small.screenshot({ path: path.join(artifacts, "phone-390x844.png"), fullPage: true });
    await phone.close();
    log("phone: one column, no horizontal scroll");

    // The node serving the page dies: the page moves to another console.
    const consoles = await runInBox(page, "consoles");
    if (!consoles.ok) {
      log("RECONNECT STEP NOT RUN: this node has no `consoles` command (" + consoles.error + "), so the page can only retry its own node");
    } else {
      const others = consoles.result.consoles.filter((c) => c.name !== "node1").map((c) => c.name);
      if (others.length !== 2) throw new Error("consoles lists " + JSON.stringify(consoles.result));
      killedAt = Date.now();
      process.kill(servingPid, "SIGKILL");
      log(`killed node1 (pid ${servingPid}), the node serving the page`);
      await page.waitForFunction(() => /^connected to node[23]\b/.test(document.getElementById("status").textContent), null, { timeout: 30000 });
      const status = await page.textContent("#status");
      const now = status.match(/node[23]/)[0];
      await page.waitForFunction((n) => [...document.querySelectorAll("#log li")].some((li) => li.textContent.includes("now connected to " + n)), now, { timeout: 10000 });
      log(`reconnected in ${((Date.now() - killedAt) / 1000).toFixed(1)} s: badge "${status}"`);
      // And it is live there: node1's death shows up in the members.
      await page.waitForSelector('#members tr[data-member="node1"]:not([data-state="alive"])', { timeout: 30000 });
      await aliveMembers(page, 2, 10000);
      const after = await runInBox(page, "list_self");
      if (!after.ok || after.result.name !== now) throw new Error("after the reconnect list_self says " + JSON.stringify(after));
      log(`members seen through ${now}: node1 ${await page.getAttribute('#members tr[data-member="node1"]', "data-state")}, 2 alive`);
      await page.screenshot({ path: path.join(artifacts, "after-failover-1280x800.png"), fullPage: true });
    }

    const unexpected = problems.filter((p) => !isExpected(p));
    const expected = problems.length - unexpected.length;
    if (unexpected.length) throw new Error("errors in the browser console:\n  " + unexpected.map((p) => `[${p.label}] ${p.text}`).join("\n  "));
    log(`browser console: no errors${expected ? ` (besides ${expected} refused connection(s) to the killed node)` : ""}`);
  } catch (e) {
    if (page) await page.screenshot({ path: path.join(artifacts, "failure.png"), fullPage: true }).catch(() => {});
    if (problems.length) console.log("browser console errors:\n  " + problems.map((p) => `[${p.label}] ${p.text}`).join("\n  "));
    throw e;
  } finally {
    await browser.close();
  }
}

main().then(() => log("all steps passed"), (e) => { log("FAIL: " + (e && e.stack ? e.stack : e)); process.exit(1); });

#!/usr/bin/env bash
# Dashboard load time on a local cluster (not part of the test suite): a
# cold headless Chromium opens node 1's dashboard RUNS times; per load it
# reads the first-contentful-paint entry and the time until the members
# table shows every node alive. Prints name=value lines.
# Knobs: NODES (10), RUNS (10). Needs what tests/browser needs
# (scripts/deps.sh installs chromium, node and the npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bin/idunno-node ] || scripts/build.sh >/dev/null
scripts/deps.sh
NODES=${NODES:-10}
RUNS=${RUNS:-10}
mkdir -p bench/out
export IDUNNO_RUN=${IDUNNO_RUN:-$PWD/bench/out/dashboard}
# Fixed loopback ports: one cluster at a time on this machine.
source scripts/ports_lock.sh
take_ports_lock
scripts/cluster.sh up "$NODES" 9>&- >/dev/null
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
NODES=$NODES RUNS=$RUNS NODE_PATH=$PWD/tests/browser/node_modules node - 9>&- <<'JS'
const { chromium } = require("playwright-core");
const nodes = Number(process.env.NODES), runs = Number(process.env.RUNS);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
(async () => {
  const browser = await chromium.launch({ executablePath: process.env.IDUNNO_CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  const fcp = [], members = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });  // a cold cache each time
    const page = await context.newPage();
    await page.goto("http://127.0.0.1:8001/");
    await page.waitForFunction((n) => document.querySelectorAll('#members tr[data-state="alive"]').length === n, nodes, { timeout: 30000 });
    const t = await page.evaluate(() => ({
      fcp: performance.getEntriesByName("first-contentful-paint")[0].startTime,
      members: performance.now(),
    }));
    fcp.push(t.fcp);
    members.push(t.members);
    await context.close();
  }
  await browser.close();
  const line = (name, xs) => console.log(`${name}_median_ms=${median(xs).toFixed(0)} ${name}_min_ms=${Math.min(...xs).toFixed(0)} ${name}_max_ms=${Math.max(...xs).toFixed(0)}`);
  console.log(`nodes=${nodes} runs=${runs}`);
  line("first_contentful_paint", fcp);
  line("members_all_alive", members);
})().catch((e) => { console.error(e); process.exit(1); });
JS

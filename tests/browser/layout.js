// layout.js PAGE.html OUT_DIR - opens the report in headless chromium at 1280 and 390
// pixels wide and checks what a reader would notice: the page never scrolls sideways
// (wide tables and charts scroll inside their card), nothing sticks out of the window
// outside such a card, every image loads, and chart text stays legible (at least 6.5 px).
// Writes a full-page screenshot per width to OUT_DIR/report-WIDTH.png. Exit 0 when all
// hold, 1 with one line per problem, 2 when it cannot run.
'use strict';
const path = require('path');
let puppeteer;
try {
  puppeteer = require('puppeteer-core');
} catch (e) {
  console.error('puppeteer-core is not installed: make browser-deps');
  process.exit(2);
}

const [page_path, out_dir] = process.argv.slice(2);
if (!page_path || !out_dir) {
  console.error('usage: node layout.js PAGE.html OUT_DIR');
  process.exit(2);
}
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';

// Runs in the page: the problems at the current width.
function inspect() {
  const problems = [];
  const width = window.innerWidth;
  const doc = document.documentElement;
  if (doc.scrollWidth > width) {
    problems.push(`the page is ${doc.scrollWidth} px wide in a ${width} px window`);
  }
  // inside a box that scrolls sideways, overflowing is what the box is for
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > width + 1 || r.left < -1) && !scrolls(el)) {
      problems.push(`<${el.tagName.toLowerCase()} class="${el.className.baseVal ?? el.className}"> ` +
                    `spans ${Math.round(r.left)}..${Math.round(r.right)} px`);
      if (problems.length > 10) break;
    }
  }
  let images = 0;
  for (const img of document.images) {
    images++;
    if (!img.complete || img.naturalWidth === 0) {
      problems.push(`image "${img.alt}" did not load`);
    }
  }
  let smallest = Infinity, texts = 0;
  for (const t of document.querySelectorAll('svg text')) {
    const h = t.getBoundingClientRect().height;
    if (h > 0) {
      texts++;
      smallest = Math.min(smallest, h);
    }
  }
  if (texts && smallest < 6.5) {
    problems.push(`chart text only ${smallest.toFixed(1)} px tall`);
  }
  return {problems, images, texts, smallest, height: doc.scrollHeight};
}

(async () => {
  let browser;
  try {
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--allow-file-access-from-files'],
    });
  } catch (e) {
    console.error(`cannot start ${chromium}: ${e.message}`);
    process.exit(2);
  }
  let failed = 0;
  try {
    const page = await browser.newPage();
    for (const width of [1280, 390]) {
      await page.setViewport({width, height: 900, deviceScaleFactor: 1});
      await page.goto('file://' + path.resolve(page_path), {waitUntil: 'load'});
      const r = await page.evaluate(inspect);
      const shot = path.join(out_dir, `report-${width}.png`);
      await page.screenshot({path: shot, fullPage: true});
      console.log(`${width} px: ${r.images} images, ${r.texts} chart texts (smallest ` +
                  `${r.texts ? r.smallest.toFixed(1) : '-'} px), page ${r.height} px tall; ${shot}`);
      for (const p of r.problems) {
        console.log(`${width} px: ${p}`);
        failed++;
      }
    }
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})();

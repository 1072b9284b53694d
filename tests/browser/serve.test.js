// serve.test.js - the page of `digits serve` in a real browser: Debian's chromium,
// headless, driven by puppeteer-core (scripts/browser-test.sh installs it and runs this).
//
//   node tests/browser/serve.test.js DIGITS_BIN MODEL SHOTS_DIR
//
// Starts the server on a free loopback port, then: draws a 7 with mouse strokes and
// checks the answer, the bars and the 28x28 preview; asks why; undoes and clears;
// uploads a sample digit; reads a sample number in whole-number mode and checks its
// boxes; does it again at a phone's width. Any script error or Content-Security-Policy
// violation fails the run. Screenshots at 1280 and 390 px go to SHOTS_DIR.
// Exit status 0 when every check passed, 1 otherwise.
"use strict";

const { spawn } = require("child_process");
const path = require("path");
const puppeteer = require("puppeteer-core");

const [bin, model, shots] = process.argv.slice(2);
if (!bin || !model || !shots) {
  console.error("usage: node serve.test.js DIGITS_BIN MODEL SHOTS_DIR");
  process.exit(2);
}
const root = path.resolve(__dirname, "..", "..");
const TIMEOUT = 15000;

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["serve", "--model", model, "--port", "0", "--threads", "2"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const onData = (d) => {
      out += d;
      const m = out.match(/http:\/\/[^ ]+:(\d+)\//);
      if (m) {
        resolve({ child, url: m[0] });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error("digits serve exited " + code + ": " + out)));
  });
}

let failures = 0;
function check(ok, what) {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) {
    failures++;
  }
}

// Mouse strokes, each a list of [x, y] in the canvas's own 280x280 pixels.
async function drawStrokes(page, strokes) {
  await page.$eval("#canvas", (e) => e.scrollIntoView({ block: "center" }));
  const box = await (await page.$("#canvas")).boundingBox();
  const at = (p) => [box.x + (p[0] * box.width) / 280, box.y + (p[1] * box.height) / 280];
  for (const stroke of strokes) {
    const [x0, y0] = at(stroke[0]);
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    for (let i = 1; i < stroke.length; i++) {
      const [x, y] = at(stroke[i]);
      await page.mouse.move(x, y, { steps: 8 });
    }
    await page.mouse.up();
  }
}

// A 7: the bar across the top, then the long stroke down to the left.
const SEVEN = [
  [[80, 70], [140, 68], [205, 70]],
  [[205, 70], [180, 130], [155, 190], [140, 235]],
];

async function waitText(page, selector, text) {
  try {
    await page.waitForFunction(
      (s, t) => document.querySelector(s) && document.querySelector(s).textContent.includes(t),
      { timeout: TIMEOUT }, selector, text);
    return true;
  } catch (e) {
    return false;
  }
}

async function text(page, selector) {
  return page.$eval(selector, (e) => e.textContent.trim());
}

async function run(page, url, width) {
  const tag = width + "px: ";
  await page.goto(url, { waitUntil: "networkidle0" });
  check(await waitText(page, "#model", "parameters"), tag + "the model is described");

  // draw a 7
  await drawStrokes(page, SEVEN);
  const sawSeven = await waitText(page, "#status", "It's a 7");
  check(sawSeven, tag + "a drawn 7 is read as 7 (status: " + (await text(page, "#status")) + ")");
  check((await text(page, "#answer")) === "7", tag + "the answer shows 7");
  const seen = await page.$eval("#seen", (e) => e.getAttribute("src") || "");
  check(seen.startsWith("data:image/png;base64,"), tag + "the 28x28 the network saw is shown");
  const topBar = await page.$eval("#bars .bar.top b", (e) => e.textContent).catch(() => "");
  check(topBar === "7", tag + "the highest bar is 7's");
  const bars = await page.$$eval("#bars .bar", (b) => b.length);
  check(bars === 10, tag + "ten bars");
  if (width < 720) {
    const mini = await page.$eval("#mini", (e) => getComputedStyle(e).display !== "none" && e.textContent);
    check(typeof mini === "string" && mini.startsWith("7"), tag + "the answer also shows under the canvas: " + mini);
  }

  // why
  await page.click("#why-button");
  try {
    await page.waitForSelector("#why:not([hidden])", { timeout: TIMEOUT });
    const why = await page.$eval("#why", (e) => e.getAttribute("src") || "");
    check(why.startsWith("data:image/png;base64,"), tag + "why: the heat-map is shown");
  } catch (e) {
    check(false, tag + "why: the heat-map is shown");
  }
  await page.screenshot({ path: path.join(shots, "serve-draw-" + width + ".png"), fullPage: true });

  // undo the long stroke: not a 7 any more; clear: empty
  await page.click("#undo");
  await page.waitForFunction(() => !document.querySelector("#status").textContent.includes("It's a 7") ||
    document.querySelector("#status").textContent.includes("Unsure"), { timeout: TIMEOUT }).catch(() => {});
  await page.click("#clear");
  check(await waitText(page, "#status", "Empty canvas"), tag + "a cleared canvas is empty, honestly");
  await drawStrokes(page, SEVEN);
  check(await waitText(page, "#status", "It's a 7"), tag + "drawn again after clearing");
  await page.keyboard.press("Escape");
  check(await waitText(page, "#status", "Empty canvas"), tag + "Esc clears");

  // upload one digit
  await page.click("#mode-upload");
  await page.focus("#mode-upload");
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement.id + " " +
    getComputedStyle(document.querySelector("label[for=" + document.activeElement.id + "]")).outlineStyle);
  check(focused === "file solid", tag + "Tab reaches the file picker, and its button shows focus: " + focused);
  const file = await page.$("#file");
  await file.uploadFile(path.join(root, "samples/digits/3-paper-blue.png"));
  check(await waitText(page, "#status", "It's a 3"), tag + "an uploaded 3 is read as 3 (status: " +
    (await text(page, "#status")) + ")");
  const uploaded = await page.$eval("#uploaded", (e) => e.getAttribute("src") || "");
  check(uploaded.startsWith("blob:"), tag + "the uploaded picture is shown beside what the network saw");
  await page.screenshot({ path: path.join(shots, "serve-upload-" + width + ".png"), fullPage: true });

  // a whole number
  await page.click("#mode-number");
  const numberFile = await page.$("#number-file");
  await numberFile.uploadFile(path.join(root, "samples/numbers/42-paint.png"));
  check(await waitText(page, "#number-answer", "42"), tag + "whole-number mode reads 42 (got: " +
    (await text(page, "#number-answer")) + ")");
  const boxes = await page.$$eval("#boxes .box", (b) => b.map((e) => e.textContent));
  check(boxes.length === 2 && boxes[0].startsWith("4") && boxes[1].startsWith("2"),
    tag + "a box per digit with its answer: " + JSON.stringify(boxes));
  await page.screenshot({ path: path.join(shots, "serve-number-" + width + ".png"), fullPage: true });

  // keyboard: the tabs move with the arrow keys
  await page.focus("#mode-number");
  await page.keyboard.press("ArrowRight");
  const selected = await page.$eval("[role=tab][aria-selected=true]", (e) => e.id);
  check(selected === "mode-draw", tag + "arrow keys move between the tabs");
}

async function main() {
  const { child, url } = await startServer();
  const args = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage"];
  if (process.getuid && process.getuid() === 0) {
    args.push("--no-sandbox");
  }
  const browser = await puppeteer.launch({ executablePath: "/usr/bin/chromium", args });
  try {
    for (const [width, height, mobile] of [[1280, 900, false], [390, 844, true]]) {
      const page = await browser.newPage();
      const problems = [];
      page.on("console", (m) => {
        if (m.type() === "error") {
          problems.push(m.text());
        }
      });
      page.on("pageerror", (e) => problems.push(e.message));
      await page.setViewport({ width, height, isMobile: mobile, hasTouch: mobile, deviceScaleFactor: mobile ? 2 : 1 });
      await run(page, url, width);
      check(problems.length === 0, width + "px: no script errors or policy violations " +
        (problems.length ? JSON.stringify(problems) : ""));
      await page.close();
    }
  } finally {
    await browser.close();
    child.kill("SIGTERM");
  }
  console.log(failures ? failures + " browser checks failed" : "every browser check passed");
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error("browser test: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});

// Renders a few of the e-mail snapshots (crates/hooks/domain/tests/snapshots/email) in headless
// Chromium at desktop and phone widths, saves screenshots for a person to look at, and checks
// what a reader needs: no sideways scrolling on a phone, a visible button with readable text,
// the code visible, the language declared, and user-controlled markup inert.
//
// node tests/email-screenshots.cjs <output dir>   (run by `cargo xtask test`)
const path = require("node:path");
const fs = require("node:fs");
const { chromium } = require("playwright-core");

const SNAPSHOTS = path.join(__dirname, "../crates/hooks/domain/tests/snapshots/email");
const CASES = [
  { file: "signup.en.html", button: true, code: "305805", lang: "en" },
  { file: "email_change.current.de.html", button: true, code: "305805", lang: "de" },
  { file: "mfa_factor_enrolled_notification.fr.html", button: false, code: null, lang: "fr" },
  { file: "welcome.en.html", button: true, code: null, lang: "en" },
];

function luminance([r, g, b]) {
  const c = (v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * c(r) + 0.7152 * c(g) + 0.0722 * c(b);
}
const rgb = (s) => s.match(/\d+/g).slice(0, 3).map(Number);
function contrast(a, b) {
  const [l1, l2] = [luminance(rgb(a)), luminance(rgb(b))].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}

async function main() {
  const out = process.argv[2];
  fs.mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
  const failures = [];
  const check = (ok, what) => ok || failures.push(what);
  try {
    for (const c of CASES) {
      for (const [label, width] of [["desktop", 800], ["phone", 375]]) {
        const page = await browser.newPage({ viewport: { width, height: 900 } });
        await page.goto("file://" + path.join(SNAPSHOTS, c.file));
        const name = `${c.file.replace(/\.html$/, "")}.${label}.png`;
        await page.screenshot({ path: path.join(out, name), fullPage: true });
        const facts = await page.evaluate(() => {
          const button = [...document.querySelectorAll("a")].find((a) => a.closest("td[bgcolor]"));
          const box = button?.getBoundingClientRect();
          const cell = button?.closest("td");
          return {
            scrollWidth: document.scrollingElement.scrollWidth,
            lang: document.documentElement.lang,
            title: document.title,
            injected: document.querySelector("lovelace, script") !== null,
            text: document.body.innerText,
            button: button && {
              width: box.width,
              height: box.height,
              color: getComputedStyle(button).color,
              background: getComputedStyle(cell).backgroundColor,
            },
          };
        });
        const at = `${c.file} (${label})`;
        check(facts.scrollWidth <= width, `${at}: scrolls sideways (${facts.scrollWidth} px wide)`);
        check(facts.lang === c.lang, `${at}: lang is ${facts.lang}`);
        check(facts.title.length > 0, `${at}: no title`);
        check(!facts.injected, `${at}: user-controlled markup became elements`);
        check(facts.text.includes("Ada <Lovelace>"), `${at}: the display name is not shown as text`);
        if (c.code) check(facts.text.includes(c.code), `${at}: the code is not visible`);
        if (c.button) {
          const b = facts.button;
          check(
            b && b.width >= 44 && b.height >= 36,
            `${at}: button missing or too small ${JSON.stringify(b)}`,
          );
          if (b) {
            const ratio = contrast(b.color, b.background);
            check(ratio >= 4.5, `${at}: button text contrast ${ratio.toFixed(2)} < 4.5`);
          }
        } else {
          check(!facts.button, `${at}: unexpected button`);
        }
        await page.close();
      }
    }
  } finally {
    await browser.close();
  }
  if (failures.length) {
    console.error(failures.join("\n"));
    process.exit(1);
  }
  console.log(`${CASES.length * 2} screenshots checked, saved in ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

import { createHash } from 'node:crypto';

/**
 * The one stylesheet, inline in every page and allowed by its hash in the Content-Security-Policy: no external
 * assets, no inline style attributes. System fonts; a centered card that fits a 375 px phone; dark mode when asked.
 */
export const STYLESHEET = [
  ':root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--text:#111827;--muted:#4b5563;--line:#d1d5db;',
  '--accent:#1d4ed8;--on-accent:#fff;--focus:#1d4ed8;--problem:#b91c1c;--problem-bg:#fef2f2;--chip:#eef2ff}',
  '@media (prefers-color-scheme:dark){:root{--bg:#0f172a;--card:#1e293b;--text:#f1f5f9;--muted:#cbd5e1;',
  '--line:#475569;--accent:#2563eb;--on-accent:#fff;--focus:#93c5fd;--problem:#fecaca;--problem-bg:#450a0a;',
  '--chip:#334155}}',
  '*,*::before,*::after{box-sizing:border-box}',
  'html{-webkit-text-size-adjust:100%;text-size-adjust:100%}',
  'body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:2rem 1rem;',
  'background:var(--bg);color:var(--text);font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",',
  'Arial,"Noto Sans",sans-serif;font-size:1rem;line-height:1.5}',
  'main{width:100%;max-width:30rem;background:var(--card);border:1px solid var(--line);border-radius:.75rem;',
  'padding:2rem 1.5rem;box-shadow:0 1px 3px rgb(0 0 0/.08),0 8px 24px rgb(0 0 0/.06);overflow-wrap:anywhere}',
  '.brand{display:flex;align-items:center;gap:.5rem;margin:0 0 1.5rem;font-weight:600;color:var(--muted)}',
  '.brand svg{flex:none;width:1.75rem;height:1.75rem;color:var(--accent)}',
  '.brand .mark{fill:none;stroke:var(--card);stroke-width:2;stroke-linecap:round;stroke-linejoin:round}',
  'h1{font-size:1.375rem;line-height:1.3;margin:0 0 1rem}',
  'h2{font-size:1rem;margin:1.5rem 0 .5rem}',
  'p{margin:0 0 1rem}',
  'main>:last-child{margin-bottom:0}',
  '.muted{color:var(--muted)}',
  '.small{font-size:.875rem}',
  'code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.875em}',
  'dl{display:grid;grid-template-columns:max-content 1fr;gap:.375rem 1rem;margin:0 0 1rem}',
  'dt{color:var(--muted);font-size:.875rem;padding-top:.0625rem}',
  'dd{margin:0;min-width:0}',
  '.unverified{display:inline-block;margin-left:.25rem;padding:0 .375rem;border:1px solid var(--line);',
  'border-radius:.25rem;color:var(--muted);font-size:.75rem;font-weight:600;text-transform:uppercase;',
  'letter-spacing:.03em}',
  '.scopes{list-style:none;padding:0;margin:0 0 1rem;display:flex;flex-wrap:wrap;gap:.5rem}',
  '.scopes li{background:var(--chip);border-radius:.375rem;padding:.125rem .5rem}',
  'label{display:block;font-weight:600;margin:0 0 .375rem}',
  'input{display:block;width:100%;min-height:2.75rem;padding:.5rem .75rem;font:inherit;color:inherit;',
  'background:var(--card);border:1px solid var(--muted);border-radius:.5rem}',
  'input[aria-invalid=true]{border-color:var(--problem)}',
  '.problem{color:var(--problem);background:var(--problem-bg);border-radius:.5rem;padding:.5rem .75rem}',
  '.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.5rem}',
  'button{flex:1 1 8rem;min-height:2.75rem;padding:.5rem 1rem;font:inherit;font-weight:600;border-radius:.5rem;',
  'border:1px solid var(--accent);background:var(--accent);color:var(--on-accent);cursor:pointer}',
  'button.secondary{background:transparent;color:var(--text);border-color:var(--muted)}',
  ':focus-visible{outline:3px solid var(--focus);outline-offset:2px}',
  '@media (max-width:24rem){main{padding:1.5rem 1.25rem}h1{font-size:1.25rem}dl{grid-template-columns:1fr;gap:0}',
  'dd{margin-bottom:.5rem}}',
].join('');

/** The CSP source that allows exactly this stylesheet, computed so that it can never drift from it. */
export const STYLESHEET_HASH_SOURCE = `'sha256-${createHash('sha256').update(STYLESHEET, 'utf8').digest('base64')}'`;

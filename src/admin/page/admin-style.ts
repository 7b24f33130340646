/** The admin page's style sheet: system fonts only, nothing fetched. */
export const ADMIN_CSS = `
:root { color-scheme: light dark; --accent: #c7000b; --muted: #6b7280; --warn-bg: #fff4d6; --warn-fg: #7a4b00; --bad-bg: #fde2e1; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; align-items: center; gap: 1rem; padding: .6rem 1rem; border-bottom: 2px solid var(--accent); }
header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
main, #sign-in { padding: 1rem; max-width: 1400px; }
h2 { font-size: 1rem; margin: 1rem 0 .5rem; }
nav { display: flex; gap: .25rem; margin-bottom: .5rem; }
.tab[aria-selected="true"] { background: var(--accent); color: #fff; border-color: var(--accent); }
button { font: inherit; padding: .3rem .7rem; border: 1px solid var(--muted); border-radius: 4px; background: transparent; color: inherit; cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
input, select { font: inherit; padding: .25rem .4rem; }
label { display: inline-flex; flex-direction: column; gap: .15rem; font-size: .85rem; color: var(--muted); }
.filters { display: flex; flex-wrap: wrap; align-items: flex-end; gap: .75rem; margin-bottom: .75rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid rgba(127,127,127,.25); vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 600; }
tr.clickable { cursor: pointer; }
tr.clickable:hover, tr.selected { background: rgba(127,127,127,.12); }
tr.rejected, tr.failed { background: var(--bad-bg); color: #7f1d1d; }
tr.late { background: var(--warn-bg); color: var(--warn-fg); }
.warning { background: var(--warn-bg); color: var(--warn-fg); border: 1px solid #e0b44c; border-radius: 4px; padding: .5rem .75rem; margin-bottom: .75rem; font-weight: 600; }
.error { color: var(--accent); }
.hint, .empty { color: var(--muted); }
#timeline { margin-top: 1.5rem; }
#timeline-entries { list-style: none; padding: 0; margin: 0; }
#timeline-entries li { border-left: 3px solid var(--muted); padding: .3rem .75rem; margin-bottom: .4rem; }
#timeline-entries li.bad { border-left-color: var(--accent); }
.entry-head { display: flex; gap: .75rem; font-weight: 600; }
.entry-time { color: var(--muted); font-weight: 400; font-variant-numeric: tabular-nums; }
pre { margin: .25rem 0 0; white-space: pre-wrap; overflow-wrap: anywhere; font-size: .8rem; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .75rem; margin: 0 0 .75rem; }
dl.summary dt { color: var(--muted); }
dl.summary dd { margin: 0; }
.count { display: inline-block; min-width: 1.3em; padding: 0 .35em; border-radius: 1em; background: var(--accent); color: #fff; font-size: .8em; text-align: center; }
.count[hidden] { display: none; }
tr.critical td:first-child { color: var(--accent); font-weight: 600; }
tr.resolved { color: var(--muted); }
.resolve { display: flex; gap: .35rem; }
.resolve input { min-width: 12rem; }
`;
